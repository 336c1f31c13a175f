import * as decoding from 'lib0/decoding';
import { AUTH_AUTHENTICATED, AUTH_PERMISSION_DENIED, authMessage, MSG_AUTH, openRawSocket, type RawSocket, type SocketOutcome } from './raw-socket.ts';

/** How a plain y-websocket connection with `token` to `documentId` ends (or stays open). */
export async function yWebsocketOutcome(wsUrl: string, documentId: string, token: string | undefined): Promise<SocketOutcome> {
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
  const socket = openRawSocket(wsUrl, `/ws/${documentId}${query}`);
  return socket.outcome;
}

export type AuthAnswer = { authenticated: true; readOnly: boolean } | { authenticated: false; reason: string };

/** Sends a Hocuspocus Auth message for `documentId` on `socket` and reads the answer for it. */
export async function authenticateOn(socket: RawSocket, documentId: string, token: string): Promise<AuthAnswer> {
  const seen = socket.received.length;
  socket.send(authMessage(documentId, token));
  const answer = await socket.waitForMessage((message) => {
    if (socket.received.indexOf(message) < seen) return false;
    const decoder = decoding.createDecoder(message);
    return decoding.readVarString(decoder) === documentId && decoding.readVarUint(decoder) === MSG_AUTH;
  }, `the answer to authenticating for ${documentId}`);
  const decoder = decoding.createDecoder(answer);
  decoding.readVarString(decoder);
  decoding.readVarUint(decoder);
  const kind = decoding.readVarUint(decoder);
  if (kind === AUTH_PERMISSION_DENIED) return { authenticated: false, reason: decoding.readVarString(decoder) };
  if (kind !== AUTH_AUTHENTICATED) throw new Error(`unexpected auth answer ${kind}`);
  // Hocuspocus writes the scope after Authenticated: "readonly" or "read-write".
  const scope = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : 'read-write';
  return { authenticated: true, readOnly: scope === 'readonly' };
}

/** A fresh /collab socket authenticating once for `documentId`. */
export async function hocuspocusAuth(wsUrl: string, documentId: string, token: string): Promise<AuthAnswer> {
  const socket = openRawSocket(wsUrl, '/collab');
  await socket.opened;
  try {
    return await authenticateOn(socket, documentId, token);
  } finally {
    await socket.close();
  }
}
