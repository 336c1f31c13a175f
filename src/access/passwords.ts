import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';
import { createConcurrencyGate } from './concurrency-gate.ts';

/**
 * Password hashing with scrypt (memory-hard, in node:crypto, no native add-on). The stored
 * form names its own parameters, `scrypt$N$r$p$salt$hash` (salt and hash base64url), so the
 * cost can be raised without breaking the hashes already stored: they verify at the cost they
 * name, and `verify` says when one should be stored again at today's cost.
 */

/** OWASP's minimum for scrypt (Password Storage Cheat Sheet): N = 2^17, r = 8, p = 1. */
export const OWASP_SCRYPT_N = 2 ** 17;
const R = 8;
const P = 1;
const KEY_BYTES = 64;
const SALT_BYTES = 16;

/**
 * Bounds for parameters read back from storage (and for the configured N): a corrupted or
 * planted row must not make one login allocate gigabytes or spin for minutes. 2^18 · r 8 is
 * 256 MiB, twice the default.
 */
export const MAX_SCRYPT_N = 2 ** 18;
const MAX_R = 32;
const MAX_P = 16;

/**
 * Hashes running at once on this node. Each takes 128·N·r bytes (128 MiB at the default) and
 * a thread of libuv's pool (4 by default, shared with file and DNS work): two at once bound the
 * memory a login flood can take and leave the pool's other threads to everything else.
 * Requests past that wait their turn, up to MAX_WAITING; beyond, 429 at once.
 */
const CONCURRENT_HASHES = 2;
const MAX_WAITING = 64;

interface Cost {
  N: number;
  r: number;
  p: number;
}

export interface PasswordHasher {
  hash(plain: string): Promise<string>;
  /** `stale`: right, but stored at another cost than today's; store `hash(plain)` in its place. */
  verify(plain: string, stored: string): Promise<{ ok: boolean; stale: boolean }>;
  /** Costs what a real verification costs and always fails: for logins with an unknown email. */
  dummyVerify(plain: string): Promise<false>;
}

/** `N`: scrypt's cost, a power of two; OWASP's 2^17 unless a test asks for less (config.ts). */
export function createPasswordHasher(options: { N?: number } = {}): PasswordHasher {
  const cost: Cost = { N: options.N ?? OWASP_SCRYPT_N, r: R, p: P };
  const gate = createConcurrencyGate({
    concurrency: CONCURRENT_HASHES,
    maxWaiting: MAX_WAITING,
    busyDetail: 'Too many password checks are running on this node; retry in a moment',
  });
  const derive = (plain: string, salt: Buffer, keyBytes: number, at: Cost) => gate.run(() => deriveKey(plain, salt, keyBytes, at));

  return {
    async hash(plain) {
      const salt = randomBytes(SALT_BYTES);
      const key = await derive(plain, salt, KEY_BYTES, cost);
      return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
    },

    async verify(plain, stored) {
      const parsed = parse(stored);
      if (!parsed) return { ok: false, stale: false };
      const candidate = await derive(plain, parsed.salt, parsed.key.length, parsed);
      const ok = timingSafeEqual(candidate, parsed.key);
      const stale = parsed.N !== cost.N || parsed.r !== cost.r || parsed.p !== cost.p || parsed.key.length !== KEY_BYTES;
      return { ok, stale: ok && stale };
    },

    async dummyVerify(plain) {
      // A random salt: the same work as checking a real hash at today's cost, compared with nothing.
      await derive(plain, randomBytes(SALT_BYTES), KEY_BYTES, cost);
      return false;
    },
  };
}

function deriveKey(plain: string, salt: Buffer, keyBytes: number, cost: Cost): Promise<Buffer> {
  // scrypt needs about 128·N·r bytes, more than Node's default limit (32 MiB) from N = 2^15 on:
  // without maxmem, OWASP's cost fails with "memory limit exceeded". Twice the need, to keep
  // clear of the edge (OpenSSL also counts the p·128·r bytes of its input blocks).
  const options: ScryptOptions = { ...cost, maxmem: 2 * 128 * cost.N * cost.r * cost.p };
  return new Promise((resolve, reject) => {
    // NFC: the same password typed on two systems may arrive as different code points.
    scrypt(plain.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

interface ParsedHash extends Cost {
  salt: Buffer;
  key: Buffer;
}

/** The stored form taken apart, or null when it is not one we wrote (or its cost is absurd). */
function parse(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^\d{1,8}$/.test(part) ? Number(part) : NaN)) as [number, number, number];
  if (!isScryptN(N) || !(r >= 1 && r <= MAX_R) || !(p >= 1 && p <= MAX_P)) return null;
  const base64url = /^[A-Za-z0-9_-]+$/;
  if (!base64url.test(parts[4]!) || !base64url.test(parts[5]!)) return null;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || key.length < 16) return null;
  return { N, r, p, salt, key };
}

/** A power of two from 2 to MAX_SCRYPT_N. */
export function isScryptN(N: number): boolean {
  return Number.isInteger(N) && N >= 2 && N <= MAX_SCRYPT_N && (N & (N - 1)) === 0;
}
