import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { BusMessage } from '../collab/ports.ts';

// Kind 0 was an update published after its commit, with its seq (before updates went out at
// once). Its number is not reused: a node of that version and one of this version, side by
// side during a rolling upgrade, ignore each other's updates and repair them from the op log.
const AWARENESS = 1;
const UPDATE = 2;
const COMMITTED = 3;

/**
 * [varUint kind][varString origin node], then for an update [varUint local][varUint8Array
 * payload], for a commit [varUint count]([varUint local][varUint seq])*, for awareness
 * [varUint8Array payload].
 */
export function encodeBusMessage(message: BusMessage): Uint8Array {
  const encoder = encoding.createEncoder();
  if (message.kind === 'update') {
    encoding.writeVarUint(encoder, UPDATE);
    encoding.writeVarString(encoder, message.origin);
    encoding.writeVarUint(encoder, message.local);
    encoding.writeVarUint8Array(encoder, message.payload);
  } else if (message.kind === 'committed') {
    encoding.writeVarUint(encoder, COMMITTED);
    encoding.writeVarString(encoder, message.origin);
    encoding.writeVarUint(encoder, message.commits.length);
    for (const { local, seq } of message.commits) {
      encoding.writeVarUint(encoder, local);
      encoding.writeVarUint(encoder, seq);
    }
  } else {
    encoding.writeVarUint(encoder, AWARENESS);
    encoding.writeVarString(encoder, message.origin);
    encoding.writeVarUint8Array(encoder, message.payload);
  }
  return encoding.toUint8Array(encoder);
}

/** Null for anything that is not a whole message of ours (another writer on the channel). */
export function decodeBusMessage(bytes: Uint8Array): BusMessage | null {
  try {
    const decoder = decoding.createDecoder(bytes);
    const kind = decoding.readVarUint(decoder);
    const origin = decoding.readVarString(decoder);
    let message: BusMessage;
    if (kind === UPDATE) {
      const local = decoding.readVarUint(decoder);
      message = { kind: 'update', origin, local, payload: decoding.readVarUint8Array(decoder) };
    } else if (kind === COMMITTED) {
      const count = decoding.readVarUint(decoder);
      // Each commit takes at least two bytes: a count past what is left is not ours.
      if (count > decoder.arr.length - decoder.pos) return null;
      const commits: { local: number; seq: number }[] = [];
      for (let i = 0; i < count; i++) commits.push({ local: decoding.readVarUint(decoder), seq: decoding.readVarUint(decoder) });
      message = { kind: 'committed', origin, commits };
    } else if (kind === AWARENESS) {
      message = { kind: 'awareness', origin, payload: decoding.readVarUint8Array(decoder) };
    } else {
      return null;
    }
    return decoding.hasContent(decoder) ? null : message;
  } catch {
    return null; // truncated: lib0 throws past the end
  }
}
