import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { restAs, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { callToolOk, mcpClient } from '../helpers/mcp.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';

/**
 * Issue 16, finding 11: Idempotency-Key was global. Another user sending the same key to
 * POST /v1/documents got the first user's document id and title back; on a write, another
 * caller's retry key made their own edit vanish behind the first caller's answer. A key now
 * belongs to the caller who sent it and to the route it was sent to.
 */
describe('Idempotency-Key is the caller\'s own', () => {
  let node: TestNode;
  let alice: TestUser;
  let bob: TestUser;
  let agent: Client;

  beforeAll(async () => {
    node = await startAuthNode();
    alice = await signUp(node, 'idem-alice');
    bob = await signUp(node, 'idem-bob');
    const key = await bob.rest.post('/v1/api-keys', { name: 'agent', scopes: ['read', 'write'] });
    agent = await mcpClient(node, key.body.key);
  });
  afterAll(async () => {
    await agent?.close();
    await node?.close();
  });

  const keyed = (key: string) => ({ 'idempotency-key': key });

  it('another user sending the same key on create gets a document of their own, never the first user\'s', async () => {
    const key = `create-${uniqueDocId('k')}`;
    const first = await alice.rest.post('/v1/documents', { title: 'Acquisition plan' }, keyed(key));
    expect(first.status).toBe(201);

    const other = await bob.rest.post('/v1/documents', { title: 'Shopping list' }, keyed(key));
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
    expect(other.body.title).toBe('Shopping list');
    expect(other.body.writeKey).toMatch(/^tdk_/);
    expect(JSON.stringify(other.body)).not.toContain('Acquisition');

    // Each one's retry still answers as their first request did.
    const aliceAgain = await alice.rest.post('/v1/documents', { title: 'Acquisition plan' }, keyed(key));
    expect(aliceAgain).toMatchObject({ status: 200, body: { id: first.body.id, title: 'Acquisition plan', writeKey: null } });
    const bobAgain = await bob.rest.post('/v1/documents', { title: 'Shopping list' }, keyed(key));
    expect(bobAgain).toMatchObject({ status: 200, body: { id: other.body.id, writeKey: null } });
  });

  it('a write link holder reusing a user\'s key on the same document has their own edit applied', async () => {
    const id = uniqueDocId('idem-write');
    const created = await alice.rest.post('/v1/documents', { id, content: 'one' });
    const link = restAs(node, created.body.writeKey);
    const key = `write-${id}`;

    const mine = await alice.rest.patch(`/v1/documents/${id}`, { edits: [{ append: ' two' }] }, keyed(key));
    expect(mine.body).toMatchObject({ version: 2, changed: true });
    const theirs = await link.patch(`/v1/documents/${id}`, { edits: [{ append: ' three' }] }, keyed(key));
    expect(theirs.body).toMatchObject({ version: 3, changed: true });
    expect((await link.get(`/v1/documents/${id}`)).body.content).toBe('one two three');

    // Alice's retry is still answered once, with her version.
    expect((await alice.rest.patch(`/v1/documents/${id}`, { edits: [{ append: ' two' }] }, keyed(key))).body).toMatchObject({ version: 2 });
    expect((await link.get(`/v1/documents/${id}`)).body).toMatchObject({ version: 3, content: 'one two three' });
  });

  it('a key sent with a PATCH does not answer a PUT, nor a raw update or a restore', async () => {
    const id = uniqueDocId('idem-routes');
    await alice.rest.post('/v1/documents', { id, content: 'start' });
    const key = `routes-${id}`;
    expect((await alice.rest.patch(`/v1/documents/${id}`, { edits: [{ append: '!' }] }, keyed(key))).body).toMatchObject({ version: 2 });
    expect((await alice.rest.put(`/v1/documents/${id}`, { content: 'replaced' }, keyed(key))).body).toMatchObject({ version: 3, changed: true });
    const restored = await alice.rest.call('POST', `/v1/documents/${id}/versions/1/restore`, { headers: keyed(key) });
    expect(restored.body).toMatchObject({ version: 4, changed: true });
    expect((await alice.rest.get(`/v1/documents/${id}`)).body.content).toBe('start');

    const local = new Y.Doc();
    Y.applyUpdate(local, (await alice.rest.get(`/v1/documents/${id}/update`)).body as Uint8Array);
    const before = Y.encodeStateVector(local);
    local.getText('content').insert(0, 'raw ');
    const update = Y.encodeStateAsUpdate(local, before);
    const raw = await alice.rest.call('POST', `/v1/documents/${id}/update`, { body: update, type: 'application/octet-stream', headers: keyed(key) });
    expect(raw.body).toMatchObject({ version: 5, changed: true });
    expect((await alice.rest.get(`/v1/documents/${id}`)).body.content).toBe('raw start');
  });

  it('MCP: an agent using the key a user used on the same document gets its own edit; its own retry applies once', async () => {
    const id = uniqueDocId('idem-mcp');
    await alice.rest.post('/v1/documents', { id, content: 'notes' });
    const shared = await alice.rest.put(`/v1/documents/${id}/shares`, { userId: bob.id, permission: 'write' });
    expect(shared.status, JSON.stringify(shared.body)).toBeLessThan(300);
    const key = `mcp-${id}`;
    expect((await alice.rest.patch(`/v1/documents/${id}`, { edits: [{ append: ' by alice' }] }, keyed(key))).body).toMatchObject({ version: 2 });

    const edit = { document_id: id, edits: [{ append: ' by the agent' }], idempotency_key: key };
    expect(await callToolOk(agent, 'patch_document', edit)).toMatchObject({ version: 3, changed: true });
    expect(await callToolOk(agent, 'patch_document', edit)).toMatchObject({ version: 3 });
    expect((await alice.rest.get(`/v1/documents/${id}`)).body).toMatchObject({ version: 3, content: 'notes by alice by the agent' });
  });
});
