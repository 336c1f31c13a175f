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
  return new Bucket(options.perSecond, options.burst, options.now ?? performanceNow);
}

const performanceNow = () => performance.now();

/**
 * A class rather than closures: every open socket holds at least one bucket for as long as
 * it is open, and methods on a prototype cost nothing per bucket (five closures and their
 * context were ~400 B of each idle socket, bench S4).
 */
class Bucket implements TokenBucket {
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  constructor(perSecond: number, burst: number, now: () => number) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.now = now;
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const time = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((time - this.last) / 1000) * this.perSecond);
    this.last = time;
  }

  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  ready(): boolean {
    this.refill();
    return this.tokens >= 1;
  }

  msUntilReady(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.perSecond) * 1000;
  }

  full(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }
}
