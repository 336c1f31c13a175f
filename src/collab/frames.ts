import * as decoding from 'lib0/decoding';
import * as Y from 'yjs';
import { isValidDocumentId } from '../docs/document-id.ts';

/**
 * Validation of whole WebSocket frames before any part of them reaches a document: a frame
 * that does not decode completely is refused as a unit, so nothing is ever half-applied
 * (Yjs integrates an update's structs before it reads the delete set).
 */

/** Message types shared by y-websocket and Hocuspocus (Hocuspocus adds the rest). */
export const MessageType = {
  Sync: 0,
  Awareness: 1,
  Auth: 2,
  QueryAwareness: 3,
  SyncReply: 4,
  Stateless: 5,
  BroadcastStateless: 6,
  Close: 7,
  SyncStatus: 8,
  Ping: 9,
  Pong: 10,
} as const;

const SyncStep1 = 0;
const SyncStep2 = 1;
const SyncUpdate = 2;
const AuthToken = 0;

export type FrameProblem = 'MALFORMED_MESSAGE' | 'INVALID_DOCUMENT_ID';

/** A y-websocket frame: [type, body]. Returns the problem, or null when the frame is sound. */
export function checkYWebsocketFrame(frame: Uint8Array): FrameProblem | null {
  return guard(() => {
    const decoder = decoding.createDecoder(frame);
    const type = decoding.readVarUint(decoder);
    if (type !== MessageType.Sync && type !== MessageType.Awareness && type !== MessageType.QueryAwareness) {
      return 'MALFORMED_MESSAGE';
    }
    return checkBody(type, decoder);
  });
}

/** A Hocuspocus frame: [address, type, body]; the address is the document id (+ "\0" session). */
export function checkHocuspocusFrame(frame: Uint8Array): FrameProblem | null {
  return guard(() => {
    const decoder = decoding.createDecoder(frame);
    const address = decoding.readVarString(decoder);
    const separator = address.indexOf('\0');
    const documentId = separator === -1 ? address : address.slice(0, separator);
    if (!isValidDocumentId(documentId)) return 'INVALID_DOCUMENT_ID';
    return checkBody(decoding.readVarUint(decoder), decoder);
  });
}

function guard(check: () => FrameProblem | null): FrameProblem | null {
  try {
    return check();
  } catch {
    // Any decoding failure (truncated varint, length beyond the buffer, bad UTF-8/JSON) is
    // the same answer for the client: the frame is malformed.
    return 'MALFORMED_MESSAGE';
  }
}

function checkBody(type: number, decoder: decoding.Decoder): FrameProblem | null {
  switch (type) {
    case MessageType.Sync:
    case MessageType.SyncReply: {
      const step = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      if (step === SyncStep1) {
        checkStateVector(payload);
      } else if (step === SyncStep2 || step === SyncUpdate) {
        Y.decodeUpdate(payload);
      } else {
        return 'MALFORMED_MESSAGE';
      }
      break;
    }
    case MessageType.Awareness:
      checkAwarenessUpdate(decoding.readVarUint8Array(decoder));
      break;
    case MessageType.Auth: {
      if (decoding.readVarUint(decoder) !== AuthToken) return 'MALFORMED_MESSAGE';
      decoding.readVarString(decoder);
      // Newer providers append their version.
      if (decoding.hasContent(decoder)) decoding.readVarString(decoder);
      break;
    }
    case MessageType.Stateless:
      decoding.readVarString(decoder);
      break;
    case MessageType.Close:
      if (decoding.hasContent(decoder)) decoding.readVarString(decoder);
      break;
    case MessageType.QueryAwareness:
    case MessageType.Pong:
      break;
    default:
      // BroadcastStateless is server-internal; SyncStatus and Ping only go to clients.
      return 'MALFORMED_MESSAGE';
  }
  return decoding.hasContent(decoder) ? 'MALFORMED_MESSAGE' : null;
}

function checkStateVector(payload: Uint8Array): void {
  const decoder = decoding.createDecoder(payload);
  const clients = decoding.readVarUint(decoder);
  for (let i = 0; i < clients; i++) {
    decoding.readVarUint(decoder);
    decoding.readVarUint(decoder);
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes after state vector');
}

function checkAwarenessUpdate(payload: Uint8Array): void {
  const decoder = decoding.createDecoder(payload);
  const clients = decoding.readVarUint(decoder);
  for (let i = 0; i < clients; i++) {
    decoding.readVarUint(decoder); // client id
    decoding.readVarUint(decoder); // clock
    JSON.parse(decoding.readVarString(decoder));
  }
  if (decoding.hasContent(decoder)) throw new Error('trailing bytes after awareness update');
}
