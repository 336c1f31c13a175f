import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Authorizer } from './authorizer.ts';
import { newDocumentKeys } from './document-keys.ts';
import { normalizeEmail } from './account-service.ts';
import type {
  AccessAdminStore,
  AccessStore,
  ApiKeyRecord,
  AuditLog,
  InvitationStore,
  ShareInvitationRecord,
  SocketTokenGrant,
  WorkspaceInvitationRecord,
} from './ports.ts';
import { canManageMember, type Role, type Scope, type SharePermission } from './permissions.ts';
import { describePrincipal, type Principal } from './principal.ts';
import { displayPrefix, hashSecret, newSecret } from './secrets.ts';

/** One-time socket tokens open a socket within this long. */
export const SOCKET_TOKEN_TTL_SECONDS = 60;

export type AccessService = ReturnType<typeof createAccessService>;

interface AccessServiceDeps {
  store: AccessStore & AccessAdminStore;
  invitations: InvitationStore;
  authorizer: Authorizer;
  audit: AuditLog;
  /**
   * Unrevoked API keys one user may hold: every key can open its own sockets and MCP
   * sessions, so keys must not be a way around the limits on those.
   */
  maxApiKeysPerUser: number;
}

/** Pending invitations one workspace, or one document, may hold at once. */
export const MAX_PENDING_INVITATIONS = 1000;

/** Who a membership or share by email or user id goes to: an account, or an address still to be verified. */
type Recipient = { userId: string } | { email: string };

export type MemberChange = { kind: 'member' } | { kind: 'invited'; invitation: WorkspaceInvitationRecord };
export type ShareChange = { kind: 'shared' } | { kind: 'invited'; invitation: ShareInvitationRecord };

const newId = () => randomBytes(12).toString('base64url');

/** The user a principal acts for: a person's token, or an API key with the admin scope. */
function actingUser(principal: Principal, what: string): string {
  if (principal.kind === 'user') return principal.userId;
  if (principal.kind === 'api-key' && principal.scopes.includes('admin')) return principal.userId;
  throw new AppError('FORBIDDEN', `Only a signed-in user (or an API key with the admin scope) may ${what}`);
}

/**
 * Managing access: API keys, workspaces and their members, document shares and keys, and
 * one-time socket tokens. Every change that takes access away bumps the access epoch (in
 * the store), so live sockets everywhere are re-checked.
 */
