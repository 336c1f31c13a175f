import * as decoding from 'lib0/decoding';
import { MessageType } from './frames.ts';
import type { ClientSocket } from './ports.ts';

/**
 * Acknowledge only what is durable (INTERFACE.md, Acknowledgements). Hocuspocus answers every
 * update it applied with SyncStatus(applied) at once, before the op log has committed it; the
 * provider counts those in `unsyncedChanges`, and editors show "saved" when it reaches 0. So
 * each acknowledgement is held until everything the document had accepted when it was sent is
 * committed.
 */

/**
 * Per document, a promise of "every append so far is committed": it rejects when one of them
 * failed (the document was deleted, the node is shutting down), so nothing after a lost
 * update is acknowledged either. The op log commits in order, so the newest append settles last.
 */
export function createDurableTails() {
  const tails = new Map<string, Promise<void>>();
  return {
    track(documentId: string, committed: Promise<unknown>): void {
      const previous = tails.get(documentId);
      const tail = previous ? previous.then(() => committed).then(() => undefined) : committed.then(() => undefined);
      tails.set(documentId, tail);
      const forget = () => {
        if (tails.get(documentId) === tail) tails.delete(documentId);
      };
      tail.then(forget, forget);
    },
    /** Settles once every update appended for the document up to now is committed (or one failed). */
    current(documentId: string): Promise<void> {
      return tails.get(documentId) ?? Promise.resolve();
    },
  };
}

/**
 * The socket Hocuspocus writes to, with every SyncStatus(applied) held until `durable(name)`
 * (asked at the moment Hocuspocus sends it) resolves, in order per document. When it rejects
 * the acknowledgement is never sent: the client keeps counting the change as unsynced and
 * sends it again on its next connection. Every other frame passes at once.
 */
export function withDurableAcks(
  socket: ClientSocket,
  durable: (documentName: string) => Promise<void>,
  onUnacknowledged: (documentName: string, error: unknown) => void,
): ClientSocket {
  const held = new Map<string, Promise<void>>();
  return {
    get readyState() {
      return socket.readyState;
    },
    send(frame) {
      const documentName = appliedAckAddress(frame);
      if (documentName === null) return socket.send(frame);
      const wait = durable(documentName);
      const next = (held.get(documentName) ?? Promise.resolve())
        .then(() => wait)
        .then(
          () => socket.send(frame),
          (error: unknown) => onUnacknowledged(documentName, error),
        );
      held.set(documentName, next);
      void next.finally(() => {
        if (held.get(documentName) === next) held.delete(documentName);
      });
    },
    close(code, reason) {
      socket.close(code, reason);
    },
  };
}

/**
 * The document name of a Hocuspocus SyncStatus(applied) frame ([address, 8, 1]), else null.
 * Every outgoing frame passes here, so other frames cost a varint and a skip, not a string.
 */
export function appliedAckAddress(frame: Uint8Array): string | null {
  const decoder = decoding.createDecoder(frame);
  const addressLength = decoding.readVarUint(decoder);
  const addressStart = decoder.pos;
  decoder.pos += addressLength;
  if (decoder.pos >= frame.length || decoding.readVarUint(decoder) !== MessageType.SyncStatus) return null;
  if (decoding.readVarUint(decoder) !== 1) return null;
  const address = new TextDecoder().decode(frame.subarray(addressStart, addressStart + addressLength));
  const separator = address.indexOf('\0'); // "name\0session" for session-aware providers
  return separator === -1 ? address : address.slice(0, separator);
}
