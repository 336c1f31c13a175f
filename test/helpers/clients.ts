import { HocuspocusProvider } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

/** A stock y-websocket client. disableBc: otherwise clients in one process bypass the server. */
export function yWebsocketClient(wsUrl: string, documentId: string, options: { token?: string; doc?: Y.Doc } = {}) {
  const doc = options.doc ?? new Y.Doc();
  const provider = new WebsocketProvider(`${wsUrl}/ws`, documentId, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: options.token ? { token: options.token } : {},
  });
  return { doc, provider, text: doc.getText('content') };
}

/** A stock Hocuspocus client (Node 22+ has a global WebSocket, which it uses). */
export function hocuspocusClient(wsUrl: string, documentId: string, options: { token?: string; doc?: Y.Doc } = {}) {
  const doc = options.doc ?? new Y.Doc();
  const provider = new HocuspocusProvider({
    url: `${wsUrl}/collab`,
    name: documentId,
    document: doc,
    token: options.token ?? 'anonymous',
  });
  return { doc, provider, text: doc.getText('content') };
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function whenSynced(provider: WebsocketProvider | HocuspocusProvider): Promise<void> {
  return waitFor(() => provider.synced, 'the provider to sync');
}
