import { AppError } from '../errors.ts';

/**
 * MAX_DOCUMENT_BYTES in terms of markdown: a document's size is the UTF-8 length of its
 * markdown, as GET with Accept: text/markdown sends it.
 */

export const utf8Bytes = (text: string): number => Buffer.byteLength(text);

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The UTF-8 length of `left + right` from the lengths of its parts, without building it. Equal
 * to their sum unless a lone high surrogate meets a lone low one: each alone is encoded as a
 * 3-byte U+FFFD, together they are one 4-byte character.
 */
export function joinedBytes(left: string, leftBytes: number, right: string, rightBytes: number): number {
  const pairs = left.length > 0 && right.length > 0 && isHighSurrogate(left.charCodeAt(left.length - 1)) && isLowSurrogate(right.charCodeAt(0));
  return leftBytes + rightBytes - (pairs ? 2 : 0);
}

/** 413 DOCUMENT_TOO_LARGE when `bytes` is over the limit; `details` say where (e.g. which edit). */
export function requireWithinLimit(bytes: number, maxBytes: number, details: Record<string, unknown> = {}): void {
  if (bytes <= maxBytes) return;
  throw new AppError('DOCUMENT_TOO_LARGE', `The document would be ${bytes} bytes; the limit is ${maxBytes} (MAX_DOCUMENT_BYTES). Nothing was applied`, {
    details: { ...details, bytes, maxBytes },
  });
}
