import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../helpers/auth.ts';
import { hocuspocusClient, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { uniqueDocId } from '../helpers/node.ts';
import { restClient } from '../helpers/rest.ts';
import { killAllServerProcesses, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';
import { hocuspocusAuth, yWebsocketOutcome } from '../helpers/socket-auth.ts';

/**
 * No secret reaches the logs: the real server process at debug level, through every
 * credential path (register, log in, refresh, keys, socket tokens, sockets with ?token=,
 * refusals), then every captured line is searched for every secret it handled.
 */
describe('logs carry no secrets', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess(
      { kind: 'postgres' },
      { env: { AUTH: 'on', JWT_SECRET: TEST_JWT_SECRET, ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'debug' } },
    );
  });
  afterAll(async () => {
    await killAllServerProcesses();
  });

  it('after register, login, refresh, keys and sockets, no log line holds a password, token or key', async () => {
    const anonymous = restClient(server.url);
    const email = `logs-${Date.now()}@example.com`;
    const password = `correct horse battery ${Date.now()}`;
    const secrets: string[] = [TEST_JWT_SECRET, TEST_ADMIN_TOKEN, password];

    const registered = await anonymous.post('/v1/auth/register', { email, password });
    expect(registered.status).toBe(201);
    secrets.push(registered.body.accessToken, registered.body.refreshToken);
    expect((await anonymous.post('/v1/auth/login', { email, password: `${password}-wrong` })).status).toBe(401);
    secrets.push(`${password}-wrong`);
    const login = await anonymous.post('/v1/auth/login', { email, password });
    secrets.push(login.body.accessToken, login.body.refreshToken);
    const refreshed = await anonymous.post('/v1/auth/refresh', { refreshToken: login.body.refreshToken });
    secrets.push(refreshed.body.accessToken, refreshed.body.refreshToken);
    // Reusing a spent refresh token (an audit event) must not log it either.
    expect((await anonymous.post('/v1/auth/refresh', { refreshToken: login.body.refreshToken })).status).toBe(401);

    const user = restClient(server.url, { authorization: `Bearer ${registered.body.accessToken}` });
    const id = uniqueDocId('logs');
    const created = await user.post('/v1/documents', { id, content: 'x' });
    secrets.push(created.body.readKey, created.body.writeKey);
    const apiKey = await user.post('/v1/api-keys', { scopes: ['read'] });
    secrets.push(apiKey.body.key);
    const rotated = await user.post(`/v1/documents/${id}/keys`);
    secrets.push(rotated.body.readKey, rotated.body.writeKey);
    const socketToken = (await user.post('/v1/ws-token', { documentId: id })).body.token as string;
    secrets.push(socketToken);

    const y = yWebsocketClient(server.wsUrl, id, { token: rotated.body.writeKey });
    const h = hocuspocusClient(server.wsUrl, id, { token: apiKey.body.key });
    await Promise.all([whenSynced(y.provider), whenSynced(h.provider)]);
    y.provider.destroy();
    h.provider.destroy();
    await yWebsocketOutcome(server.wsUrl, id, socketToken).catch(() => undefined);
    // Refused credentials are logged as refusals, never as themselves.
    expect(await yWebsocketOutcome(server.wsUrl, id, created.body.writeKey)).toMatchObject({ code: 4401 });
    expect(await hocuspocusAuth(server.wsUrl, id, socketToken)).toMatchObject({ authenticated: false });
    expect((await restClient(server.url, { authorization: `Bearer ${created.body.readKey}` }).get(`/v1/documents/${id}`)).status).toBe(401);
    expect((await user.post('/v1/auth/logout', { refreshToken: refreshed.body.refreshToken })).status).toBe(204);

    // Email verification: the operator's token, and the tdv_ token it gets to deliver.
    const operator = restClient(server.url, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    const verificationToken = (await operator.post(`/v1/admin/users/${registered.body.user.id}/verification-token`)).body.token as string;
    secrets.push(verificationToken);
    expect((await anonymous.post('/v1/auth/verify-email', { token: verificationToken })).status).toBe(200);
    expect((await anonymous.post('/v1/auth/verify-email', { token: verificationToken })).status).toBe(400);

    await new Promise((resolve) => setTimeout(resolve, 300));
    const captured = `${server.logs.map((line) => JSON.stringify(line)).join('\n')}\n${server.stderr()}`;
    expect(captured).toContain('"url":"/ws/'); // the socket requests were logged...
    expect(captured).toContain('token=[redacted]'); // ...with their token blanked
    expect(captured).toContain('audit: user.login_failed');
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(captured.includes(secret), `a log line contains ${secret.slice(0, 6)}…`).toBe(false);
    }
  });
});
