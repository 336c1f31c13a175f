import { closeCodeFor, type ErrorCode, isErrorCode } from '../errors.ts';
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

/** Reasons Hocuspocus writes into its Close message (it carries no code). Maps, not objects: a reason like "toString" must not match. */
const HOCUSPOCUS_CLOSE_REASONS = new Map<string, ErrorCode>([
  ['Connection Timeout', 'TIMED_OUT'],
  ['Unauthorized', 'UNAUTHORIZED'],
  ['Forbidden', 'FORBIDDEN'],
]);

/**
 * The socket Hocuspocus gets: every close it makes leaves with a code and reason from our
 * contract (INTERFACE.md), whatever Hocuspocus chose internally.
 */
export function withContractCloseCodes(socket: ClientSocket): ClientSocket {
  return {
    get readyState() {
      return socket.readyState;
    },
    send(data) {
      socket.send(data);
    },
    close(code, reason) {
      const errorCode = contractErrorCode(code, reason);
      socket.close(closeCodeFor(errorCode), errorCode);
    },
  };
}

export function contractErrorCode(code: number | undefined, reason: string | undefined): ErrorCode {
  if (isErrorCode(reason)) return reason;
  return (
    (code !== undefined && HOCUSPOCUS_CLOSE_CODES.get(code)) ||
    (reason !== undefined && HOCUSPOCUS_CLOSE_REASONS.get(reason)) ||
    'INTERNAL'
  );
}
