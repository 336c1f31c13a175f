import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { ServerTarget } from '../servers.ts';

/** One stock client (y-websocket's or Hocuspocus's provider) on one room of a server. */
export interface LoadClient {
  doc: Y.Doc;
  text: Y.Text;
  /** Resolves once the server (or, on the relay, the socket) is ready to carry edits. */
  ready: Promise<void>;
  destroy(): void;
}

export interface ConnectOptions {
  waitForSync?: boolean;
  /** Which node of the server (an index into its wsUrls); the first by default. */
  node?: number;
}

export function connect(target: ServerTarget, room: string, options: ConnectOptions = {}): LoadClient {
  const doc = new Y.Doc();
  const text = doc.getText('content');
  const waitForSync = options.waitForSync ?? true;
  const url = target.wsUrls[(options.node ?? 0) % target.wsUrls.length]!;
  if (target.dialect === 'hocuspocus') {
    const provider = new HocuspocusProvider({ url, name: room, document: doc, token: 'bench' });
    const ready = new Promise<void>((resolve) => {
      if (waitForSync) provider.on('synced', () => resolve());
      else provider.on('connect', () => resolve());
    });
    return { doc, text, ready, destroy: () => provider.destroy() };
  }
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  const ready = new Promise<void>((resolve) => {
    if (waitForSync) provider.once('sync', () => resolve());
    else provider.on('status', ({ status }: { status: string }) => status === 'connected' && resolve());
  });
  return { doc, text, ready, destroy: () => provider.destroy() };
}

/**
 * Opens clients a batch at a time, so that thousands of handshakes do not all race at once.
 * `nodeOf` picks the node of the i-th client (the first node by default).
 */
export async function connectMany(
  target: ServerTarget,
  rooms: readonly string[],
  timeoutMs: number,
  nodeOf: (index: number) => number = () => 0,
): Promise<LoadClient[]> {
  const clients: LoadClient[] = [];
  for (let i = 0; i < rooms.length; i += 100) {
    const batch = rooms.slice(i, i + 100).map((room, j) => connect(target, room, { node: nodeOf(i + j) }));
    clients.push(...batch);
    await withTimeout(Promise.all(batch.map((client) => client.ready)), timeoutMs, `${target.name}: connecting clients ${i}..${i + batch.length}`);
  }
  return clients;
}

export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
