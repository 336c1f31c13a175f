import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import type { BusMessage } from '../collab/ports.ts';

const UPDATE = 0;
const AWARENESS = 1;

/** [varUint kind][varString origin node][varUint seq, updates only][varUint8Array payload] */
export function encodeBusMessage(message: BusMessage): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, message.kind === 'update' ? UPDATE : AWARENESS);
  encoding.writeVarString(encoder, message.origin);
  if (message.kind === 'update') encoding.writeVarUint(encoder, message.seq);
  encoding.writeVarUint8Array(encoder, message.payload);
  return encoding.toUint8Array(encoder);
}

/** Null for anything that is not a whole message of ours (another writer on the channel). */
export function decodeBusMessage(bytes: Uint8Array): BusMessage | null {
  try {
    const decoder = decoding.createDecoder(bytes);
    const kind = decoding.readVarUint(decoder);
    const origin = decoding.readVarString(decoder);
    if (kind === UPDATE) {
      const seq = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      return decoding.hasContent(decoder) ? null : { kind: 'update', origin, seq, payload };
    }
    if (kind === AWARENESS) {
      const payload = decoding.readVarUint8Array(decoder);
      return decoding.hasContent(decoder) ? null : { kind: 'awareness', origin, payload };
    }
    return null;
  } catch {
    return null; // truncated: lib0 throws past the end
  }
}
