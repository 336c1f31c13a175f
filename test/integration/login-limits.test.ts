import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { TEST_DATABASE_URL, type TestNode } from '../helpers/node.ts';
import { TEST_REDIS_URL } from '../helpers/ports.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';

/**
 * Issue 16, finding 5: password guessing. The routes that run scrypt (login, register) have a
 * small budget per client address, whatever token the request carries; and each account
 * takes only so many login attempts per window, from however many addresses they come. The
 * nodes believe one X-Forwarded-For hop (TRUST_PROXY=1), so each request can come from an
 * address of its own, as from a botnet; users are made on a setup node without those limits.
 */

/** An address nobody else in this run uses (TEST-NET-2, random low bytes). */
const freshAddress = () => `198.51.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
const from = (address: string) => ({ 'x-forwarded-for': address });
const freshEmail = (label: string) => `${label}-${randomBytes(6).toString('hex')}@example.com`;

const LIMITS = {
  TRUST_PROXY: '1',
  PASSWORD_RATE_LIMIT_PER_MINUTE: '3',
  LOGIN_ATTEMPTS_PER_ACCOUNT: '3',
  LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS: '2',
  LOGIN_ATTEMPT_WINDOW_SECONDS: '5',
};

describe('login and registration limits', () => {
  let setup: TestNode;
  let node: TestNode;
  let api: RestClient;
  let db: pg.Pool;
  beforeAll(async () => {
    setup = await startAuthNode();
    node = await startAuthNode(LIMITS);
    api = restClient(`${node.url}/v1`);
    db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  });
  afterAll(async () => {
    await db?.end();
    await node?.close();
    await setup?.close();
  });

  const login = (user: { email: string; password: string }, address = freshAddress(), headers: Record<string, string> = {}) =>
    api.post('/auth/login', { email: user.email, password: user.password }, { ...from(address), ...headers });

  /** The audit events of one kind for an actor, once at least `atLeast` are written (the audit log writes in the background). */
  async function auditCount(actor: string, kind: string, atLeast: number): Promise<number> {
    for (let attempt = 0; ; attempt += 1) {
      const { rows } = await db.query('SELECT count(*)::int AS n FROM audit_events WHERE actor = $1 AND kind = $2', [actor, kind]);
      if (rows[0].n >= atLeast || attempt > 100) return rows[0].n;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('gives logins and registrations from one address one small budget, whatever token they carry', async () => {
    const address = freshAddress();
    const user = { email: freshEmail('budget'), password: 'a long enough password' };
    expect((await api.post('/auth/register', user, from(address))).status).toBe(201);
    // A made-up bearer token per attempt used to open a fresh bucket each time.
    expect((await login({ ...user, password: 'wrong 1' }, address, { authorization: `Bearer junk${randomBytes(8).toString('hex')}` })).status).toBe(401);
    expect((await login({ ...user, password: 'wrong 2' }, address, { authorization: `Bearer junk${randomBytes(8).toString('hex')}` })).status).toBe(401);

    const refused = await api.post('/auth/register', { email: freshEmail('budget'), password: 'a long enough password' }, from(address));
    expect([refused.status, refused.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await login(user, address)).status).toBe(429);
    // Another address has its own budget.
    expect((await login(user)).status).toBe(200);
  });

  it('refuses an account\'s logins for the rest of the window after N attempts from rotating addresses, the right password included, without checking it', async () => {
    const victim = await signUp(setup, 'victim');
    const bystander = await signUp(setup, 'bystander');
    for (let i = 0; i < 3; i++) expect((await login({ ...victim, password: `guess ${i}` })).status).toBe(401);

    const guess = await login({ ...victim, password: 'guess 3' });
    expect([guess.status, guess.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect(guess.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(guess.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(5);
    // The owner waits too: the limit cannot tell them from the guesser.
    expect((await login(victim)).status).toBe(429);
    // Other accounts, from the same addresses or any other, are not held up.
    expect((await login(bystander)).status).toBe(200);

    // Once the window is over, the right password works again; the refused attempts were
    // never checked against the password (no failed login recorded for them).
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    expect((await login(victim)).status).toBe(200);
    expect(await auditCount(`user:${victim.id}`, 'user.login', 1)).toBe(1);
    expect(await auditCount(`user:${victim.id}`, 'user.login_failed', 3)).toBe(3);
  });

  it("a guesser on one address is stopped there: the owner logs in from their own", async () => {
    const owner = await signUp(setup, 'owner');
    const guesser = freshAddress();
    for (let i = 0; i < 2; i++) expect((await login({ ...owner, password: `guess ${i}` }, guesser)).status).toBe(401);
    const third = await login({ ...owner, password: 'guess 2' }, guesser);
    expect([third.status, third.body.code]).toEqual([429, 'RATE_LIMITED']);
    expect((await login(owner, guesser)).status).toBe(429);
    expect((await login(owner)).status).toBe(200);
  });

  it('limits an email that has no account the same way, so the limit tells nothing', async () => {
    const nobody = { email: freshEmail('nobody'), password: 'whatever it is' };
    for (let i = 0; i < 3; i++) expect((await login(nobody)).status).toBe(401);
    expect((await login(nobody)).status).toBe(429);
    // The email is matched however it is written.
    expect((await login({ ...nobody, email: ` ${nobody.email.toUpperCase()}` })).status).toBe(429);
  });
});

describe('login limits shared through Redis', () => {
  let setup: TestNode;
  let nodes: TestNode[] = [];
  let redis: Redis;
  let user: TestUser;
  beforeAll(async () => {
    setup = await startAuthNode();
    const env = { ...LIMITS, LOGIN_ATTEMPT_WINDOW_SECONDS: '60', REDIS_URL: TEST_REDIS_URL };
    nodes = await Promise.all([startAuthNode(env), startAuthNode(env)]);
    redis = new Redis(TEST_REDIS_URL);
    user = await signUp(setup, 'shared-victim');
  });
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    await setup?.close();
    await redis?.quit();
  });

  it("counts an account's attempts across nodes, and keeps no email in Redis", async () => {
    const [first, second] = nodes.map((node) => restClient(`${node.url}/v1`));
    const attempt = (client: RestClient, password: string) =>
      client.post('/auth/login', { email: user.email, password }, from(freshAddress()));
    expect((await attempt(first!, 'guess 0')).status).toBe(401);
    expect((await attempt(second!, 'guess 1')).status).toBe(401);
    expect((await attempt(first!, 'guess 2')).status).toBe(401);
    expect((await attempt(second!, user.password)).status).toBe(429);
    expect((await attempt(first!, user.password)).status).toBe(429);

    const keys = await redis.keys('tandem:rate-limit:*');
    const hash = createHash('sha256').update(user.email).digest('base64url');
    expect(keys.some((key) => key.endsWith(`login-account:${hash}`))).toBe(true);
    expect(keys.filter((key) => key.includes(user.email) || key.includes(user.email.split('@')[0]!))).toEqual([]);
  });
});
