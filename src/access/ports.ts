import type { Role, Scope, SharePermission } from './permissions.ts';

/** A document as access control sees it. */
export interface DocumentAccessRecord {
  id: string;
  workspaceId: string | null;
  readKeyHash: string | null;
  writeKeyHash: string | null;
  /** Set while the document sits deleted (restorable): sockets on it are closed. */
  deletedAt: Date | null;
}

export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  workspaceId: string | null;
  documentIds: string[];
  createdAt: Date;
  revokedAt: Date | null;
}

export interface SocketTokenGrant {
  credentialKind: 'user' | 'api-key' | 'document-key';
  /** The user id, API key id or document id the credential names. */
  subject: string;
  /** For a document key: the hash of the key (so that rotating it voids the token). */
  credentialHash: string | null;
  /** The one document the token opens, if it was asked for one. */
  documentId: string | null;
  /** For a user: when the access token the socket token was minted with expires (the socket closes then). */
  credentialExpiresAt: Date | null;
}

/** What the authorizer and the credential checks read (storage/access-repository.ts). */
export interface AccessStore {
  document(id: string): Promise<DocumentAccessRecord | null>;
  /** The document whose read or write key has this hash. */
  documentByKeyHash(hash: string): Promise<{ documentId: string; permission: SharePermission; keyHash: string } | null>;
  role(workspaceId: string, userId: string): Promise<Role | null>;
  share(documentId: string, userId: string): Promise<SharePermission | null>;
  userExists(userId: string): Promise<boolean>;
  /** Workspaces whose documents the user may read (not as a guest), and documents shared with them. */
  visibility(userId: string): Promise<{ workspaceIds: string[]; documentIds: string[] }>;
  /** The workspace new documents of this user go to when none is named: the oldest one they own. */
  homeWorkspace(userId: string): Promise<string | null>;
  apiKeyByHash(hash: string): Promise<ApiKeyRecord | null>;
  apiKey(id: string): Promise<ApiKeyRecord | null>;
  saveSocketToken(hash: string, grant: SocketTokenGrant, expiresAt: Date): Promise<void>;
  /** Marks the token used and returns what it grants, or null when unknown, used or expired (atomic). */
  consumeSocketToken(hash: string): Promise<SocketTokenGrant | null>;
  /** The access epoch: bumped by every change that takes access away. */
  epoch(): Promise<bigint>;
}

/** Security events, kept in the audit_events table; never carries a secret. */
export interface AuditEvent {
  kind:
    | 'user.registered'
    | 'user.login'
    | 'user.login_failed'
    | 'user.logout'
    | 'refresh_token.reused'
    | 'api_key.created'
    | 'api_key.revoked'
    | 'document_keys.rotated'
    | 'share.changed'
    | 'share.invited'
    | 'member.changed'
    | 'member.invited'
    | 'invitation.revoked'
    | 'email.verification_issued'
    | 'email.verified'
    | 'workspace.changed'
    | 'access.denied';
  actor?: string | undefined;
  target?: string | undefined;
  ip?: string | undefined;
  details?: Record<string, unknown> | undefined;
}

export interface AuditLog {
  /** Fire and forget: a failure to audit is logged, never turned into the caller's failure. */
  record(event: AuditEvent): void;
}

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: Date;
  /** Its documents expire after this many idle days (null: the server's EXPIRE_AFTER_DAYS). */
  expireAfterDays: number | null;
}

export interface MemberRecord {
  userId: string;
  email: string;
  name: string;
  role: Role;
}

export interface ShareRecord {
  userId: string;
  email: string;
  permission: SharePermission;
}

export type NewApiKey = Omit<ApiKeyRecord, 'createdAt' | 'revokedAt'> & { keyHash: string };

/**
 * Changes to who may do what (storage/access-repository.ts). Every change that can take
 * access away also bumps the access epoch in the same transaction, so that every node
 * re-checks its live sockets.
 */
export interface AccessAdminStore {
  /** Null, and nothing made, when the user already has `maxActive` unrevoked keys (checked under a lock on the user). */
  createApiKey(key: NewApiKey, maxActive: number): Promise<ApiKeyRecord | null>;
  apiKeysOf(userId: string): Promise<ApiKeyRecord[]>;
  /** False when the user has no such (unrevoked) key. */
  revokeApiKey(userId: string, keyId: string): Promise<boolean>;
  createWorkspace(id: string, name: string, ownerId: string): Promise<WorkspaceRecord>;
  workspacesOf(userId: string): Promise<(WorkspaceRecord & { role: Role })[]>;
  updateWorkspace(id: string, changes: { name?: string | undefined; expireAfterDays?: number | null | undefined }): Promise<WorkspaceRecord>;
  members(workspaceId: string): Promise<MemberRecord[]>;
  /** The user whose verified address this is (lower-cased); null when none, or not verified. */
  verifiedUserIdByEmail(email: string): Promise<string | null>;
  /**
   * Adds or changes a member; LAST_OWNER when that would leave the workspace without an owner.
   * An invitation to the workspace waiting for the user's address is dropped: it is answered,
   * and must not bring them back after a removal.
   */
  setMember(workspaceId: string, userId: string, role: Role): Promise<void>;
  removeMember(workspaceId: string, userId: string): Promise<boolean>;
  shares(documentId: string): Promise<ShareRecord[]>;
  /** Adds or changes a share; an invitation to the document waiting for the user's address is dropped. */
  setShare(documentId: string, userId: string, permission: SharePermission): Promise<void>;
  removeShare(documentId: string, userId: string): Promise<boolean>;
  setDocumentKeys(documentId: string, hashes: { readKeyHash: string; writeKeyHash: string }): Promise<void>;
}

export interface WorkspaceInvitationRecord {
  email: string;
  role: Role;
  createdAt: Date;
}

export interface ShareInvitationRecord {
  email: string;
  permission: SharePermission;
  createdAt: Date;
}

/**
 * Memberships and shares by email that wait for the address to be verified
 * (storage/invitation-repository.ts). Emails are lower-cased by the caller. An invitation
 * gives no access, so adding or dropping one needs no access-epoch bump.
 */
export interface InvitationStore {
  workspaceInvitation(workspaceId: string, email: string): Promise<Role | null>;
  /** Adds or changes one; null (and nothing stored) when `limit` others already wait there. */
  inviteToWorkspace(invitation: { workspaceId: string; email: string; role: Role; invitedBy: string }, limit: number): Promise<WorkspaceInvitationRecord | null>;
  workspaceInvitations(workspaceId: string): Promise<WorkspaceInvitationRecord[]>;
  removeWorkspaceInvitation(workspaceId: string, email: string): Promise<boolean>;
  inviteToDocument(
    invitation: { documentId: string; email: string; permission: SharePermission; invitedBy: string },
    limit: number,
  ): Promise<ShareInvitationRecord | null>;
  documentInvitations(documentId: string): Promise<ShareInvitationRecord[]>;
  removeDocumentInvitation(documentId: string, email: string): Promise<boolean>;
}
