import { generateKeyPairSync, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, startAuthNode } from '../helpers/auth.ts';
import { TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';

/** User accounts: register, log in, rotating refresh tokens with reuse detection, logout, /me. */
describe('accounts', () => {
  let node: TestNode;
  let anonymous: RestClient;
  let db: pg.Pool;

  beforeAll(async () => {
    node = await startAuthNode();
    anonymous = restClient(`${node.url}/v1`);
    db = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
  });
  afterAll(async () => {
    await db?.end();
    await node?.close();
  });

  const freshEmail = (label: string) => `${label}-${randomBytes(6).toString('hex')}@example.com`;
  const password = () => `pw-${randomBytes(12).toString('hex')}`;
  const me = (accessToken: string) => restAs(node, accessToken).get('/v1/me');

  async function register(label: string) {
    const credentials = { email: freshEmail(label), password: password() };
    const registered = await anonymous.post('/auth/register', { ...credentials, name: label });
    expect(registered.status).toBe(201);
    return { ...credentials, session: registered.body as { user: { id: string }; accessToken: string; refreshToken: string } };
  }

  /** The audit events of one actor (the audit log writes in the background, so wait for them). */
  async function auditOf(actor: string, kind: string, atLeast = 1) {
    for (let attempt = 0; ; attempt += 1) {
      const { rows } = await db.query('SELECT kind, actor, ip, details FROM audit_events WHERE actor = $1 AND kind = $2', [actor, kind]);
      if (rows.length >= atLeast || attempt > 50) return rows;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('registers: 201 with a session, the email trimmed and lower-cased, and /me shows the personal workspace', async () => {
    const email = freshEmail('register');
    const secret = password();
    const registered = await anonymous.post('/auth/register', { email: `  ${email.toUpperCase()} `, password: secret, name: 'Ada' });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({
      user: { id: expect.any(String), email, name: 'Ada', createdAt: expect.any(String), emailVerifiedAt: null },
      accessToken: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
      refreshToken: expect.stringMatching(/^tdr_[\w-]{43}$/),
      tokenType: 'Bearer',
      expiresIn: 900,
    });

    // The token lives what expiresIn says (15 minutes), not a thousand times longer.
    const claims = JSON.parse(Buffer.from(registered.body.accessToken.split('.')[1], 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(900);
    // Issuer and audience are in every token we issue: verification requires them.
    expect(claims).toMatchObject({ sub: registered.body.user.id, iss: 'tandem', aud: 'tandem' });

    const mine = await me(registered.body.accessToken);
    expect(mine.status).toBe(200);
    expect(mine.body).toEqual({
      id: registered.body.user.id,
      email,
      name: 'Ada',
      createdAt: registered.body.user.createdAt,
      emailVerifiedAt: null,
      workspaces: [{ id: expect.any(String), name: "Ada's workspace", role: 'owner' }],
    });

    // Only a scrypt hash is stored, never the password or the refresh token itself.
    const { rows } = await db.query('SELECT password_hash FROM users WHERE id = $1', [registered.body.user.id]);
    expect(rows[0].password_hash).toMatch(/^scrypt\$/);
    expect(rows[0].password_hash).not.toContain(secret);
    const tokens = await db.query('SELECT token_hash FROM refresh_tokens WHERE user_id = $1', [registered.body.user.id]);
    expect(tokens.rows).toHaveLength(1);
    expect(tokens.rows[0].token_hash).not.toBe(registered.body.refreshToken);
    expect(await auditOf(`user:${registered.body.user.id}`, 'user.registered')).toHaveLength(1);
  });

  it('names the personal workspace "Personal workspace" when no name is given (not after the email: guests see it)', async () => {
    const email = freshEmail('noname');
    const registered = await anonymous.post('/auth/register', { email, password: password() });
    expect(registered.status).toBe(201);
    expect(registered.body.user.name).toBe('');
    expect((await me(registered.body.accessToken)).body.workspaces).toEqual([
      { id: expect.any(String), name: 'Personal workspace', role: 'owner' },
    ]);
  });

  it('refuses a second account for one email (whatever its case): 409 EMAIL_TAKEN, also when two race', async () => {
    const { email } = await register('dup');
    const again = await anonymous.post('/auth/register', { email: email.toUpperCase(), password: password() });
    expect([again.status, again.body.code]).toEqual([409, 'EMAIL_TAKEN']);

    const racing = freshEmail('race');
    const results = await Promise.all([1, 2, 3].map(() => anonymous.post('/auth/register', { email: racing, password: password() })));
    expect(results.map((result) => result.status).sort()).toEqual([201, 409, 409]);
    const { rows } = await db.query('SELECT count(*)::int AS n FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id JOIN users u ON u.id = m.user_id WHERE u.email = $1', [racing]);
    expect(rows[0].n).toBe(1);
  });

  it('logs in with the right password (email in any case); a wrong password and an unknown email get one answer', async () => {
    const user = await register('login');
    const login = await anonymous.post('/auth/login', { email: ` ${user.email.toUpperCase()}`, password: user.password });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ user: { id: user.session.user.id, email: user.email }, tokenType: 'Bearer', expiresIn: 900 });
    expect((await me(login.body.accessToken)).status).toBe(200);
    // A login is a new session: another refresh token than the registration's.
    expect(login.body.refreshToken).not.toBe(user.session.refreshToken);

    const wrongPassword = await anonymous.post('/auth/login', { email: user.email, password: `${user.password}x` });
    const unknownEmail = await anonymous.post('/auth/login', { email: freshEmail('nobody'), password: user.password });
    for (const refused of [wrongPassword, unknownEmail]) {
      expect(refused.status).toBe(401);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    const comparable = ({ title, detail, code, status, type }: Record<string, unknown>) => ({ title, detail, code, status, type });
    expect(comparable(wrongPassword.body)).toEqual(comparable(unknownEmail.body));
    expect(wrongPassword.body.code).toBe('UNAUTHORIZED');

    const actor = `user:${user.session.user.id}`;
    expect(await auditOf(actor, 'user.login')).toHaveLength(1);
    const failed = await auditOf(actor, 'user.login_failed');
    expect(failed).toHaveLength(1);
    expect(JSON.stringify(failed)).not.toContain(user.password);
  });

  it('refresh rotates; the spent token presented again ends the whole family, its newest token included', async () => {
    const user = await register('rotate');
    const first = await anonymous.post('/auth/refresh', { refreshToken: user.session.refreshToken });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ user: { id: user.session.user.id, email: user.email }, tokenType: 'Bearer', expiresIn: 900 });
    expect(first.body.refreshToken).toMatch(/^tdr_/);
    expect(first.body.refreshToken).not.toBe(user.session.refreshToken);
    expect((await me(first.body.accessToken)).status).toBe(200);

    const second = await anonymous.post('/auth/refresh', { refreshToken: first.body.refreshToken });
    expect(second.status).toBe(200);
    // Another session of the same user (its own family) must survive what follows.
    const otherSession = await anonymous.post('/auth/login', { email: user.email, password: user.password });

    // The registration's token again: a reuse.
    const reused = await anonymous.post('/auth/refresh', { refreshToken: user.session.refreshToken });
    expect([reused.status, reused.body.code]).toEqual([401, 'UNAUTHORIZED']);
    const newest = await anonymous.post('/auth/refresh', { refreshToken: second.body.refreshToken });
    expect([newest.status, newest.body.code]).toEqual([401, 'UNAUTHORIZED']);
    expect(await auditOf(`user:${user.session.user.id}`, 'refresh_token.reused', 2)).toHaveLength(2);

    const { rows } = await db.query(
      'SELECT count(*) FILTER (WHERE revoked_at IS NULL)::int AS live FROM refresh_tokens WHERE user_id = $1',
      [user.session.user.id],
    );
    expect(rows[0].live).toBe(1);
    expect((await anonymous.post('/auth/refresh', { refreshToken: otherSession.body.refreshToken })).status).toBe(200);
  });

  it('two concurrent refreshes with one token: exactly one succeeds', async () => {
    const user = await register('concurrent');
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => anonymous.post('/auth/refresh', { refreshToken: user.session.refreshToken })),
    );
    const statuses = results.map((result) => result.status).sort();
    expect(statuses).toEqual([200, 401, 401, 401]);
    // The losers presented a spent token: the family, the winner's new token included, is revoked.
    const winner = results.find((result) => result.status === 200)!;
    expect((await anonymous.post('/auth/refresh', { refreshToken: winner.body.refreshToken })).status).toBe(401);
  });

  it('an expired refresh token is refused', async () => {
    const user = await register('expired');
    await db.query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1", [user.session.user.id]);
    const refused = await anonymous.post('/auth/refresh', { refreshToken: user.session.refreshToken });
    expect([refused.status, refused.body.code]).toEqual([401, 'UNAUTHORIZED']);
    expect(refused.body.detail).toMatch(/expired/);
  });

  it('unknown and malformed refresh tokens are refused', async () => {
    for (const refreshToken of [`tdr_${randomBytes(32).toString('base64url')}`, 'tdm_not-a-refresh-token', 'x']) {
      const refused = await anonymous.post('/auth/refresh', { refreshToken });
      expect([refused.status, refused.body.code]).toEqual([401, 'UNAUTHORIZED']);
    }
  });

  it('logout ends the session (204), and answers 204 for tokens it does not know', async () => {
    const user = await register('logout');
    const refreshed = await anonymous.post('/auth/refresh', { refreshToken: user.session.refreshToken });
    const logout = await anonymous.post('/auth/logout', { refreshToken: refreshed.body.refreshToken });
    expect(logout.status).toBe(204);
    expect(logout.body).toBe('');
    expect((await anonymous.post('/auth/refresh', { refreshToken: refreshed.body.refreshToken })).status).toBe(401);
    expect(await auditOf(`user:${user.session.user.id}`, 'user.logout')).toHaveLength(1);

    expect((await anonymous.post('/auth/logout', { refreshToken: `tdr_${randomBytes(32).toString('base64url')}` })).status).toBe(204);
    expect((await anonymous.post('/auth/logout', { refreshToken: 'whatever' })).status).toBe(204);
    expect((await anonymous.post('/auth/logout', { refreshToken: refreshed.body.refreshToken })).status).toBe(204);
  });

  it('refuses an access token whose signature was changed', async () => {
    const user = await register('tamper');
    const [header, payload, signature] = user.session.accessToken.split('.') as [string, string, string];
    // A character in the middle: the last one may only carry padding bits.
    const middle = Math.floor(signature.length / 2);
    const flipped = `${signature.slice(0, middle)}${signature[middle] === 'A' ? 'B' : 'A'}${signature.slice(middle + 1)}`;
    const refused = await me(`${header}.${payload}.${flipped}`);
    expect([refused.status, refused.body.code]).toEqual([401, 'UNAUTHORIZED']);
    // And a payload naming another user under the original signature.
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: 'someone-else' })).toString('base64url');
    expect((await me(`${header}.${forged}.${signature}`)).status).toBe(401);
    expect((await anonymous.get('/me')).status).toBe(401);
  });

  it('validation: 400 VALIDATION_FAILED listing every problem; no unknown fields', async () => {
    const bad = await anonymous.post('/auth/register', { email: 'not an email', password: 'short', name: 7, admin: true });
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const paths = (bad.body.details as { path: string; message: string }[]).map((problem) => problem.path);
    expect(paths).toEqual(expect.arrayContaining(['/email', '/password', '/name']));
    expect(JSON.stringify(bad.body.details)).toMatch(/additional/i);

    const tooLong = await anonymous.post('/auth/register', { email: freshEmail('long'), password: 'x'.repeat(257) });
    expect([tooLong.status, tooLong.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const empty = await anonymous.post('/auth/login', {});
    expect([empty.status, empty.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(empty.body.details.length).toBeGreaterThanOrEqual(2);
    expect((await anonymous.post('/auth/login', { email: 'a@b', password: 1 })).status).toBe(400);
    expect((await anonymous.post('/auth/refresh', {})).status).toBe(400);
    expect((await anonymous.post('/auth/logout', { refreshToken: 'x', more: 1 })).status).toBe(400);
  });

  it('/me answers for an API key\'s user; a document key belongs to no user (403)', async () => {
    const user = await register('me-keys');
    const owner = restAs(node, user.session.accessToken);
    const apiKey = await owner.post('/v1/api-keys', { scopes: ['read'] });
    expect(apiKey.status).toBe(201);
    const viaKey = await restAs(node, apiKey.body.key).get('/v1/me');
    expect([viaKey.status, viaKey.body.id]).toEqual([200, user.session.user.id]);

    const created = await owner.post('/v1/documents', { id: uniqueDocId('me-keys') });
    expect(created.status).toBe(201);
    const viaDocumentKey = await restAs(node, created.body.writeKey).get('/v1/me');
    expect([viaDocumentKey.status, viaDocumentKey.body.code, viaDocumentKey.body.detail]).toEqual([403, 'FORBIDDEN', 'a document key belongs to no user']);
  });

  it('/me of a deleted user is 404 USER_NOT_FOUND, and their refresh tokens are gone', async () => {
    const user = await register('deleted');
    await db.query('DELETE FROM users WHERE id = $1', [user.session.user.id]);
    const gone = await me(user.session.accessToken);
    expect([gone.status, gone.body.code]).toEqual([404, 'USER_NOT_FOUND']);
    expect((await anonymous.post('/auth/refresh', { refreshToken: user.session.refreshToken })).status).toBe(401);
  });
});

describe('a node that only verifies tokens (JWT_PUBLIC_KEY without JWT_PRIVATE_KEY)', () => {
  let node: TestNode;

  beforeAll(async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    node = await startAuthNode({ JWT_SECRET: '', JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }) as string });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('answers register, login and refresh with 501 LOGIN_UNAVAILABLE', async () => {
    const api = restClient(`${node.url}/v1`);
    const email = `verify-only-${randomBytes(6).toString('hex')}@example.com`;
    const answers = [
      await api.post('/auth/register', { email, password: 'long enough password' }),
      await api.post('/auth/login', { email, password: 'long enough password' }),
      await api.post('/auth/refresh', { refreshToken: `tdr_${randomBytes(32).toString('base64url')}` }),
    ];
    for (const answer of answers) expect([answer.status, answer.body.code]).toEqual([501, 'LOGIN_UNAVAILABLE']);
    const { rows } = await (async () => {
      const db = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await db.connect();
      try {
        return await db.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [email]);
      } finally {
        await db.end();
      }
    })();
    expect(rows[0].n).toBe(0);
  });
});
