import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import {
  addressed,
  authMessage,
  body,
  isAuthenticated,
  isYWebsocketSync,
  MSG_AWARENESS,
  openRawSocket,
  type RawSocket,
  SYNC_STEP2,
} from './raw-socket.ts';

/**
 * Hand-made awareness traffic, as an attacker with a raw socket sends it and as a raw
 * listener sees it (every entry the server sent, not only what a provider keeps).
 */

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** null: the client left. */
  state: Record<string, unknown> | null;
}

/** An awareness update (y-protocols encoding) holding `entries`. */
export function awarenessUpdate(entries: AwarenessEntry[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, entries.length);
  for (const entry of entries) {
    encoding.writeVarUint(encoder, entry.clientId);
    encoding.writeVarUint(encoder, entry.clock);
    encoding.writeVarString(encoder, JSON.stringify(entry.state));
  }
  return encoding.toUint8Array(encoder);
}

/** The awareness entries of one received frame (none for other message types). */
export function entriesOf(message: Uint8Array, dialect: RawDialect): AwarenessEntry[] {
  const decoder = decoding.createDecoder(message);
  if (dialect === 'hocuspocus') decoding.readVarString(decoder);
  if (decoding.readVarUint(decoder) !== MSG_AWARENESS) return [];
  const update = decoding.createDecoder(decoding.readVarUint8Array(decoder));
  const count = decoding.readVarUint(update);
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(update);
    const clock = decoding.readVarUint(update);
    entries.push({ clientId, clock, state: JSON.parse(decoding.readVarString(update)) as AwarenessEntry['state'] });
  }
  return entries;
}

export type RawDialect = 'y-websocket' | 'hocuspocus';

/** A raw socket joined to `documentId` with `token` in either dialect, that sends awareness updates. */
export interface AwarenessSocket {
  raw: RawSocket;
  dialect: RawDialect;
  sendAwareness(entries: AwarenessEntry[]): void;
  /** Every awareness entry received so far, in order. */
  received(): AwarenessEntry[];
  /** Waits until an entry that `match` accepts has been received. */
  waitForEntry(match: (entry: AwarenessEntry) => boolean, what: string): Promise<void>;
}

export async function joinRaw(wsUrl: string, dialect: RawDialect, documentId: string, token: string): Promise<AwarenessSocket> {
  const raw =
    dialect === 'y-websocket'
      ? openRawSocket(wsUrl, `/ws/${documentId}?token=${encodeURIComponent(token)}`)
      : openRawSocket(wsUrl, '/collab');
  await raw.opened;
  if (dialect === 'hocuspocus') {
    raw.send(authMessage(documentId, token));
    await raw.waitForMessage(isAuthenticated(documentId), 'authentication');
  } else {
    // As y-websocket does: our (empty) state; the server's answer means the socket is in the room.
    raw.send(body.syncStep1(Y.encodeStateVector(new Y.Doc())));
    await raw.waitForMessage(isYWebsocketSync(SYNC_STEP2), 'the sync step 2 answer');
  }
  const frame = (messageBody: Uint8Array) => (dialect === 'hocuspocus' ? addressed(documentId, messageBody) : messageBody);
  const received = () => raw.received.flatMap((message) => entriesOf(message, dialect));
  return {
    raw,
    dialect,
    sendAwareness: (entries) => raw.send(frame(body.awareness(awarenessUpdate(entries)))),
    received,
    async waitForEntry(match, what) {
      await raw.waitForMessage((message) => entriesOf(message, dialect).some(match), what);
    },
  };
}
