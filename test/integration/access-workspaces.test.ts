import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signUp, startAuthNode, type TestUser, verifyEmail } from '../helpers/auth.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';
import { whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { yWebsocketOutcome } from '../helpers/socket-auth.ts';

describe('workspaces, roles, shares and API keys', () => {
  let node: TestNode;
  let owner: TestUser;
  let member: TestUser;
  let guest: TestUser;
  let outsider: TestUser;

  beforeAll(async () => {
    node = await startAuthNode();
    const users = await Promise.all(['ws-owner', 'ws-member', 'ws-guest', 'ws-outsider'].map((label) => signUp(node, label)));
    [owner, member, guest, outsider] = users as [TestUser, TestUser, TestUser, TestUser];
    // Memberships and shares by email reach verified addresses only (the others wait as invitations).
    await Promise.all([verifyEmail(node, member), verifyEmail(node, guest)]);
    expect((await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { email: member.email, role: 'member' })).status).toBe(204);
    expect((await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: guest.id, role: 'guest' })).status).toBe(204);
  });
  afterAll(async () => {
    await node?.close();
  });

  it('a guest cannot create documents in the workspace; a member can, and the owner reads them', async () => {
    const byGuest = await guest.rest.post('/v1/documents', { workspaceId: owner.workspaceId, title: 'nope' });
    expect([byGuest.status, byGuest.body.code]).toEqual([403, 'FORBIDDEN']);
    const id = uniqueDocId('ws-member-doc');
    const byMember = await member.rest.post('/v1/documents', { id, workspaceId: owner.workspaceId, content: 'team notes' });
    expect(byMember.status).toBe(201);
    expect((await owner.rest.get(`/v1/documents/${id}`)).body.content).toBe('team notes');
    // Nor can a guest or an outsider create one by connecting to a new id there... or anywhere they cannot.
    expect(await yWebsocketOutcome(node.wsUrl, id, outsider.accessToken)).toEqual({ code: 4404, reason: 'DOC_NOT_FOUND' });
  });

  it('connecting to a new id creates it in the caller\'s own workspace', async () => {
    const id = uniqueDocId('ws-connect-create');
    const client = yWebsocketClient(node.wsUrl, id, { token: member.accessToken });
    await whenSynced(client.provider);
    expect((await member.rest.get(`/v1/documents/${id}`)).status).toBe(200);
    // It is the member's (their own workspace), not the team's: the team owner does not see it.
    expect((await owner.rest.get(`/v1/documents/${id}`)).status).toBe(404);
    client.provider.destroy();
  });

  it('guests see only what is shared with them, at the level shared', async () => {
    const id = uniqueDocId('ws-shared');
    expect((await owner.rest.post('/v1/documents', { id, content: 'for guests' })).status).toBe(201);
    expect((await guest.rest.get(`/v1/documents/${id}`)).status).toBe(404);
    expect((await owner.rest.put(`/v1/documents/${id}/shares`, { email: guest.email, permission: 'read' })).status).toBe(204);
    expect((await guest.rest.get(`/v1/documents/${id}`)).body.content).toBe('for guests');
    expect((await guest.rest.patch(`/v1/documents/${id}`, { edits: [{ append: '!' }] })).status).toBe(403);
    expect((await owner.rest.get(`/v1/documents/${id}/shares`)).body.shares).toEqual([
      { userId: guest.id, email: guest.email, permission: 'read' },
    ]);
    // A guest may not manage shares, nor see the document's listing of them.
    expect((await guest.rest.get(`/v1/documents/${id}/shares`)).status).toBe(403);
    const listed = (await guest.rest.get('/v1/documents?limit=500')).body.documents.map((d: { id: string }) => d.id);
    expect(listed).toContain(id);
    expect((await owner.rest.delete(`/v1/documents/${id}/shares/${guest.id}`)).status).toBe(204);
    expect((await guest.rest.get(`/v1/documents/${id}`)).status).toBe(404);
  });

  it('listings and the change feed show only what the caller may read', async () => {
    const mine = uniqueDocId('ws-list-mine');
    expect((await outsider.rest.post('/v1/documents', { id: mine })).status).toBe(201);
    const listed = (await owner.rest.get('/v1/documents?limit=500')).body.documents.map((d: { id: string }) => d.id);
    expect(listed).not.toContain(mine);
    const feed = (await owner.rest.get('/v1/sync?limit=1000')).body.changes.map((c: { id: string }) => c.id);
    expect(feed).not.toContain(mine);
    const outsiderFeed = (await outsider.rest.get('/v1/sync?limit=1000')).body.changes.map((c: { id: string }) => c.id);
    expect(outsiderFeed).toContain(mine);
  });

  it('owners manage members; members may not; a workspace keeps an owner', async () => {
    const members = (await owner.rest.get(`/v1/workspaces/${owner.workspaceId}/members`)).body.members;
    expect(members.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([
      [owner.id, 'owner'],
      [member.id, 'member'],
      [guest.id, 'guest'],
    ]);
    const byMember = await member.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: outsider.id, role: 'member' });
    expect([byMember.status, byMember.body.code]).toEqual([403, 'FORBIDDEN']);
    expect((await outsider.rest.get(`/v1/workspaces/${owner.workspaceId}/members`)).status).toBe(404);
    const leave = await owner.rest.delete(`/v1/workspaces/${owner.workspaceId}/members/${owner.id}`);
    expect([leave.status, leave.body.code]).toEqual([409, 'LAST_OWNER']);
    const demote = await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: owner.id, role: 'admin' });
    expect([demote.status, demote.body.code]).toEqual([409, 'LAST_OWNER']);

    // An admin manages members and guests, not owners.
    expect((await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: member.id, role: 'admin' })).status).toBe(204);
    expect((await member.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: outsider.id, role: 'guest' })).status).toBe(204);
    expect((await member.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: outsider.id, role: 'owner' })).status).toBe(403);
    expect((await member.rest.delete(`/v1/workspaces/${owner.workspaceId}/members/${outsider.id}`)).status).toBe(204);
    expect((await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: member.id, role: 'member' })).status).toBe(204);
    // An address without a verified account gets an invitation, whether or not it has an account.
    const unknown = await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { email: 'nobody@example.com', role: 'member' });
    expect([unknown.status, unknown.body.invitation]).toEqual([202, { email: 'nobody@example.com', role: 'member', createdAt: expect.any(String) }]);
    const unknownId = await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: 'no-such-user', role: 'member' });
    expect([unknownId.status, unknownId.body.code]).toEqual([404, 'USER_NOT_FOUND']);
  });

  it('API keys: shown once, scoped, limited, listed without the secret, and revoked', async () => {
    const id = uniqueDocId('ws-keys');
    expect((await owner.rest.post('/v1/documents', { id, content: 'agent food' })).status).toBe(201);
    const reader = await owner.rest.post('/v1/api-keys', { name: 'reader', scopes: ['read'] });
    expect(reader.status).toBe(201);
    expect(reader.body.key).toMatch(/^tdm_/);
    const read = restAs(node, reader.body.key);
    expect((await read.get(`/v1/documents/${id}`)).status).toBe(200);
    expect((await read.patch(`/v1/documents/${id}`, { edits: [{ append: '!' }] })).status).toBe(403);
    expect((await read.post('/v1/documents', {})).status).toBe(403);

    const limited = await owner.rest.post('/v1/api-keys', { name: 'one doc', scopes: ['write'], documentIds: [id] });
    const other = uniqueDocId('ws-keys-other');
    expect((await owner.rest.post('/v1/documents', { id: other })).status).toBe(201);
    expect((await restAs(node, limited.body.key).patch(`/v1/documents/${id}`, { edits: [{ append: '!' }] })).status).toBe(200);
    expect((await restAs(node, limited.body.key).get(`/v1/documents/${other}`)).status).toBe(404);

    // A key acts within its user's own rights: an outsider's admin key cannot touch the team's document.
    const outsiderKey = await outsider.rest.post('/v1/api-keys', { scopes: ['write', 'admin'] });
    expect((await restAs(node, outsiderKey.body.key).get(`/v1/documents/${id}`)).status).toBe(404);
    // Keys do not make keys.
    expect((await restAs(node, outsiderKey.body.key).post('/v1/api-keys', { scopes: ['read'] })).status).toBe(403);

    const listed = (await owner.rest.get('/v1/api-keys')).body.apiKeys;
    expect(listed.map((k: { name: string }) => k.name)).toEqual(['reader', 'one doc']);
    expect(JSON.stringify(listed)).not.toContain(reader.body.key);
    expect(listed[0].prefix).toBe(reader.body.key.slice(0, 12));

    expect((await owner.rest.delete(`/v1/api-keys/${reader.body.id}`)).status).toBe(204);
    expect((await read.get(`/v1/documents/${id}`)).status).toBe(401);
    expect((await owner.rest.delete(`/v1/api-keys/${reader.body.id}`)).status).toBe(404);
    // Someone else's key cannot be revoked by you.
    expect((await outsider.rest.delete(`/v1/api-keys/${limited.body.id}`)).status).toBe(404);
  });
});
