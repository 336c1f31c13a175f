import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signTestToken, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import type { TestNode } from '../helpers/node.ts';
import { uniqueDocId } from '../helpers/node.ts';
import { authMessage, body, isYWebsocketSync, openRawSocket, SYNC_STEP2 } from '../helpers/raw-socket.ts';
import { restClient } from '../helpers/rest.ts';
import { authenticateOn, hocuspocusAuth, yWebsocketOutcome } from '../helpers/socket-auth.ts';

/**
 * The "Security" rows of failure-modes.md about credentials (RFC 8725): every bad token is
 * 401 on REST, 4401 on /ws/:id and a PermissionDenied UNAUTHORIZED on /collab.
 */
describe('credentials on REST and both socket dialects', () => {
  let node: TestNode;
  let owner: TestUser;
  let documentId: string;
  let keys: { readKey: string; writeKey: string };

  beforeAll(async () => {
    node = await startAuthNode();
    owner = await signUp(node, 'token-owner');
    documentId = uniqueDocId('tokens');
    const created = await owner.rest.post('/v1/documents', { id: documentId, content: 'secret plans' });
    expect(created.status).toBe(201);
    keys = { readKey: created.body.readKey, writeKey: created.body.writeKey };
  });
  afterAll(async () => {
    await node?.close();
  });

  const { privateKey: rsaPrivate } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const badTokens: [string, () => string][] = [
    ['alg: none', () => signTestToken({ sub: owner.id }, { algorithm: 'none' })],
    ['a wrong HS256 secret', () => signTestToken({ sub: owner.id }, { key: 'another-secret-that-is-long-enough-00000' })],
    ['RS256 when the server uses HS256', () => signTestToken({ sub: owner.id }, { algorithm: 'RS256', key: rsaPrivate.export({ type: 'pkcs8', format: 'pem' }) as string })],
    ['HS384 with the right secret', () => signTestToken({ sub: owner.id }, { algorithm: 'HS384' })],
    ['a wrong issuer', () => signTestToken({ sub: owner.id, iss: 'https://evil.example.com' })],
    ['a wrong audience', () => signTestToken({ sub: owner.id, aud: 'another-service' })],
    // Signed with the right secret: only the missing claim is wrong (a token minted for another use).
    ['no issuer', () => signTestToken({ sub: owner.id, iss: undefined })],
    ['no audience', () => signTestToken({ sub: owner.id, aud: undefined })],
    ['neither issuer nor audience', () => signTestToken({ sub: owner.id, iss: undefined, aud: undefined })],
    ['an expired token', () => signTestToken({ sub: owner.id, exp: Math.floor(Date.now() / 1000) - 60 })],
    ['a token not valid yet', () => signTestToken({ sub: owner.id, nbf: Math.floor(Date.now() / 1000) + 3600, exp: Math.floor(Date.now() / 1000) + 7200 })],
    ['no expiry', () => signTestToken({ sub: owner.id, exp: undefined })],
    ['no subject', () => signTestToken({})],
    ['garbage', () => 'not-a-token'],
    ['an unknown API key', () => 'tdm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['an unknown document key', () => 'tdk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
  ];

  it('the owner\'s own token works everywhere (the baseline the refusals are measured against)', async () => {
    expect((await owner.rest.get(`/v1/documents/${documentId}`)).status).toBe(200);
    expect(await hocuspocusAuth(node.wsUrl, documentId, owner.accessToken)).toEqual({ authenticated: true, readOnly: false });
    const socket = openRawSocket(node.wsUrl, `/ws/${documentId}?token=${owner.accessToken}`);
    await socket.opened;
    expect(await socket.close()).toMatchObject({ code: 1005 });
  });

  it.each(badTokens)('refuses %s: 401, 4401, UNAUTHORIZED', async (_label, token) => {
    const rest = await restAs(node, token()).get(`/v1/documents/${documentId}`);
    expect(rest.status).toBe(401);
    expect(rest.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(rest.body.code).toBe('UNAUTHORIZED');
    expect(await yWebsocketOutcome(node.wsUrl, documentId, token())).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
    expect(await hocuspocusAuth(node.wsUrl, documentId, token())).toEqual({ authenticated: false, reason: 'UNAUTHORIZED' });
  });

  it('refuses a missing credential, and a malformed Authorization header', async () => {
    const none = await restClient(node.url).get(`/v1/documents/${documentId}`);
    expect([none.status, none.body.code]).toEqual([401, 'UNAUTHORIZED']);
    const basic = await restClient(node.url).get(`/v1/documents/${documentId}`, { authorization: 'Basic dXNlcjpwdw==' });
    expect([basic.status, basic.body.code]).toEqual([401, 'UNAUTHORIZED']);
    expect(await yWebsocketOutcome(node.wsUrl, documentId, undefined)).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
    expect(await hocuspocusAuth(node.wsUrl, documentId, '')).toEqual({ authenticated: false, reason: 'UNAUTHORIZED' });
  });

  it('bad document ids are refused before any use, with a good credential too: 400, 4400', async () => {
    for (const bad of ['..%2F..%2Fetc', 'a%00b', 'x'.repeat(129), 'with%20space']) {
      const rest = await owner.rest.get(`/v1/documents/${bad}`);
      expect([rest.status, rest.body.code]).toEqual([400, 'INVALID_DOCUMENT_ID']);
      expect(await yWebsocketOutcome(node.wsUrl, bad, owner.accessToken)).toEqual({ code: 4400, reason: 'INVALID_DOCUMENT_ID' });
    }
    // On /collab the id is in the frame itself: the frame is malformed, the socket closes.
    const socket = openRawSocket(node.wsUrl, '/collab');
    await socket.opened;
    socket.send(authMessage('../etc', owner.accessToken));
    expect(await socket.outcome).toEqual({ code: 4400, reason: 'INVALID_DOCUMENT_ID' });
  });

  it('a document key for document A opens A but not B, which it cannot tell from a missing one: 404, 4404, DOC_NOT_FOUND', async () => {
    const other = uniqueDocId('tokens-other');
    expect((await owner.rest.post('/v1/documents', { id: other })).status).toBe(201);

    expect((await restAs(node, keys.writeKey).get(`/v1/documents/${documentId}`)).status).toBe(200);
    const rest = await restAs(node, keys.writeKey).get(`/v1/documents/${other}`);
    expect([rest.status, rest.body.code]).toEqual([404, 'DOC_NOT_FOUND']);
    expect(await yWebsocketOutcome(node.wsUrl, other, keys.writeKey)).toEqual({ code: 4404, reason: 'DOC_NOT_FOUND' });
    expect(await hocuspocusAuth(node.wsUrl, other, keys.readKey)).toEqual({ authenticated: false, reason: 'DOC_NOT_FOUND' });
    // And a key cannot create documents by connecting to a new id.
    expect(await yWebsocketOutcome(node.wsUrl, uniqueDocId('tokens-new'), keys.writeKey)).toEqual({ code: 4404, reason: 'DOC_NOT_FOUND' });
  });

  it('a read key reads but may not write over REST; the write key may', async () => {
    const read = restAs(node, keys.readKey);
    expect((await read.get(`/v1/documents/${documentId}`)).body.content).toBe('secret plans');
    const refused = await read.patch(`/v1/documents/${documentId}`, { edits: [{ append: '\nmore' }] });
    expect([refused.status, refused.body.code]).toEqual([403, 'FORBIDDEN']);
    expect((await read.delete(`/v1/documents/${documentId}`)).status).toBe(403);
    expect((await restAs(node, keys.writeKey).patch(`/v1/documents/${documentId}`, { edits: [{ append: '!' }] })).status).toBe(200);
    // Only an admin of the document may delete it, or rotate its keys.
    expect((await restAs(node, keys.writeKey).delete(`/v1/documents/${documentId}`)).status).toBe(403);
    expect((await restAs(node, keys.writeKey).post(`/v1/documents/${documentId}/keys`)).status).toBe(403);
    expect(await hocuspocusAuth(node.wsUrl, documentId, keys.readKey)).toEqual({ authenticated: true, readOnly: true });
    expect(await hocuspocusAuth(node.wsUrl, documentId, keys.writeKey)).toEqual({ authenticated: true, readOnly: false });
  });

  it('on one multiplexed socket, a failed authentication leaves no state: a good one after it works', async () => {
    const socket = openRawSocket(node.wsUrl, '/collab');
    await socket.opened;
    expect(await authenticateOn(socket, documentId, 'tdk_wrong')).toEqual({ authenticated: false, reason: 'UNAUTHORIZED' });
    expect(await authenticateOn(socket, documentId, keys.readKey)).toEqual({ authenticated: true, readOnly: true });
    // Another document on the same socket is judged on its own.
    const other = uniqueDocId('tokens-mux');
    expect((await owner.rest.post('/v1/documents', { id: other })).status).toBe(201);
    expect(await authenticateOn(socket, other, keys.readKey)).toEqual({ authenticated: false, reason: 'DOC_NOT_FOUND' });
    expect(await authenticateOn(socket, other, owner.accessToken)).toEqual({ authenticated: true, readOnly: false });
    await socket.close();
  });

  it('a one-time socket token opens one socket, once, within its document', async () => {
    const issued = await owner.rest.post('/v1/ws-token', { documentId });
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({ token: expect.stringMatching(/^tdw_/), expiresIn: 60 });
    const first = openRawSocket(node.wsUrl, `/ws/${documentId}?token=${issued.body.token}`);
    await first.opened;
    // Let in (it is answered) before the second try: the token is redeemed after the upgrade,
    // so without this, on a busy machine, the second socket could win the race for it.
    first.send(body.syncStep1(new Uint8Array([0])));
    await first.waitForMessage(isYWebsocketSync(SYNC_STEP2), 'the first socket to be answered');
    expect(await yWebsocketOutcome(node.wsUrl, documentId, issued.body.token)).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
    await first.close();

    const scoped = (await owner.rest.post('/v1/ws-token', { documentId })).body.token as string;
    const elsewhere = uniqueDocId('tokens-ws-other');
    expect((await owner.rest.post('/v1/documents', { id: elsewhere })).status).toBe(201);
    expect(await hocuspocusAuth(node.wsUrl, elsewhere, scoped)).toEqual({ authenticated: false, reason: 'FORBIDDEN' });
    // A socket token is not a REST credential.
    const any = (await owner.rest.post('/v1/ws-token', {})).body.token as string;
    expect((await restAs(node, any).get(`/v1/documents/${documentId}`)).status).toBe(401);
  });
});

describe('RS256 user tokens (JWT_PUBLIC_KEY)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  let node: TestNode;

  beforeAll(async () => {
    node = await startAuthNode({ JWT_SECRET: '', JWT_PUBLIC_KEY: publicPem, JWT_PRIVATE_KEY: privatePem });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('accepts RS256 tokens signed with the key and refuses HS256 ones keyed with the public key (algorithm confusion)', async () => {
    const user = await signUp(node, 'rs256');
    expect(user.accessToken.split('.')[0]).toBe(Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url'));
    expect((await user.rest.get('/v1/me')).status).toBe(200);
    const exp = Math.floor(Date.now() / 1000) + 600;
    const genuine = signTestToken({ sub: user.id, exp }, { algorithm: 'RS256', key: privatePem });
    expect((await restAs(node, genuine).get('/v1/me')).status).toBe(200);
    const confused = signTestToken({ sub: user.id, exp }, { algorithm: 'HS256', key: publicPem });
    expect((await restAs(node, confused).get('/v1/me')).status).toBe(401);
    expect(await yWebsocketOutcome(node.wsUrl, uniqueDocId('rs256'), confused)).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
  });
});

describe('JWT_ISSUER and JWT_AUDIENCE', () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startAuthNode({ JWT_ISSUER: 'https://tandem.example', JWT_AUDIENCE: 'tandem-api' });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('puts the configured iss and aud in the tokens it issues, and accepts only tokens that carry exactly those', async () => {
    const user = await signUp(node, 'issuer');
    const claims = JSON.parse(Buffer.from(user.accessToken.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ iss: 'https://tandem.example', aud: 'tandem-api', sub: user.id });

    const ours = { iss: 'https://tandem.example', aud: 'tandem-api' };
    expect((await restAs(node, signTestToken({ sub: user.id, ...ours })).get('/v1/me')).status).toBe(200);
    for (const claims of [
      { iss: 'tandem', aud: 'tandem' }, // the defaults, which this node does not use
      { ...ours, iss: undefined },
      { ...ours, aud: undefined },
      { ...ours, aud: ['another-service'] },
    ]) {
      const refused = await restAs(node, signTestToken({ sub: user.id, ...claims })).get('/v1/me');
      expect([refused.status, refused.body.code], JSON.stringify(claims)).toEqual([401, 'UNAUTHORIZED']);
    }
  });
});
