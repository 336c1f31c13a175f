import { describe, expect, it } from 'vitest';
import { AppError, closeCodeFor, ERRORS, type ErrorCode, isErrorCode, toProblem } from '../../src/errors.ts';
import { contractErrorCode } from '../../src/collab/close-codes.ts';

const codes = Object.keys(ERRORS) as ErrorCode[];

describe('closeCodeFor: WebSocket close codes from the error registry', () => {
  it.each([
    ['MALFORMED_MESSAGE', 4400],
    ['INVALID_DOCUMENT_ID', 4400],
    ['UNAUTHORIZED', 4401],
    ['FORBIDDEN', 4403],
    ['DOC_NOT_FOUND', 4404],
    ['TIMED_OUT', 1001],
    ['MESSAGE_TOO_LARGE', 4413],
    ['RATE_LIMITED', 1013],
    ['INTERNAL', 1011],
    ['DOCUMENT_UNAVAILABLE', 1011],
    ['NOT_READY', 1011],
    ['SHUTTING_DOWN', 1001],
  ] as [ErrorCode, number][])('%s closes with %i', (code, closeCode) => {
    expect(closeCodeFor(code)).toBe(closeCode);
  });

  it('every code maps to 4000 + its status, 1011 for a 5xx, and a standard code for the transient ones', () => {
    const transient: Partial<Record<ErrorCode, number>> = { SHUTTING_DOWN: 1001, TIMED_OUT: 1001, RATE_LIMITED: 1013 };
    for (const code of codes) {
      const { status } = ERRORS[code];
      const expected = transient[code] ?? (status >= 500 ? 1011 : 4000 + status);
      expect(closeCodeFor(code), code).toBe(expected);
    }
    // Retired: y-websocket would stop for good after either.
    expect(codes.map(closeCodeFor)).not.toContain(4408);
    expect(codes.map(closeCodeFor)).not.toContain(4429);
  });

  it('every close code is a legal application or standard code and its reason fits a close frame', () => {
    for (const code of codes) {
      const closeCode = closeCodeFor(code);
      expect([1001, 1011, 1013].includes(closeCode) || (closeCode >= 4000 && closeCode <= 4999), code).toBe(true);
      // A close frame's reason is at most 123 bytes of UTF-8.
      expect(Buffer.byteLength(code), code).toBeLessThanOrEqual(123);
    }
  });
});

describe('AppError and problem+json', () => {
  it('carries the code, the registry status, the detail and the cause', () => {
    const cause = new Error('low-level');
    const error = new AppError('DOC_NOT_FOUND', 'Document x does not exist', { cause, details: [{ path: '/id' }] });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('DOC_NOT_FOUND');
    expect(error.status).toBe(404);
    expect(error.message).toBe('Document x does not exist');
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual([{ path: '/id' }]);
  });

  it('uses the registry title as the message when no detail is given', () => {
    expect(new AppError('RATE_LIMITED').message).toBe(ERRORS.RATE_LIMITED.title);
  });

  it('becomes an RFC 9457 problem with code and requestId', () => {
    const problem = toProblem(new AppError('PAYLOAD_TOO_LARGE', 'Body over 1 MiB'), {
      instance: '/v1/documents/x',
      requestId: 'req-7',
    });
    expect(problem).toEqual({
      type: 'urn:tandem:error:payload-too-large',
      title: ERRORS.PAYLOAD_TOO_LARGE.title,
      status: 413,
      detail: 'Body over 1 MiB',
      instance: '/v1/documents/x',
      code: 'PAYLOAD_TOO_LARGE',
      requestId: 'req-7',
    });
  });

  it('lists validation details under details only when there are some', () => {
    const withDetails = toProblem(new AppError('VALIDATION_FAILED', 'bad', { details: [{ path: '/a', message: 'x' }] }), {
      instance: '/',
      requestId: 'r',
    });
    expect(withDetails.details).toEqual([{ path: '/a', message: 'x' }]);
    // Without specifics there is no details member at all, not one set to undefined.
    expect('details' in toProblem(new AppError('VALIDATION_FAILED'), { instance: '/', requestId: 'r' })).toBe(false);
  });

  it('every registered status is an HTTP error status', () => {
    for (const code of codes) {
      expect(ERRORS[code].status, code).toBeGreaterThanOrEqual(400);
      expect(ERRORS[code].status, code).toBeLessThan(600);
    }
  });
});

describe('isErrorCode', () => {
  it('knows every registered code', () => {
    for (const code of codes) expect(isErrorCode(code)).toBe(true);
  });
  it.each([['NOT_A_CODE'], ['toString'], ['__proto__'], ['constructor'], ['malformed_message'], [''], [4400], [undefined]])(
    'refuses %s',
    (value) => {
      expect(isErrorCode(value)).toBe(false);
    },
  );
});

describe('contractErrorCode: what Hocuspocus closes with, in contract terms', () => {
  it('keeps a reason that is one of our codes, whatever the code number', () => {
    expect(contractErrorCode(4403, 'DOCUMENT_UNAVAILABLE')).toBe('DOCUMENT_UNAVAILABLE');
    expect(contractErrorCode(1000, 'MALFORMED_MESSAGE')).toBe('MALFORMED_MESSAGE');
    expect(contractErrorCode(undefined, 'SHUTTING_DOWN')).toBe('SHUTTING_DOWN');
  });

  it.each([
    [1009, 'Message too big', 'MESSAGE_TOO_LARGE'],
    [4205, 'Reset Connection', 'RATE_LIMITED'],
    [4401, 'Unauthorized', 'UNAUTHORIZED'],
    [4403, 'Forbidden', 'FORBIDDEN'],
    [4408, 'Connection Timeout', 'TIMED_OUT'],
  ] as [number, string, ErrorCode][])('maps Hocuspocus %i (%s) to %s', (code, reason, expected) => {
    expect(contractErrorCode(code, reason)).toBe(expected);
  });

  it('falls back to INTERNAL for anything else', () => {
    expect(contractErrorCode(4999, 'whatever')).toBe('INTERNAL');
    expect(contractErrorCode(undefined, undefined)).toBe('INTERNAL');
    expect(contractErrorCode(1000, 'toString')).toBe('INTERNAL');
  });
});
