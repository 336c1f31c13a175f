import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { restClient } from '../helpers/rest.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';
import { hocuspocusAuth, yWebsocketOutcome } from '../helpers/socket-auth.ts';

/**
 * What an ordinary account learns about documents it has no access to: nothing. Not their
 * titles through a key "limited" to them, not even whether their ids exist.
 */
describe('documents a caller may not see stay invisible', () => {
  let node: TestNode;
  let victim: TestUser;
  let attacker: TestUser;
  let secretId: string;
  const secretTitle = 'Acquisition plan';

  beforeAll(async () => {
    node = await startAuthNode();
    [victim, attacker] = await Promise.all([signUp(node, 'privacy-victim'), signUp(node, 'privacy-attacker')]);
    secretId = uniqueDocId('privacy-secret');
    expect((await victim.rest.post('/v1/documents', { id: secretId, title: secretTitle, content: 'numbers' })).status).toBe(201);
  });
  afterAll(async () => {
    await node?.close();
  });

  async function mcpResources(token: string): Promise<string> {
    const client = new Client({ name: 'privacy-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${node.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }),
    );
    try {
      return JSON.stringify(await client.listResources());
    } finally {
      await client.close();
    }
  }

  it('an API key cannot be limited to a document its user may not read', async () => {
    const made = await attacker.rest.post('/v1/api-keys', { name: 'peek', scopes: ['read'], documentIds: [secretId] });
    expect([made.status, made.body.code]).toEqual([404, 'DOC_NOT_FOUND']);
    // Refused the same way as an id that does not exist, so the answer tells nothing either.
    const unknown = await attacker.rest.post('/v1/api-keys', { name: 'peek', scopes: ['read'], documentIds: [uniqueDocId('none')] });
    expect([unknown.status, unknown.body.code, unknown.body.detail]).toEqual([404, 'DOC_NOT_FOUND', made.body.detail]);
    expect((await attacker.rest.get('/v1/api-keys')).body.apiKeys).toEqual([]);
  });

  it('a limited key made while its user could read a document shows nothing of it once the share is gone', async () => {
    const shared = uniqueDocId('privacy-shared');
    expect((await victim.rest.post('/v1/documents', { id: shared, title: 'Shared for a while' })).status).toBe(201);
    expect((await victim.rest.put(`/v1/documents/${shared}/shares`, { userId: attacker.id, permission: 'read' })).status).toBe(204);
    const key = (await attacker.rest.post('/v1/api-keys', { name: 'kept', scopes: ['read'], documentIds: [shared] })).body.key as string;
    const asKey = restAs(node, key);
    expect(JSON.stringify((await asKey.get('/v1/documents')).body)).toContain('Shared for a while');

    expect((await victim.rest.delete(`/v1/documents/${shared}/shares/${attacker.id}`)).status).toBe(204);
    for (const listing of [await asKey.get('/v1/documents'), await asKey.get('/v1/sync')]) {
      expect(listing.status).toBe(200);
      expect(JSON.stringify(listing.body)).not.toContain(shared);
    }
    expect(await mcpResources(key)).not.toContain(shared);
    expect((await asKey.get(`/v1/documents/${shared}`)).status).toBe(404);
  });

  it('a document the caller has no access to answers exactly like one that does not exist', async () => {
    const missing = uniqueDocId('privacy-missing');
    for (const [method, path, body] of [
      ['get', '', undefined],
      ['patch', '', { edits: [{ append: '!' }] }],
      ['put', '', { content: 'mine now' }],
      ['delete', '', undefined],
      ['get', '/versions', undefined],
      ['get', '/comments', undefined],
    ] as const) {
      const call = (id: string) =>
        (attacker.rest[method] as (p: string, b?: unknown) => Promise<{ status: number; body: any }>)(`/v1/documents/${id}${path}`, body);
      const [existing, absent] = [await call(secretId), await call(missing)];
      expect([method, path, existing.status, existing.body.code]).toEqual([method, path, 404, 'DOC_NOT_FOUND']);
      expect(existing.body.detail).toBe(absent.body.detail);
    }
    expect(await yWebsocketOutcome(node.wsUrl, secretId, attacker.accessToken)).toEqual({ code: 4404, reason: 'DOC_NOT_FOUND' });
    expect(await hocuspocusAuth(node.wsUrl, secretId, attacker.accessToken)).toEqual({ authenticated: false, reason: 'DOC_NOT_FOUND' });
    expect((await victim.rest.get(`/v1/documents/${secretId}`)).body.content).toBe('numbers');
  });

  it('someone who may read a document but not change it is told so (403), not that it is missing', async () => {
    const readable = uniqueDocId('privacy-readable');
    expect((await victim.rest.post('/v1/documents', { id: readable })).status).toBe(201);
    expect((await victim.rest.put(`/v1/documents/${readable}/shares`, { userId: attacker.id, permission: 'read' })).status).toBe(204);
    const write = await attacker.rest.patch(`/v1/documents/${readable}`, { edits: [{ append: '!' }] });
    expect([write.status, write.body.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('a read link and a guest see people by name, never by email address', async () => {
    // Someone who never gave a name: what used to stand in for it was the address.
    const email = `nameless-${Date.now()}@example.com`;
    const registered = await restClient(node.url).post('/v1/auth/register', { email, password: 'pw-nameless-0123456789' });
    expect(registered.status).toBe(201);
    const nameless = restAs(node, registered.body.accessToken);
    const workspaceId = (await nameless.get('/v1/me')).body.workspaces[0].id as string;
    const id = uniqueDocId('privacy-names');
    const created = await nameless.post('/v1/documents', { id, content: 'text to talk about\n' });
    expect((await nameless.post(`/v1/documents/${id}/comments`, { body: 'first thoughts' })).status).toBe(201);

    const viaLink = await restAs(node, created.body.readKey).get(`/v1/documents/${id}/comments`);
    expect(viaLink.status).toBe(200);
    expect(JSON.stringify(viaLink.body)).toContain('first thoughts');
    expect(JSON.stringify(viaLink.body)).not.toContain(email);

    expect((await nameless.post(`/v1/workspaces/${workspaceId}/members`, { userId: attacker.id, role: 'guest' })).status).toBe(204);
    const members = await attacker.rest.get(`/v1/workspaces/${workspaceId}/members`);
    expect([members.status, members.body.code]).toEqual([403, 'FORBIDDEN']);
    const workspaces = await attacker.rest.get('/v1/workspaces');
    expect(JSON.stringify(workspaces.body)).toContain(workspaceId);
    expect(JSON.stringify(workspaces.body)).not.toContain(email);
  });
});
