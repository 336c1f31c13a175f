/**
 * One registry of error codes. REST answers them as application/problem+json (RFC 9457);
 * WebSockets close with the code as the reason and a close code from closeCodeFor.
 */
export const ERRORS = {
  MALFORMED_MESSAGE: { status: 400, title: 'Malformed message' },
  INVALID_DOCUMENT_ID: {
    status: 400,
    title: 'Invalid document id (1-128 characters of A-Z a-z 0-9 . _ -)',
  },
  VALIDATION_FAILED: { status: 400, title: 'Request failed validation' },
  VERIFICATION_TOKEN_INVALID: { status: 400, title: 'Unknown, used or expired email verification token' },
  UNAUTHORIZED: { status: 401, title: 'Missing or invalid credential' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  NOT_FOUND: { status: 404, title: 'No such route' },
  USER_NOT_FOUND: { status: 404, title: 'No such user' },
  WORKSPACE_NOT_FOUND: { status: 404, title: 'No such workspace (or you are not a member)' },
  API_KEY_NOT_FOUND: { status: 404, title: 'No such API key' },
  INVITATION_NOT_FOUND: { status: 404, title: 'No pending invitation for this email address' },
  DOC_NOT_FOUND: { status: 404, title: 'No such document' },
  VERSION_NOT_FOUND: { status: 404, title: 'No such version of this document (outside its kept history)' },
  COMMENT_NOT_FOUND: { status: 404, title: 'No such comment on this document' },
  SUGGESTION_NOT_FOUND: { status: 404, title: 'No such suggestion on this document' },
  NOTIFICATION_NOT_FOUND: { status: 404, title: 'No such notification' },
  WEBHOOK_NOT_FOUND: { status: 404, title: 'No such webhook in this workspace' },
  MCP_SESSION_NOT_FOUND: {
    status: 404,
    title: 'No such MCP session on this node (it ended, or the node restarted): initialize a new session',
  },
  TIMED_OUT: { status: 408, title: 'Timed out' },
  DOC_EXISTS: { status: 409, title: 'A document with this id already exists' },
  EDIT_CONFLICT: { status: 409, title: 'An edit does not apply to the document' },
  ANCHOR_NOT_FOUND: { status: 409, title: 'The comment anchor does not fit the current text (quote not found, or a range outside it)' },
  BASE_VERSION_GONE: { status: 409, title: 'The base version is older than the kept history; read the document again' },
  EMAIL_TAKEN: { status: 409, title: 'An account with this email already exists' },
  LAST_OWNER: { status: 409, title: 'A workspace keeps at least one owner; make someone else owner first' },
  TOO_MANY_INVITATIONS: { status: 409, title: 'Too many pending invitations here; revoke some first' },
  VERSION_NAME_TAKEN: { status: 409, title: 'This document already has a version with that name' },
  SUGGESTION_CLOSED: { status: 409, title: 'The suggestion is not open: it was accepted or rejected, or is being accepted right now' },
  TOO_MANY_SUGGESTIONS: { status: 409, title: 'This document has as many open suggestions as it may hold; accept or reject some first' },
  UNSUPPORTED_CONTENT: {
    status: 409,
    title: 'The document holds content this server cannot read (the detail names it): a write would delete it, so nothing was applied',
  },
  API_KEY_LIMIT: { status: 409, title: 'Too many active API keys: revoke one before making another' },
  PRECONDITION_FAILED: { status: 412, title: 'The document is no longer at the version given in If-Match' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body too large' },
  MESSAGE_TOO_LARGE: { status: 413, title: 'WebSocket message too large' },
  DOCUMENT_TOO_LARGE: { status: 413, title: 'The document would exceed its size limit (MAX_DOCUMENT_BYTES); nothing was applied' },
  TOO_MANY_EDITS: { status: 413, title: 'More edits in one request than allowed (1,000); nothing was applied' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  UNSUPPORTED_MARKDOWN: { status: 422, title: 'The markdown holds something a rich-text document cannot (the detail names it); nothing was applied' },
  WEBHOOK_URL_NOT_ALLOWED: {
    status: 422,
    title: 'Webhooks go to public addresses only (not this server, its private network or internal names)',
  },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal server error' },
  LOGIN_UNAVAILABLE: {
    status: 501,
    title: 'This node verifies tokens from another issuer (JWT_PUBLIC_KEY without JWT_PRIVATE_KEY) and does not log users in',
  },
  DOCUMENT_UNAVAILABLE: {
    status: 503,
    title: 'The document could not be loaded from storage; try again shortly',
  },
  NOT_READY: { status: 503, title: 'Not ready: a dependency does not answer' },
  MCP_SESSIONS_FULL: { status: 503, title: 'This node holds as many MCP sessions as it may; try again later (or after closing one)' },
  SHUTTING_DOWN: { status: 503, title: 'Server shutting down' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;
  /** Sent as Retry-After (REST): when a refusal (RATE_LIMITED) is over, in seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown; details?: unknown; retryAfterSeconds?: number }) {
    super(detail ?? ERRORS[code].title, { cause: options?.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = options?.details;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/**
 * Close codes that stock clients act on correctly: `y-websocket` 3.x never reconnects after a
 * code in 4400–4499, `@hocuspocus/provider` always reconnects. So 4000 + status (a 44xx) only
 * where retrying the same thing cannot help (malformed, bad credential, not allowed, no such
 * document, too large); anything the client should come back from gets a standard code:
 * 1001 going away (shutdown, or a socket silent past the idle timeout), 1013 try again later
 * (rate limits, overload), 1011 for server errors. 4408 and 4429 are retired for that reason.
 */
const TRANSIENT_CLOSE_CODES: Partial<Record<ErrorCode, number>> = {
  SHUTTING_DOWN: 1001,
  TIMED_OUT: 1001,
  RATE_LIMITED: 1013,
};

export function closeCodeFor(code: ErrorCode): number {
  const transient = TRANSIENT_CLOSE_CODES[code];
  if (transient !== undefined) return transient;
  const { status } = ERRORS[code];
  return status >= 500 ? 1011 : 4000 + status;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  requestId: string;
  /** Machine-readable specifics: every validation problem, the edit or hunk in conflict, ... */
  details?: unknown;
}

export function toProblem(
  error: AppError,
  context: { instance: string; requestId: string },
): Problem {
  return {
    type: `urn:tandem:error:${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: ERRORS[error.code].title,
    status: error.status,
    detail: error.message,
    instance: context.instance,
    code: error.code,
    requestId: context.requestId,
    ...(error.details === undefined ? {} : { details: error.details }),
  };
}
