export interface TokenBucket {
  /** Takes one token if there is one. */
  take(): boolean;
  /** Whether a token is there, without taking it (so that several buckets can be taken from together). */
  ready(): boolean;
  /** Milliseconds until the next token is there (0 when one is). */
  msUntilReady(): number;
  /** Back to `burst` tokens: nothing was taken for long enough that the bucket is like a new one. */
  full(): boolean;
}

/**
 * Starts full (`burst` tokens) and refills continuously at `perSecond`. Written here rather
 * than taken from a package: it must answer synchronously, in the message listener, so that
 * messages reach the room in the order they arrived and one socket's bucket costs two numbers;
 * the limiters at hand (@fastify/rate-limit's stores, rate-limiter-flexible) answer through
 * callbacks or promises and keep per-key state in a shared map.
 */
export function createTokenBucket(options: { perSecond: number; burst: number; now?: () => number }): TokenBucket {
  const now = options.now ?? (() => performance.now());
  const { perSecond, burst } = options;
  let tokens = burst;
  let last = now();
  const refill = () => {
    const time = now();
    tokens = Math.min(burst, tokens + ((time - last) / 1000) * perSecond);
    last = time;
  };
  return {
    take() {
      refill();
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    ready() {
      refill();
      return tokens >= 1;
    },
    msUntilReady() {
      refill();
      return tokens >= 1 ? 0 : ((1 - tokens) / perSecond) * 1000;
    },
    full() {
      refill();
      return tokens >= burst;
    },
  };
}
