import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing with scrypt (memory-hard, in node:crypto, no native add-on). The stored
 * form names its own parameters, `scrypt$N$r$p$salt$hash` (salt and hash base64url), so the
 * cost can be raised later without breaking the hashes already stored.
 */

/** 2^15 × r 8 = 32 MiB and about 0.1 s per hash: costly to guess, still fine for a login. */
const COST = { N: 32768, r: 8, p: 1 } as const;
const KEY_BYTES = 64;
const SALT_BYTES = 16;

/**
 * Bounds for parameters read back from storage: a corrupted or planted row must not make one
 * login allocate gigabytes or spin for minutes.
 */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

/**
 * The hash of a password nobody knows, checked when a login names an unknown email, so that
 * answering "wrong email or password" costs the same either way and timing does not tell
 * which addresses have accounts. A constant, made once with COST.
 */
const DUMMY_HASH =
  'scrypt$32768$8$1$2bUopR9PWZyRfwMzjmntpw$oPA5CiO5nqI2iN1AFQV7EAj5RYKNh192C53iBoV5AmQDH6GbusgQSRrqs8vMn4Agid4cJwr_yrzY9X-pq6K0hg';

function derive(plain: string, salt: Buffer, keyBytes: number, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default limit (32 MiB) is exactly COST's need, so
  // give it twice that rather than fail at the edge.
  const options: ScryptOptions = { ...cost, maxmem: 2 * 128 * cost.N * cost.r * cost.p };
  return new Promise((resolve, reject) => {
    // NFC: the same password typed on two systems may arrive as different code points.
    scrypt(plain.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(plain: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(plain, salt, KEY_BYTES, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** The stored form taken apart, or null when it is not one we wrote (or its cost is absurd). */
function parse(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^\d{1,8}$/.test(part) ? Number(part) : NaN)) as [number, number, number];
  const powerOfTwo = N >= 2 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || !(r >= 1 && r <= MAX_R) || !(p >= 1 && p <= MAX_P)) return null;
  const base64url = /^[A-Za-z0-9_-]+$/;
  if (!base64url.test(parts[4]!) || !base64url.test(parts[5]!)) return null;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const key = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || key.length < 16) return null;
  return { N, r, p, salt, key };
}

/** Whether `plain` is the password `stored` was made from; false (never a throw) for a malformed `stored`. */
export async function verifyPassword(plain: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  if (!parsed) return false;
  const candidate = await derive(plain, parsed.salt, parsed.key.length, parsed);
  return timingSafeEqual(candidate, parsed.key);
}

/** Costs what a real verification costs and always fails: for logins with an unknown email. */
export async function dummyVerify(plain: string): Promise<false> {
  await verifyPassword(plain, DUMMY_HASH);
  return false;
}
