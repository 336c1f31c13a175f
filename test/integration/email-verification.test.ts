import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signUp, startAuthNode, TEST_ADMIN_TOKEN, type TestUser, verifyEmail } from '../helpers/auth.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';

/**
 * Issue 16, finding 13: an address is someone's only once they have shown they control it.
 * Shares and memberships by email used to go to whoever registered the address first, so an
 * attacker who registered a colleague's address before the colleague did received what was
 * shared with them. Now a share or membership by email to an address without a verified
 * account is a pending invitation, which takes effect when the address is verified (with a
 * token the operator delivers, or by the operator directly). With no mail server, tokens are
 * issued to the operator (ADMIN_TOKEN), never to the account holder.
 */
describe('email verification and invitations', () => {
  let node: TestNode;
  let owner: TestUser;
  let admin: RestClient;
  let anonymous: RestClient;

  beforeAll(async () => {
    node = await startAuthNode();
    owner = await signUp(node, 'inviter');
    admin = restClient(`${node.url}/v1/admin`, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    anonymous = restClient(`${node.url}/v1`);
  });
  afterAll(async () => {
    await node?.close();
  });

  const freshEmail = (label: string) => `${label}-${randomBytes(6).toString('hex')}@example.com`;
  const newDocument = async (label: string) => {
    const id = uniqueDocId(label);
    expect((await owner.rest.post('/v1/documents', { id, content: `for ${label}` })).status).toBe(201);
    return id;
  };
  const roleIn = async (user: TestUser, workspaceId: string) =>
    ((await user.rest.get('/v1/me')).body.workspaces as { id: string; role: string }[]).find((w) => w.id === workspaceId)?.role ?? null;
  const issueToken = async (user: TestUser) => {
    const issued = await admin.post(`/users/${user.id}/verification-token`);
    expect(issued.status).toBe(201);
    return issued.body.token as string;
  };

  it('a share by email to an address someone registered but never verified does not reach that account', async () => {
    const squatter = await signUp(node, 'squatter');
    const id = await newDocument('squatted');
    const shared = await owner.rest.put(`/v1/documents/${id}/shares`, { email: squatter.email, permission: 'write' });
    expect(shared.status).toBe(202);
    expect(shared.body).toEqual({ invitation: { email: squatter.email, permission: 'write', createdAt: expect.any(String) } });
    expect((await squatter.rest.get(`/v1/documents/${id}`)).status).toBe(404);
    expect((await owner.rest.get(`/v1/documents/${id}/shares`)).body.shares).toEqual([]);
    expect((await owner.rest.get(`/v1/documents/${id}/invitations`)).body.invitations).toEqual([
      { email: squatter.email, permission: 'write', createdAt: expect.any(String) },
    ]);
  });

  it('a membership by email likewise waits, whatever the case of the address', async () => {
    const squatter = await signUp(node, 'member-squatter');
    const invited = await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { email: squatter.email.toUpperCase(), role: 'member' });
    expect(invited.status).toBe(202);
    expect(invited.body).toEqual({ invitation: { email: squatter.email, role: 'member', createdAt: expect.any(String) } });
    expect(await roleIn(squatter, owner.workspaceId)).toBeNull();
    const members = (await owner.rest.get(`/v1/workspaces/${owner.workspaceId}/members`)).body.members as { userId: string }[];
    expect(members.map((m) => m.userId)).not.toContain(squatter.id);
    expect((await owner.rest.get(`/v1/workspaces/${owner.workspaceId}/invitations`)).body.invitations).toContainEqual({
      email: squatter.email,
      role: 'member',
      createdAt: expect.any(String),
    });
  });

  it('verifying the address with a token the operator issued makes the invitations take effect, once', async () => {
    const invitee = await signUp(node, 'invitee');
    const id = await newDocument('invited-doc');
    expect((await owner.rest.put(`/v1/documents/${id}/shares`, { email: invitee.email, permission: 'read' })).status).toBe(202);
    expect((await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { email: invitee.email, role: 'guest' })).status).toBe(202);
    expect((await invitee.rest.get('/v1/me')).body.emailVerifiedAt).toBeNull();

    const token = await issueToken(invitee);
    expect(token).toMatch(/^tdv_[\w-]{43}$/);
    const verified = await anonymous.post('/auth/verify-email', { token });
    expect(verified.status).toBe(200);
    expect(verified.body.user).toMatchObject({ id: invitee.id, email: invitee.email, emailVerifiedAt: expect.any(String) });
    expect((await invitee.rest.get('/v1/me')).body.emailVerifiedAt).toBe(verified.body.user.emailVerifiedAt);

    expect((await invitee.rest.get(`/v1/documents/${id}`)).body.content).toBe('for invited-doc');
    expect(await roleIn(invitee, owner.workspaceId)).toBe('guest');
    expect((await owner.rest.get(`/v1/documents/${id}/invitations`)).body.invitations).toEqual([]);
    expect((await owner.rest.get(`/v1/documents/${id}/shares`)).body.shares).toEqual([{ userId: invitee.id, email: invitee.email, permission: 'read' }]);

    // A token works once; made-up ones not at all.
    for (const used of [token, `tdv_${randomBytes(32).toString('base64url')}`, 'tdm_not-a-verification-token']) {
      const refused = await anonymous.post('/auth/verify-email', { token: used });
      expect([refused.status, refused.body.code]).toEqual([400, 'VERIFICATION_TOKEN_INVALID']);
    }
    // Once verified, shares by email go straight to the account.
    const later = await newDocument('after-verification');
    expect((await owner.rest.put(`/v1/documents/${later}/shares`, { email: invitee.email, permission: 'write' })).status).toBe(204);
    expect((await invitee.rest.get(`/v1/documents/${later}`)).status).toBe(200);
  });

  it('an address with no account: the invitation waits for whoever registers it and proves it is theirs', async () => {
    const email = freshEmail('future');
    const id = await newDocument('for-the-future');
    // The same answer as for an unverified account: sharing does not tell which addresses have accounts.
    const invited = await owner.rest.put(`/v1/documents/${id}/shares`, { email, permission: 'read' });
    expect(invited.status).toBe(202);
    const registered = await anonymous.post('/auth/register', { email, password: 'a long enough password' });
    expect(registered.status).toBe(201);
    const newcomer = restAs(node, registered.body.accessToken);
    expect((await newcomer.get(`/v1/documents/${id}`)).status).toBe(404);

    // The operator vouches for the address directly.
    const verified = await admin.post(`/users/${registered.body.user.id}/verify`);
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ id: registered.body.user.id, email, emailVerifiedAt: expect.any(String) });
    expect((await newcomer.get(`/v1/documents/${id}`)).status).toBe(200);
  });

  it('adding a member or sharing by user id needs no verification, and ends a pending invitation of that address', async () => {
    const unverified = await signUp(node, 'by-id');
    const id = await newDocument('by-id');
    expect((await owner.rest.put(`/v1/documents/${id}/shares`, { userId: unverified.id, permission: 'read' })).status).toBe(204);
    expect((await unverified.rest.get(`/v1/documents/${id}`)).status).toBe(200);

    const workspace = (await owner.rest.post('/v1/workspaces', { name: 'by id' })).body.id as string;
    expect((await owner.rest.post(`/v1/workspaces/${workspace}/members`, { email: unverified.email, role: 'admin' })).status).toBe(202);
    expect((await owner.rest.post(`/v1/workspaces/${workspace}/members`, { userId: unverified.id, role: 'member' })).status).toBe(204);
    expect(await roleIn(unverified, workspace)).toBe('member');
    expect((await owner.rest.get(`/v1/workspaces/${workspace}/invitations`)).body.invitations).toEqual([]);
    // Removed, then verified: the old invitation does not bring them back.
    expect((await owner.rest.delete(`/v1/workspaces/${workspace}/members/${unverified.id}`)).status).toBe(204);
    await verifyEmail(node, unverified);
    expect(await roleIn(unverified, workspace)).toBeNull();
  });

  it('invitations are listed and revoked by those who manage members and shares; a revoked one never takes effect', async () => {
    const invitee = await signUp(node, 'revoked');
    const helper = await signUp(node, 'ws-admin');
    const guest = await signUp(node, 'ws-guest');
    const workspace = (await owner.rest.post('/v1/workspaces', { name: 'revocations' })).body.id as string;
    expect((await owner.rest.post(`/v1/workspaces/${workspace}/members`, { userId: helper.id, role: 'admin' })).status).toBe(204);
    expect((await owner.rest.post(`/v1/workspaces/${workspace}/members`, { userId: guest.id, role: 'guest' })).status).toBe(204);

    // An admin invites members and guests, not owners; a guest sees no invitations.
    expect((await helper.rest.post(`/v1/workspaces/${workspace}/members`, { email: invitee.email, role: 'owner' })).status).toBe(403);
    expect((await helper.rest.post(`/v1/workspaces/${workspace}/members`, { email: invitee.email, role: 'member' })).status).toBe(202);
    expect((await guest.rest.get(`/v1/workspaces/${workspace}/invitations`)).status).toBe(403);
    expect((await guest.rest.delete(`/v1/workspaces/${workspace}/invitations/${encodeURIComponent(invitee.email)}`)).status).toBe(403);
    expect((await helper.rest.get(`/v1/workspaces/${workspace}/invitations`)).body.invitations).toEqual([
      { email: invitee.email, role: 'member', createdAt: expect.any(String) },
    ]);
    expect((await helper.rest.delete(`/v1/workspaces/${workspace}/invitations/${encodeURIComponent(invitee.email.toUpperCase())}`)).status).toBe(204);
    const again = await helper.rest.delete(`/v1/workspaces/${workspace}/invitations/${encodeURIComponent(invitee.email)}`);
    expect([again.status, again.body.code]).toEqual([404, 'INVITATION_NOT_FOUND']);

    const id = await newDocument('revoked-share');
    expect((await owner.rest.put(`/v1/documents/${id}/shares`, { email: invitee.email, permission: 'write' })).status).toBe(202);
    expect((await invitee.rest.get(`/v1/documents/${id}/invitations`)).status).toBe(404);
    expect((await owner.rest.delete(`/v1/documents/${id}/invitations/${encodeURIComponent(invitee.email)}`)).status).toBe(204);

    await verifyEmail(node, invitee);
    expect(await roleIn(invitee, workspace)).toBeNull();
    expect((await invitee.rest.get(`/v1/documents/${id}`)).status).toBe(404);
  });

  it('the operator routes answer only ADMIN_TOKEN', async () => {
    const user = await signUp(node, 'admin-routes');
    for (const authorization of ['', `Bearer ${user.accessToken}`, `Bearer ${TEST_ADMIN_TOKEN}x`, TEST_ADMIN_TOKEN]) {
      const headers: Record<string, string> = authorization ? { authorization } : {};
      const refused = await restClient(`${node.url}/v1/admin`, headers).post(`/users/${user.id}/verify`);
      expect([refused.status, refused.body.code], authorization).toEqual([401, 'UNAUTHORIZED']);
    }
    expect((await user.rest.get('/v1/me')).body.emailVerifiedAt).toBeNull();
    const found = await admin.get(`/users?email=${encodeURIComponent(user.email.toUpperCase())}`);
    expect(found.status).toBe(200);
    expect(found.body).toEqual({
      users: [{ id: user.id, email: user.email, name: 'admin-routes', emailVerifiedAt: null, createdAt: expect.any(String) }],
    });
    expect((await admin.get(`/users?email=${encodeURIComponent(freshEmail('nobody'))}`)).body).toEqual({ users: [] });
    const missing = await admin.post('/users/no-such-user/verify');
    expect([missing.status, missing.body.code]).toEqual([404, 'USER_NOT_FOUND']);
  });
});

describe('without ADMIN_TOKEN', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startAuthNode({ ADMIN_TOKEN: '' });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('the operator routes are refused: 403, whatever is sent', async () => {
    const user = await signUp(node, 'no-admin');
    const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, { authorization: `Bearer ${user.accessToken}` }];
    for (const headers of attempts) {
      const refused = await restClient(node.url, headers).post(`/v1/admin/users/${user.id}/verify`);
      expect([refused.status, refused.body.code]).toEqual([403, 'FORBIDDEN']);
    }
  });
});
