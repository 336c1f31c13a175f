import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { closeCodeFor, type ErrorCode, isErrorCode } from '../errors.ts';
import { MessageType } from './frames.ts';
import type { ClientSocket } from './ports.ts';

/**
 * Hocuspocus's own close events (from @hocuspocus/common) in terms of our error registry,
 * which decides the code that leaves (errors.ts closeCodeFor). What matters is the family:
 * Hocuspocus's 4408 and 4205 would stop a y-websocket client for good (4400–4499), while
 * both only ever mean "come back".
 */
const HOCUSPOCUS_CLOSE_CODES = new Map<number, ErrorCode>([
  [1009, 'MESSAGE_TOO_LARGE'],
  // ResetConnection: too much queued before authentication (1,000 messages or 5 MB, e.g. a
  // slow credential check under load) or too many documents pending it: 1013, try again.
  [4205, 'RATE_LIMITED'],
  [4401, 'UNAUTHORIZED'],
  [4403, 'FORBIDDEN'],
  // ConnectionTimeout: idle past SOCKET_IDLE_TIMEOUT_MS (or no authentication by then): 1001.
  [4408, 'TIMED_OUT'],
]);

/**
 * Reasons Hocuspocus writes into its Close and PermissionDenied messages (they carry no code).
 * Maps, not objects: a reason like "toString" must not match.
 */
const HOCUSPOCUS_CLOSE_REASONS = new Map<string, ErrorCode>([
  ['Connection Timeout', 'TIMED_OUT'],
  ['Unauthorized', 'UNAUTHORIZED'],
  ['Forbidden', 'FORBIDDEN'],
  // Its PermissionDenied reason when a hook threw something other than our { reason } (the
  // database did not answer, a bug): a failure, not a refusal. The y-websocket bridge passes
  // 4403 along with it, which would stop the client for good over a passing outage.
  ['permission-denied', 'INTERNAL'],
]);

/**
 * The socket Hocuspocus gets: every close it makes leaves with a code and reason from our
 * contract (INTERFACE.md), whatever Hocuspocus chose internally.
 */
export function withContractCloseCodes(socket: ClientSocket): ClientSocket {
  return new ContractCloseCodes(socket);
}

/** A class rather than an object of closures: every y-websocket socket holds one while it is open (bench S4). */
class ContractCloseCodes implements ClientSocket {
  private readonly socket: ClientSocket;

  constructor(socket: ClientSocket) {
    this.socket = socket;
  }

  get readyState(): number {
    return this.socket.readyState;
  }

  send(data: Uint8Array): void {
    this.socket.send(data);
  }

  close(code?: number, reason?: string): void {
    const errorCode = contractErrorCode(code, reason);
    this.socket.close(closeCodeFor(errorCode), errorCode);
  }
}

/**
 * For a /collab socket: closes as above, and per-document Close and PermissionDenied messages
 * carry the contract's reasons too. A refusal that is not final (the database did not answer
 * while the document was checked or loaded) also closes the socket with its transient code: a
 * stock provider never asks for a refused document again on an open socket, but it always
 * reconnects, and then it asks.
 */
export function withContractMessages(socket: ClientSocket): ClientSocket {
  const closing = withContractCloseCodes(socket);
  return {
    get readyState() {
      return socket.readyState;
    },
    send(data) {
      const frame = withContractReasons(data);
      socket.send(frame);
      const refusal = refusalOf(frame);
      if (refusal !== null && closeCodeFor(refusal) < 4000) closing.close(undefined, refusal);
    },
    close: (code, reason) => closing.close(code, reason),
  };
}

/** The reason says more than the code (the bridge closes every refusal with 4403), so it comes first. */
export function contractErrorCode(code: number | undefined, reason: string | undefined): ErrorCode {
  if (isErrorCode(reason)) return reason;
  return (
    (reason !== undefined && HOCUSPOCUS_CLOSE_REASONS.get(reason)) ||
    (code !== undefined && HOCUSPOCUS_CLOSE_CODES.get(code)) ||
    'INTERNAL'
  );
}

/** What a Hocuspocus provider sends to close one document itself: not ours to rename. */
const CLIENT_CLOSE_REASON = 'provider_initiated';
const AUTH_PERMISSION_DENIED = 1;

/**
 * For frames to a /collab client: a Close message (one document of the socket closed, the
 * socket stays open) and a PermissionDenied answer get a reason from our contract, as socket
 * closes do; every other frame is returned as it is. Hocuspocus writes its own texts there
 * ("Connection Timeout", "permission-denied"). Cheap for all the other frames: the address is
 * skipped, not decoded.
 */
export function withContractReasons(frame: Uint8Array): Uint8Array {
  try {
    const decoder = decoding.createDecoder(frame);
    const addressLength = decoding.readVarUint(decoder);
    const typeAt = decoder.pos + addressLength;
    const type = frame[typeAt];
    if (type === MessageType.Close) return rewriteReason(frame, []);
    if (type === MessageType.Auth && frame[typeAt + 1] === AUTH_PERMISSION_DENIED) return rewriteReason(frame, [AUTH_PERMISSION_DENIED]);
    return frame;
  } catch {
    // Not a frame we can read (the server writes only well-formed ones): leave it alone.
    return frame;
  }
}

/** The reason of a PermissionDenied answer (already in contract terms), else null. */
function refusalOf(frame: Uint8Array): ErrorCode | null {
  const decoder = decoding.createDecoder(frame);
  const typeAt = decoding.readVarUint(decoder) + decoder.pos;
  if (frame[typeAt] !== MessageType.Auth || frame[typeAt + 1] !== AUTH_PERMISSION_DENIED) return null;
  decoder.pos = typeAt + 2;
  const reason = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : undefined;
  return isErrorCode(reason) ? reason : null;
}

/** [address, type, ...subTypes, reason] with the reason in contract terms. */
function rewriteReason(frame: Uint8Array, subTypes: number[]): Uint8Array {
  const decoder = decoding.createDecoder(frame);
  const address = decoding.readVarString(decoder);
  const type = decoding.readVarUint(decoder);
  for (const _ of subTypes) decoding.readVarUint(decoder);
  const reason = decoding.hasContent(decoder) ? decoding.readVarString(decoder) : undefined;
  if (reason === CLIENT_CLOSE_REASON || isErrorCode(reason)) return frame;
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, address);
  encoding.writeVarUint(encoder, type);
  for (const subType of subTypes) encoding.writeVarUint(encoder, subType);
  encoding.writeVarString(encoder, contractErrorCode(undefined, reason));
  return encoding.toUint8Array(encoder);
}
