import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

/**
 * Stock clients (y-websocket, @hocuspocus/provider) with a record of what happened to their
 * connection: how the server closed it, and what the client did next (gave up, or tried again).
 * `origin` sends an Origin header, as a browser does (the stock clients in Node send none).
 */

export interface CloseSeen {
  code: number;
  reason: string;
}

/** A `ws` WebSocket class that sends `origin`, for the clients' WebSocketPolyfill option. */
function webSocketClass(origin: string | undefined): unknown {
  if (origin === undefined) return WebSocket;
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { origin });
    }
  };
}

export function watchedYWebsocket(wsUrl: string, documentId: string, options: { token?: string; origin?: string } = {}) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${wsUrl}/ws`, documentId, doc, {
    WebSocketPolyfill: webSocketClass(options.origin) as unknown as typeof globalThis.WebSocket,
    disableBc: true,
    params: options.token ? { token: options.token } : {},
  });
  const seen = {
    doc,
    provider,
    text: doc.getText('content'),
    /** Closes by the server, in order. */
    closes: [] as CloseSeen[],
    /** y-websocket emitted 'closed': it stopped for good. */
    gaveUp: false,
    /** Connection attempts (the first one included). */
    attempts: 0,
    destroy: () => provider.destroy(),
  };
  provider.on('connection-close', (event) => {
    if (event) seen.closes.push({ code: event.code, reason: event.reason });
  });
  provider.on('closed', () => {
    seen.gaveUp = true;
  });
  provider.on('status', ({ status }) => {
    if (status === 'connecting') seen.attempts += 1;
  });
  // The first 'connecting' was emitted inside the constructor, before the listener.
  seen.attempts = provider.wsconnecting || provider.wsconnected ? 1 : 0;
  return seen;
}

export function watchedHocuspocus(wsUrl: string, documentId: string, options: { token?: string; origin?: string } = {}) {
  const doc = new Y.Doc();
  const seen = {
    doc,
    provider: undefined as unknown as HocuspocusProvider,
    text: doc.getText('content'),
    /** Closes of the socket by the server, in order. */
    closes: [] as CloseSeen[],
    /** Close messages for this document (the socket stayed open), by reason. */
    documentCloses: [] as string[],
    /** PermissionDenied answers to its authentication, by reason. */
    authFailures: [] as string[],
    /** Times the socket (re)connected. */
    connects: 0,
    destroy: () => {},
  };
  const socketCloses = new Set<unknown>();
  // Its own socket object, for the polyfill (the provider's options have no such field);
  // then the provider must be attached by hand.
  const socket = new HocuspocusProviderWebsocket({ url: `${wsUrl}/collab`, WebSocketPolyfill: webSocketClass(options.origin) });
  seen.provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: documentId,
    document: doc,
    token: options.token ?? 'anonymous',
    onDisconnect: ({ event }) => {
      socketCloses.add(event);
      seen.closes.push({ code: event.code, reason: event.reason });
    },
    // Both a socket close (after onDisconnect with the same event) and a Close message.
    onClose: ({ event }) => {
      if (!socketCloses.has(event)) seen.documentCloses.push(event.reason);
    },
    onAuthenticationFailed: ({ reason }) => {
      seen.authFailures.push(reason);
    },
  });
  socket.on('connect', () => {
    seen.connects += 1;
  });
  seen.provider.attach();
  seen.destroy = () => {
    seen.provider.destroy();
    socket.destroy();
  };
  return seen;
}
