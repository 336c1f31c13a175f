import type { FastifyReply, FastifyRequest } from 'fastify';
import { authorOfPrincipal, describePrincipal } from '../../access/principal.ts';
import { type Author, asAgent, isAgentName } from '../../docs/authors.ts';
import type { WriteOptions, WriteResult } from '../../docs/document-writes.ts';
import { type ScopedIdempotencyKey, scopedIdempotencyKey } from '../../docs/idempotency-key.ts';
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

/** The request's Idempotency-Key, bound to its caller and its route (method and path template). */
export function idempotencyKeyOf(request: FastifyRequest): ScopedIdempotencyKey | undefined {
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string') return undefined;
  return scopedIdempotencyKey(describePrincipal(request.principal), `${request.method} ${request.routeOptions.url}`, key);
}

/** Whom the request's writes are attributed to: its credential, as the agent its Agent-Name names. */
export function authorOfRequest(request: FastifyRequest): Author {
  const credential = authorOfPrincipal(request.principal);
  const header = request.headers['agent-name'];
  if (header === undefined) return credential;
  // Node joins repeated headers with ", ": count them in the raw list instead.
  const given = request.raw.rawHeaders.filter((value, index) => index % 2 === 0 && value.toLowerCase() === 'agent-name').length;
  // Header values arrive as Latin-1; a name sent as UTF-8 (as clients send it) is read as such.
  const name = typeof header === 'string' ? Buffer.from(header, 'latin1').toString('utf8') : '';
  if (given !== 1 || name.includes('\uFFFD') || !isAgentName(name)) {
    throw new AppError('VALIDATION_FAILED', 'Agent-Name must be given once, as 1 to 64 visible characters in UTF-8 (no control or invisible ones)');
  }
  return asAgent(credential, name);
}

/** Base-Version / `base`, If-Match and Idempotency-Key, as the document writer takes them. */
export function writeOptionsOf(request: FastifyRequest, bodyBase?: number): WriteOptions {
  const headers = request.headers as { 'base-version'?: string | undefined; 'if-match'?: string | undefined };
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
  return { author: authorOfRequest(request), base: headerBase ?? bodyBase, ifMatch, idempotencyKey: idempotencyKeyOf(request) };
}

export function sendWriteResult(reply: FastifyReply, result: WriteResult): WriteResult {
  reply.header('etag', etagOf(result.version));
  return result;
}
