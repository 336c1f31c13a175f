import type { FastifyReply } from 'fastify';
import type { WriteOptions, WriteResult } from '../../docs/document-writes.ts';
import { AppError } from '../../errors.ts';

/** ETags are the version in quotes: "12". */
export const etagOf = (version: number) => `"${version}"`;

/** Reads `"12"` or `W/"12"` or `12`; null for anything else. */
function versionOfTag(tag: string): number | null {
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(tag.trim());
  return match ? Number(match[1]) : null;
}

/** Whether an If-None-Match header lists this version (or is *). */
export function matchesAnyTag(header: string | undefined, version: number): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => tag.trim() === '*' || versionOfTag(tag) === version);
}

/** Base-Version / `base`, If-Match and Idempotency-Key, as the document writer takes them. */
export function writeOptionsOf(
  headers: { 'base-version'?: string | undefined; 'if-match'?: string | undefined; 'idempotency-key'?: string | undefined },
  bodyBase?: number,
): WriteOptions {
  const headerBase = headers['base-version'] === undefined ? undefined : Number(headers['base-version']);
  if (headerBase !== undefined && bodyBase !== undefined && headerBase !== bodyBase) {
    throw new AppError('VALIDATION_FAILED', `Base-Version ${headerBase} and base ${bodyBase} disagree; give one`);
  }
  let ifMatch: number | undefined;
  if (headers['if-match'] !== undefined) {
    const version = versionOfTag(headers['if-match']);
    if (version === null) throw new AppError('VALIDATION_FAILED', 'If-Match must be an ETag of this API, e.g. "12"');
    ifMatch = version;
  }
  return { base: headerBase ?? bodyBase, ifMatch, idempotencyKey: headers['idempotency-key'] };
}

export function sendWriteResult(reply: FastifyReply, result: WriteResult): WriteResult {
  reply.header('etag', etagOf(result.version));
  return result;
}
