import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { MessageType } from './frames.ts';

/**
 * What the transport needs from a frame before it is validated (frames.ts does that, in the
 * room's turn): which document a Hocuspocus frame is for, so that each document of a
 * multiplexed socket gets its own message budget; and a frame that changes nothing on the
 * client but counts as traffic for its silence watchdog.
 */

/**
 * The address of a Hocuspocus frame (the document name, possibly followed by "\0" and a
 * session id), or null when it does not decode: such a frame is refused later anyway.
 */
export function hocuspocusAddressOf(frame: Uint8Array): string | null {
  try {
    return decoding.readVarString(decoding.createDecoder(frame));
  } catch {
    // Malformed: frames.ts refuses it with MALFORMED_MESSAGE when it reaches the room.
    return null;
  }
}

/** The document a Hocuspocus address names (what comes before the session separator). */
export function documentOfAddress(address: string): string {
  const separator = address.indexOf('\0');
  return separator === -1 ? address : address.slice(0, separator);
}

/**
 * An awareness update for no client: y-websocket and the Hocuspocus provider apply it as a
 * no-op (no change, no update event, no reply), yet it resets the watchdog that makes both
 * drop a connection after 30 s without a message from the server. A socket that is being
 * read slowly may otherwise hear nothing for that long while the server works through what
 * it already sent. `address`: the Hocuspocus address to put first, null for y-websocket.
 */
export function noOpAwarenessFrame(address: string | null): Uint8Array {
  const encoder = encoding.createEncoder();
  if (address !== null) encoding.writeVarString(encoder, address);
  encoding.writeVarUint(encoder, MessageType.Awareness);
  // The awareness update: a count of 0 client entries.
  encoding.writeVarUint8Array(encoder, Uint8Array.of(0));
  return encoding.toUint8Array(encoder);
}
