import { createHash } from 'node:crypto';
import { type CreateRateLimitOptions, normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route hashes or checks a password (scrypt, half a second of a core): login, register. */
    checksPassword?: boolean;
    /** A login: the account it names (the normalized email of its body), whose attempts are limited. */
    loginAccountOf?: (request: FastifyRequest) => string;
  }
}

export type PasswordLimitsConfig = Pick<
  Config,
  'passwordRateLimitPerMinute' | 'loginAttemptsPerAccount' | 'loginAttemptsPerAccountAndAddress' | 'loginAttemptWindowSeconds'
>;

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * Password guessing, and scrypt as a way to burn CPU, are limited twice on top of the REST
 * limit, with @fastify/rate-limit's counters (in Redis with REDIS_URL, so every node counts
 * the same attempts):
 * - per client address, for every route that runs scrypt, whatever token the request carries;
 * - per account, for logins, twice: LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS attempts per window
 *   from one address, and LOGIN_ATTEMPTS_PER_ACCOUNT (ten times more by default) from all
 *   addresses together. The first stops a guesser at a few tries without locking the owner
 *   out from their own address; the second bounds a botnet, and only a botnet can then lock an
 *   account. An attempt refused by the first is not counted by the second. Every attempt
 *   counts, right or wrong: counted before the password is checked, a burst of parallel
 *   guesses cannot slip past the count while scrypt runs. Past a limit, logins answer 429 with
 *   Retry-After until the window ends, the right password included (the limit cannot tell the
 *   owner from the guesser), and no password is checked. An email without an account is
 *   counted the same way, so the limits tell nothing about which addresses have accounts.
 * Needs the rate-limit plugin registered (abuse-limits.ts does that first).
 */
export function registerPasswordLimits(app: FastifyInstance, config: PasswordLimitsConfig): void {
  const perAddress = app.createRateLimit({
    max: config.passwordRateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `password-address:${normalizeIP(request.ip)}`,
  });
  // A hash: the keys live in Redis, and an email is personal data.
  const accountKey = (request: FastifyRequest) =>
    createHash('sha256').update(request.routeOptions.config.loginAccountOf!(request)).digest('base64url');
  const perAccountLimit = (max: number, keyGenerator: (request: FastifyRequest) => string) => {
    const options: CreateRateLimitOptions & { cache: number } = {
      max,
      timeWindow: config.loginAttemptWindowSeconds * 1000,
      keyGenerator,
      // Without Redis the counters are an LRU map (5,000 keys by default): an attacker spraying
      // that many other emails would evict the victim's count. The plugin reads `cache` here
      // though its types omit it; 100,000 keys are a few MiB.
      cache: 100_000,
    };
    return app.createRateLimit(options);
  };
  const perAccountAndAddress = perAccountLimit(
    config.loginAttemptsPerAccountAndAddress,
    (request) => `login-account-address:${accountKey(request)}:${normalizeIP(request.ip)}`,
  );
  const perAccount = perAccountLimit(config.loginAttemptsPerAccount, (request) => `login-account:${accountKey(request)}`);

  app.addHook('onRequest', async (request) => {
    if (!request.routeOptions.config.checksPassword) return;
    await refuseOverLimit(perAddress, request, (max) => `More than ${max} logins and registrations per minute from this address`);
  });
  // preHandler: the body is parsed and validated by then, so the email is there.
  app.addHook('preHandler', async (request) => {
    if (!request.routeOptions.config.loginAccountOf) return;
    await refuseOverLimit(perAccountAndAddress, request, (max) => `More than ${max} login attempts for this account from this address; wait until the window ends`);
    await refuseOverLimit(perAccount, request, (max) => `More than ${max} login attempts for this account; wait until the window ends`);
  });
}

/**
 * Counts the request; RATE_LIMITED with Retry-After once over the limit. A counter store that
 * does not answer lets the request through (skipOnError, as the REST limit): the limits
 * protect the service, their outage must not take logins down.
 */
export async function refuseOverLimit(limiter: Limiter, request: FastifyRequest, detail: (max: number) => string): Promise<void> {
  let counted;
  try {
    counted = await limiter(request);
  } catch (error) {
    request.log.warn({ err: error }, 'rate-limit store does not answer; letting the request through');
    return;
  }
  if (counted.isAllowed || !counted.isExceeded) return;
  throw new AppError('RATE_LIMITED', `${detail(counted.max)}; retry in ${counted.ttlInSeconds} s`, { retryAfterSeconds: counted.ttlInSeconds });
}
