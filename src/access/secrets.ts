import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Tandem's own bearer secrets. The prefix says what a token is (so a leaked one is easy to
 * recognise and a credential is routed without a database lookup); 32 random bytes make it
 * unguessable, so a fast hash is enough to store and find it (passwords use scrypt instead).
 */
export const SECRET_PREFIX = {
  apiKey: 'tdm_',
  documentKey: 'tdk_',
  socketToken: 'tdw_',
  refreshToken: 'tdr_',
  emailVerification: 'tdv_',
} as const;

export type SecretKind = keyof typeof SECRET_PREFIX;

export function newSecret(kind: SecretKind): string {
  return `${SECRET_PREFIX[kind]}${randomBytes(32).toString('base64url')}`;
}

/** What is stored (and looked up) instead of the secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The kind of a bearer token: one of ours by prefix, a JWT by shape, or nothing we know. */
export function tokenKindOf(token: string): SecretKind | 'jwt' | null {
  for (const [kind, prefix] of Object.entries(SECRET_PREFIX)) {
    if (token.startsWith(prefix)) return kind as SecretKind;
  }
  return /^[\w-]+\.[\w-]*\.[\w-]*$/.test(token) ? 'jwt' : null;
}

/** A short, non-secret part of a key, shown in lists so that people can tell keys apart. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, 12);
}
