import { describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../../src/access/passwords.ts';

/** A cheap cost for the tests of behaviour; the first test runs the shipped cost. */
const cheap = createPasswordHasher({ N: 1024 });
const hashPassword = (plain: string) => cheap.hash(plain);
const verifyPassword = async (plain: string, stored: string) => (await cheap.verify(plain, stored)).ok;

describe('password hashing (scrypt)', () => {
  it("hashes at OWASP's cost by default (N=2^17, r=8, p=1: 128 MiB, past Node's default maxmem), in the self-describing form", async () => {
    const owasp = createPasswordHasher();
    const stored = await owasp.hash('correct horse battery staple');
    expect(stored).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{86}$/);
    expect(await owasp.verify('correct horse battery staple', stored)).toEqual({ ok: true, stale: false });
    expect(await owasp.verify('not the password', stored)).toEqual({ ok: false, stale: false });
  });

  it('verifies a hash stored at another cost, and calls it stale only when the password is right', async () => {
    const old = createPasswordHasher({ N: 2048 });
    const stored = await old.hash('an older password');
    expect(await cheap.verify('an older password', stored)).toEqual({ ok: true, stale: true });
    expect(await cheap.verify('a wrong password', stored)).toEqual({ ok: false, stale: false });
    expect(await old.verify('an older password', stored)).toEqual({ ok: true, stale: false });
  });

  it('refuses a wrong password, including one that differs by case or a trailing space', async () => {
    const stored = await hashPassword('hunter22hunter22');
    expect(await verifyPassword('hunter22hunter23', stored)).toBe(false);
    expect(await verifyPassword('Hunter22hunter22', stored)).toBe(false);
    expect(await verifyPassword('hunter22hunter22 ', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts: two hashes of one password differ, and both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same password'), hashPassword('same password')]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  it('treats the composed and decomposed forms of a password as one (NFC)', async () => {
    const stored = await hashPassword('caf\u00e9 au lait');
    expect(await verifyPassword('cafe\u0301 au lait', stored)).toBe(true);
  });

  it('answers false, never throws, for a tampered or foreign stored string', async () => {
    const stored = await hashPassword('tamper with me');
    const parts = stored.split('$');
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    const tampered = [
      '',
      'not a hash',
      '$2b$10$abcdefghijklmnopqrstuuJ3dVvO8cX8vYjM5bJq8hH3Y2Fj6G9xW', // bcrypt
      [...parts.slice(0, 5), flip(parts[5]!)].join('$'), // another key
      [...parts.slice(0, 4), flip(parts[4]!), parts[5]].join('$'), // another salt
      [parts[0], '2048', ...parts.slice(2)].join('$'), // another cost
      [parts[0], '1000', ...parts.slice(2)].join('$'), // N not a power of two
      [parts[0], String(2 ** 24), ...parts.slice(2)].join('$'), // a cost that would take gigabytes
      [parts[0], String(2 ** 19), ...parts.slice(2)].join('$'), // past the bound (2^18: 256 MiB)
      [parts[0], parts[1], '0', ...parts.slice(3)].join('$'),
      [parts[0], parts[1], parts[2], '-1', ...parts.slice(4)].join('$'),
      [...parts.slice(0, 5), parts[5]!.slice(0, 10)].join('$'), // truncated key
      [...parts.slice(0, 5), `${parts[5]}==`].join('$'),
      [...parts, 'extra'].join('$'),
      parts.slice(0, 5).join('$'),
      stored.replace('scrypt', 'argon2id'),
    ];
    for (const candidate of tampered) {
      await expect(verifyPassword('tamper with me', candidate), candidate).resolves.toBe(false);
    }
  });

  it('dummyVerify always fails and costs about what a real verification costs', async () => {
    // 2^14: long enough (tens of ms) for the two to be told apart if they differed.
    const hasher = createPasswordHasher({ N: 2 ** 14 });
    const dummyVerify = (plain: string) => hasher.dummyVerify(plain);
    const verifyPassword = (plain: string, stored: string) => hasher.verify(plain, stored);
    const stored = await hasher.hash('a real password');
    const time = async (run: () => Promise<unknown>) => {
      const start = performance.now();
      await run();
      return performance.now() - start;
    };
    // Warm up, then compare the medians of a few runs (one scrypt each).
    await verifyPassword('x', stored);
    await dummyVerify('x');
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      real.push(await time(() => verifyPassword('wrong password', stored)));
      dummy.push(await time(() => dummyVerify('wrong password')));
    }
    expect(await dummyVerify('a real password')).toBe(false);
    const ratio = median(dummy) / median(real);
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});
