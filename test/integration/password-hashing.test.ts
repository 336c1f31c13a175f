import { randomBytes, scryptSync } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthNode } from '../helpers/auth.ts';
import { TEST_DATABASE_URL, type TestNode } from '../helpers/node.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';

/**
 * Issue 16, finding 16: passwords are hashed at OWASP's scrypt cost (N = 2^17, r = 8, p = 1),
 * and hashes stored at an older, lower cost keep working and are upgraded at the next login.
 * The node runs with the shipped cost (test nodes otherwise hash cheaply, see helpers/node.ts).
 */
describe('password hashing at the shipped cost', () => {
  let node: TestNode;
  let anonymous: RestClient;
  let db: pg.Pool;

  beforeAll(async () => {
    node = await startAuthNode({ PASSWORD_SCRYPT_N: '' });
    anonymous = restClient(`${node.url}/v1`);
    db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  });
  afterAll(async () => {
    await db?.end();
    await node?.close();
  });

  const passwordHashOf = async (userId: string) =>
    (await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [userId])).rows[0]!.password_hash;

  it('stores new passwords as scrypt N=2^17, r=8, p=1', async () => {
    const email = `owasp-${randomBytes(6).toString('hex')}@example.com`;
    const registered = await anonymous.post('/auth/register', { email, password: 'a long enough password' });
    expect(registered.status).toBe(201);
    expect(await passwordHashOf(registered.body.user.id)).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{86}$/);
  });

  it('logs in with a hash stored at the old cost (2^15) and stores it again at the current cost', async () => {
    const email = `old-hash-${randomBytes(6).toString('hex')}@example.com`;
    const password = 'an old but good password';
    const registered = await anonymous.post('/auth/register', { email, password: 'replaced below' });
    expect(registered.status).toBe(201);
    const userId = registered.body.user.id as string;
    // What src/access/passwords.ts wrote before the cost was raised.
    const salt = randomBytes(16);
    const key = scryptSync(password.normalize('NFC'), salt, 64, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    const old = ['scrypt', 32768, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
    await db.query('UPDATE users SET password_hash = $1 WHERE id = $2', [old, userId]);

    expect((await anonymous.post('/auth/login', { email, password: 'a wrong password' })).status).toBe(401);
    expect(await passwordHashOf(userId)).toBe(old);

    expect((await anonymous.post('/auth/login', { email, password })).status).toBe(200);
    const upgraded = await passwordHashOf(userId);
    expect(upgraded).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(upgraded).not.toContain(salt.toString('base64url'));
    expect((await anonymous.post('/auth/login', { email, password })).status).toBe(200);
    expect(await passwordHashOf(userId)).toBe(upgraded);
  });
});
