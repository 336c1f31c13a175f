import { describe, expect, it } from 'vitest';
import { createTokenBucket } from '../../src/http/token-bucket.ts';

/** A bucket on a clock the test moves by hand (milliseconds). */
function bucketAt(perSecond: number, burst: number) {
  let now = 0;
  const bucket = createTokenBucket({ perSecond, burst, now: () => now });
  return {
    take: () => bucket.take(),
    advance(ms: number) {
      now += ms;
    },
    takeAll() {
      let taken = 0;
      while (bucket.take()) taken++;
      return taken;
    },
  };
}

describe('token bucket for socket messages', () => {
  it('starts full: a burst of `burst` passes at once, then nothing', () => {
    const bucket = bucketAt(10, 20);
    expect(bucket.takeAll()).toBe(20);
    expect(bucket.take()).toBe(false);
  });

  it('refills at the sustained rate, including fractions of a token', () => {
    const bucket = bucketAt(10, 20);
    bucket.takeAll();
    bucket.advance(50); // half a token
    expect(bucket.take()).toBe(false);
    bucket.advance(50);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    bucket.advance(1_000);
    expect(bucket.takeAll()).toBe(10);
  });

  it('never holds more than `burst`, however long the socket was quiet', () => {
    const bucket = bucketAt(10, 20);
    bucket.advance(3_600_000);
    expect(bucket.takeAll()).toBe(20);
  });

  it('lets a steady sender at the rate through indefinitely', () => {
    const bucket = bucketAt(10, 20);
    bucket.takeAll();
    for (let i = 0; i < 1_000; i++) {
      bucket.advance(100);
      expect(bucket.take()).toBe(true);
    }
  });
});

describe('token bucket: looking without taking', () => {
  function clockedBucket(perSecond: number, burst: number) {
    let now = 0;
    const bucket = createTokenBucket({ perSecond, burst, now: () => now });
    return { bucket, advance: (ms: number) => (now += ms) };
  }

  it('ready() says whether take() would succeed, and takes nothing', () => {
    const { bucket } = clockedBucket(10, 2);
    expect(bucket.ready()).toBe(true);
    expect(bucket.ready()).toBe(true);
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(true);
    expect(bucket.ready()).toBe(false);
  });

  it('msUntilReady() is the wait for the next whole token', () => {
    const { bucket, advance } = clockedBucket(10, 2);
    expect(bucket.msUntilReady()).toBe(0);
    bucket.take();
    bucket.take();
    expect(bucket.msUntilReady()).toBeCloseTo(100);
    advance(40);
    expect(bucket.msUntilReady()).toBeCloseTo(60);
    advance(60);
    expect(bucket.msUntilReady()).toBe(0);
  });

  it('full() once it has refilled to its burst', () => {
    const { bucket, advance } = clockedBucket(10, 2);
    expect(bucket.full()).toBe(true);
    bucket.take();
    expect(bucket.full()).toBe(false);
    advance(100);
    expect(bucket.full()).toBe(true);
  });
});
