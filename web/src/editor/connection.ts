import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider';
import * as Y from 'yjs';
import { type Api, ApiError } from '../api.ts';

export type Access = 'pending' | 'write' | 'read' | 'denied';

export interface Connection {
  provider: HocuspocusProvider;
  doc: Y.Doc;
  text: Y.Text;
  /** Told what the server granted, at every (re)connection. */
  onAccess(listener: (access: Access, reason?: string) => void): void;
  close(): void;
}

/**
 * The document's live copy over /collab (Hocuspocus). The socket never carries the page's
 * credential: before each (re)connection the page trades it over REST for a one-time socket
 * token (60 s, single use), so a new one is fetched every time.
 */
export function connect(documentId: string, api: Api, hasCredential: boolean): Connection {
  const doc = new Y.Doc();
  const listeners: ((access: Access, reason?: string) => void)[] = [];
  const tell = (access: Access, reason?: string) => listeners.forEach((listener) => listener(access, reason));

  const socket = new HocuspocusProviderWebsocket({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/collab`,
    // A restarted or redeployed node is back within seconds: retry soon, and never give up.
    delay: 500,
    minDelay: 250,
    factor: 1.5,
    maxDelay: 5_000,
  });

  const token = async (): Promise<string> => {
    if (!hasCredential) return '';
    try {
      const answer = await api<{ token: string }>('POST', '/ws-token', { json: { documentId } });
      return answer.body.token;
    } catch (error) {
      // 401: the link was replaced or the session ended; 403: no access, which is also what a
      // node with AUTH=off answers (its sockets need no token). Either way the socket asks
      // without a token, so that the server's own answer (a refusal with its reason) decides.
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return '';
      throw error;
    }
  };

  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: documentId,
    document: doc,
    token,
    onAuthenticated: ({ scope }) => tell(scope === 'readonly' ? 'read' : 'write'),
    onAuthenticationFailed: ({ reason }) => tell('denied', reason),
  });
  // Our own websocketProvider: the provider does not attach itself to it.
  provider.attach();

  return {
    provider,
    doc,
    text: doc.getText('content'),
    onAccess: (listener) => void listeners.push(listener),
    close() {
      provider.destroy();
      socket.destroy();
    },
  };
}