export function createAccessService({ store, invitations, authorizer, audit, maxApiKeysPerUser }: AccessServiceDeps) {
  async function roleIn(workspaceId: string, userId: string): Promise<Role> {
    const role = await store.role(workspaceId, userId);
    if (!role) throw new AppError('WORKSPACE_NOT_FOUND');
    return role;
  }

  /**
   * By user id: that account, verified or not (whoever knows the id was given it by its
   * owner). By email: the account whose verified address it is; otherwise the address
   * itself, for an invitation. An unverified account and no account get the same answer, so
   * sharing does not tell which addresses have accounts, and whoever registered an address
   * first does not receive what is sent to it.
   */
  async function recipientOf(target: { userId?: string | undefined; email?: string | undefined }): Promise<Recipient> {
    if (target.userId !== undefined) {
      if (!(await store.userExists(target.userId))) throw new AppError('USER_NOT_FOUND');
      return { userId: target.userId };
    }
    if (target.email === undefined) throw new AppError('VALIDATION_FAILED', 'Name the user by userId or email');
    const email = normalizeEmail(target.email);
    const userId = await store.verifiedUserIdByEmail(email);
    return userId ? { userId } : { email };
  }

  /** Owners and admins manage invitations; members see them (as they see members); guests neither. */
  async function invitationsRole(principal: Principal, workspaceId: string): Promise<Role> {
    const role = await roleIn(workspaceId, actingUser(principal, 'manage invitations'));
    if (role === 'guest') throw new AppError('FORBIDDEN', 'Guests see the documents shared with them, not who is invited');
    return role;
  }

  return {
    async createApiKey(
      principal: Principal,
      input: { name?: string | undefined; scopes: Scope[]; workspaceId?: string | undefined; documentIds?: string[] | undefined },
      ip: string,
    ): Promise<{ key: string; record: ApiKeyRecord }> {
      // Only a person makes keys: a leaked key must not be able to mint more.
      if (principal.kind !== 'user') throw new AppError('FORBIDDEN', 'API keys are made by a signed-in user');
      if (input.workspaceId !== undefined) await roleIn(input.workspaceId, principal.userId);
      // A key is limited to documents its user may read: naming others' ids would show their titles in listings.
      const documentIds = [...new Set(input.documentIds ?? [])];
      if ((await authorizer.readableBy(principal.userId, documentIds)).length !== documentIds.length) throw new AppError('DOC_NOT_FOUND');
      const key = newSecret('apiKey');
      const record = await store.createApiKey(
        {
          id: newId(),
          userId: principal.userId,
          name: input.name ?? '',
          keyHash: hashSecret(key),
          prefix: displayPrefix(key),
          scopes: [...new Set(input.scopes)],
          workspaceId: input.workspaceId ?? null,
          documentIds,
        },
        maxApiKeysPerUser,
      );
      if (record === null) {
        throw new AppError('API_KEY_LIMIT', `You have ${maxApiKeysPerUser} active API keys, the most one account may hold: revoke one you no longer use (DELETE /v1/api-keys/:id) first`);
      }
      audit.record({ kind: 'api_key.created', actor: describePrincipal(principal), target: `api-key:${record.id}`, ip, details: { scopes: record.scopes } });
      return { key, record };
    },

    async listApiKeys(principal: Principal): Promise<ApiKeyRecord[]> {
      if (principal.kind !== 'user') throw new AppError('FORBIDDEN', 'API keys are listed by a signed-in user');
      return store.apiKeysOf(principal.userId);
    },

    async revokeApiKey(principal: Principal, keyId: string, ip: string): Promise<void> {
      const userId = principal.kind === 'user' ? principal.userId : principal.kind === 'api-key' && principal.keyId === keyId ? principal.userId : null;
      if (userId === null) throw new AppError('FORBIDDEN', 'API keys are revoked by their user (or by the key itself)');
      if (!(await store.revokeApiKey(userId, keyId))) throw new AppError('API_KEY_NOT_FOUND');
      audit.record({ kind: 'api_key.revoked', actor: describePrincipal(principal), target: `api-key:${keyId}`, ip });
    },

    async createWorkspace(principal: Principal, name: string) {
      const workspace = await store.createWorkspace(newId(), name, actingUser(principal, 'create workspaces'));
      return { ...workspace, role: 'owner' as const };
    },

    /** Owners only: the name, and how long its idle documents live (null: the server default). */
    async updateWorkspace(principal: Principal, workspaceId: string, changes: { name?: string | undefined; expireAfterDays?: number | null | undefined }, ip: string) {
      const role = await roleIn(workspaceId, actingUser(principal, 'change workspaces'));
      if (role !== 'owner') throw new AppError('FORBIDDEN', 'Only owners change a workspace');
      const workspace = await store.updateWorkspace(workspaceId, changes);
      audit.record({ kind: 'workspace.changed', actor: describePrincipal(principal), target: `workspace:${workspaceId}`, ip, details: changes });
      return { ...workspace, role };
    },

    async workspaces(principal: Principal) {
      return store.workspacesOf(actingUser(principal, 'list workspaces'));
    },

    async members(principal: Principal, workspaceId: string) {
      // Guests are outsiders with a few documents shared: the team's names and emails are not theirs to see.
      if ((await roleIn(workspaceId, actingUser(principal, 'list members'))) === 'guest') {
        throw new AppError('FORBIDDEN', 'Guests see the documents shared with them, not the member list');
      }
      return store.members(workspaceId);
    },

    async setMember(
      principal: Principal,
      workspaceId: string,
      target: { userId?: string | undefined; email?: string | undefined; role: Role },
      ip: string,
    ): Promise<MemberChange> {
      const actingUserId = actingUser(principal, 'manage members');
      const actor = await roleIn(workspaceId, actingUserId);
      const recipient = await recipientOf(target);
      const current = 'userId' in recipient ? await store.role(workspaceId, recipient.userId) : await invitations.workspaceInvitation(workspaceId, recipient.email);
      if (!canManageMember(actor, current, target.role)) {
        throw new AppError('FORBIDDEN', 'Owners manage every member; admins manage members and guests');
      }
      if ('email' in recipient) {
        const invitation = await invitations.inviteToWorkspace(
          { workspaceId, email: recipient.email, role: target.role, invitedBy: actingUserId },
          MAX_PENDING_INVITATIONS,
        );
        if (!invitation) throw new AppError('TOO_MANY_INVITATIONS', `A workspace holds at most ${MAX_PENDING_INVITATIONS} pending invitations`);
        // The address is personal data: the audit names the workspace and the role, not whom.
        audit.record({ kind: 'member.invited', actor: describePrincipal(principal), target: `workspace:${workspaceId}`, ip, details: { role: target.role } });
        return { kind: 'invited', invitation };
      }
      await store.setMember(workspaceId, recipient.userId, target.role);
      audit.record({ kind: 'member.changed', actor: describePrincipal(principal), target: `user:${recipient.userId}`, ip, details: { workspaceId, role: target.role } });
      return { kind: 'member' };
    },

    async workspaceInvitations(principal: Principal, workspaceId: string): Promise<WorkspaceInvitationRecord[]> {
      await invitationsRole(principal, workspaceId);
      return invitations.workspaceInvitations(workspaceId);
    },

    async revokeWorkspaceInvitation(principal: Principal, workspaceId: string, email: string, ip: string): Promise<void> {
      const actor = await invitationsRole(principal, workspaceId);
      const address = normalizeEmail(email);
      const pending = await invitations.workspaceInvitation(workspaceId, address);
      if (pending === null) throw new AppError('INVITATION_NOT_FOUND');
      if (!canManageMember(actor, pending, null)) throw new AppError('FORBIDDEN', 'Owners manage every invitation; admins those of members and guests');
      await invitations.removeWorkspaceInvitation(workspaceId, address);
      audit.record({ kind: 'invitation.revoked', actor: describePrincipal(principal), target: `workspace:${workspaceId}`, ip });
    },

    async removeMember(principal: Principal, workspaceId: string, userId: string, ip: string): Promise<void> {
      const actingUserId = actingUser(principal, 'manage members');
      const actor = await roleIn(workspaceId, actingUserId);
      const current = await store.role(workspaceId, userId);
      if (current === null) throw new AppError('USER_NOT_FOUND', 'No such member of this workspace');
      // Anyone may leave; otherwise the same rule as changing a role.
      if (userId !== actingUserId && !canManageMember(actor, current, null)) {
        throw new AppError('FORBIDDEN', 'Owners manage every member; admins manage members and guests');
      }
      await store.removeMember(workspaceId, userId);
      audit.record({ kind: 'member.changed', actor: describePrincipal(principal), target: `user:${userId}`, ip, details: { workspaceId, role: null } });
    },

    /** The routes have checked admin permission on the document. */
    shares: (documentId: string) => store.shares(documentId),

    async setShare(
      principal: Principal,
      documentId: string,
      target: { userId?: string | undefined; email?: string | undefined; permission: SharePermission },
      ip: string,
    ): Promise<ShareChange> {
      const recipient = await recipientOf(target);
      if ('email' in recipient) {
        const invitation = await invitations.inviteToDocument(
          { documentId, email: recipient.email, permission: target.permission, invitedBy: actingUser(principal, 'invite by email') },
          MAX_PENDING_INVITATIONS,
        );
        if (!invitation) throw new AppError('TOO_MANY_INVITATIONS', `A document holds at most ${MAX_PENDING_INVITATIONS} pending invitations`);
        audit.record({ kind: 'share.invited', actor: describePrincipal(principal), target: `document:${documentId}`, ip, details: { permission: target.permission } });
        return { kind: 'invited', invitation };
      }
      await store.setShare(documentId, recipient.userId, target.permission);
      audit.record({ kind: 'share.changed', actor: describePrincipal(principal), target: `user:${recipient.userId}`, ip, details: { documentId, permission: target.permission } });
      return { kind: 'shared' };
    },

    /** The routes have checked admin permission on the document. */
    documentInvitations: (documentId: string) => invitations.documentInvitations(documentId),

    async revokeDocumentInvitation(principal: Principal, documentId: string, email: string, ip: string): Promise<void> {
      if (!(await invitations.removeDocumentInvitation(documentId, normalizeEmail(email)))) throw new AppError('INVITATION_NOT_FOUND');
      audit.record({ kind: 'invitation.revoked', actor: describePrincipal(principal), target: `document:${documentId}`, ip });
    },

    async removeShare(principal: Principal, documentId: string, userId: string, ip: string): Promise<void> {
      if (!(await store.removeShare(documentId, userId))) throw new AppError('USER_NOT_FOUND', 'The document is not shared with this user');
      audit.record({ kind: 'share.changed', actor: describePrincipal(principal), target: `user:${userId}`, ip, details: { documentId, permission: null } });
    },

    /** New read and write keys; the old ones stop working at once, on every node's live sockets within seconds. */
    async rotateDocumentKeys(principal: Principal, documentId: string, ip: string): Promise<{ readKey: string; writeKey: string }> {
      const keys = newDocumentKeys();
      await store.setDocumentKeys(documentId, keys.hashes);
      audit.record({ kind: 'document_keys.rotated', actor: describePrincipal(principal), target: `document:${documentId}`, ip });
      return { readKey: keys.readKey, writeKey: keys.writeKey };
    },

    /**
     * A tdw_ token that opens one socket within 60 s for the caller (and only `documentId`,
     * when given), so a browser need not put a long-lived credential in a URL.
     */
    async socketToken(principal: Principal, documentId: string | undefined): Promise<{ token: string; expiresIn: number }> {
      if (documentId !== undefined) await authorizer.require(principal, documentId, 'read');
      const grant = grantOf(principal, documentId ?? null);
      const token = newSecret('socketToken');
      await store.saveSocketToken(hashSecret(token), grant, new Date(Date.now() + SOCKET_TOKEN_TTL_SECONDS * 1000));
      return { token, expiresIn: SOCKET_TOKEN_TTL_SECONDS };
    },
  };
}

function grantOf(principal: Principal, documentId: string | null): SocketTokenGrant {
  switch (principal.kind) {
    case 'user':
      return {
        credentialKind: 'user',
        subject: principal.userId,
        credentialHash: null,
        documentId,
        credentialExpiresAt: principal.expiresAt === null ? null : new Date(principal.expiresAt),
      };
    case 'api-key':
      return { credentialKind: 'api-key', subject: principal.keyId, credentialHash: null, documentId, credentialExpiresAt: null };
    case 'document-key':
      return { credentialKind: 'document-key', subject: principal.documentId, credentialHash: principal.keyHash, documentId, credentialExpiresAt: null };
    case 'open':
      throw new AppError('FORBIDDEN', 'With AUTH=off sockets need no token');
  }
}
