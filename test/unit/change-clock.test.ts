import { describe, expect, it } from 'vitest';
import { fullTransactionId } from '../../src/storage/change-clock.ts';

describe('the 64-bit transaction id of a 32-bit one from pg_locks', () => {
  const epoch = 1n << 32n;
  it('is in the epoch of the next id when it is a little behind or ahead of it', () => {
    expect(fullTransactionId(1_000n, 3n * epoch + 1_500n)).toBe(3n * epoch + 1_000n);
    expect(fullTransactionId(1_600n, 3n * epoch + 1_500n)).toBe(3n * epoch + 1_600n);
  });
  it('is in the epoch before when the 32-bit counter wrapped since it was assigned', () => {
    expect(fullTransactionId(epoch - 3n, 3n * epoch + 5n)).toBe(3n * epoch - 3n);
  });
  it('is in the epoch after when the next id is just before the wrap', () => {
    expect(fullTransactionId(2n, 4n * epoch - 10n)).toBe(4n * epoch + 2n);
  });
});
