import { AppError } from '../errors.ts';
import type { AccessStore, DocumentAccessRecord } from './ports.ts';
import {
  atLeast,
  canCreateDocuments,
  highest,
  lowest,
  type Permission,
  permissionOfRole,
  permissionOfScopes,
} from './permissions.ts';
import type { Principal } from './principal.ts';
import { sameHash } from './secrets.ts';

export type Authorizer = ReturnType<typeof createAuthorizer>;

/** What a refusal says the credential may not do. */
const VERBS: Record<Permission, string> = { none: 'see', read: 'read', suggest: 'suggest changes to', write: 'change', admin: 'administer' };

/**
 * The one place that decides what a principal may do with a document: REST routes, both
 * socket dialects and the workers all ask here, so a rule holds everywhere at once.
 */
export function createAuthorizer(store: AccessStore) {
  async function userPermission(userId: string, documentId: string, workspaceId: string | null): Promise<Permission> {
    const [role, share] = await Promise.all([
      workspaceId ? store.role(workspaceId, userId) : null,
      store.share(documentId, userId),
    ]);
    return highest(permissionOfRole(role), share ?? 'none');
  }

  /** What `principal` may do with the document, and whether it exists (deleted ones count, and say so). */
  async function permission(principal: Principal, documentId: string): Promise<{ exists: boolean; deleted: boolean; permission: Permission }> {
    const document = await store.document(documentId);
    if (!document) return { exists: false, deleted: false, permission: principal.kind === 'open' ? 'admin' : 'none' };
    return { exists: true, deleted: document.deletedAt !== null, permission: await permissionOn(principal, document) };
  }

  async function permissionOn(principal: Principal, document: DocumentAccessRecord): Promise<Permission> {
    if (principal.kind === 'open') return 'admin';
    switch (principal.kind) {
      case 'user':
        return userPermission(principal.userId, document.id, document.workspaceId);
      case 'api-key': {
        const outsideLimits =
          (principal.workspaceId !== null && principal.workspaceId !== document.workspaceId) ||
          (principal.documentIds.length > 0 && !principal.documentIds.includes(document.id));
        if (outsideLimits) return 'none';
        const owner = await userPermission(principal.userId, document.id, document.workspaceId);
        return lowest(owner, permissionOfScopes(principal.scopes));
      }
      case 'document-key': {
        const current = principal.permission === 'write' ? document.writeKeyHash : document.readKeyHash;
        const valid = principal.documentId === document.id && current !== null && sameHash(current, principal.keyHash);
        return valid ? principal.permission : 'none';
      }
    }
  }

  /** The documents of `documentIds` that the user may read now. */
  async function readableBy(userId: string, documentIds: string[]): Promise<string[]> {
    const checked = await Promise.all(
      documentIds.map(async (id) => {
        const document = await store.document(id);
        return document && (await userPermission(userId, id, document.workspaceId)) !== 'none' ? id : null;
      }),
    );
    return checked.filter((id) => id !== null);
  }

  return {
    permission,
    readableBy,

    /**
     * FORBIDDEN unless `principal` has `needed`; DOC_NOT_FOUND when it does not exist or when
     * the principal may not even read it, so that a document's existence is no easier to learn
     * than its content.
     */
    async require(principal: Principal, documentId: string, needed: Permission): Promise<Permission> {
      const found = await permission(principal, documentId);
      if (!found.exists || found.permission === 'none') throw new AppError('DOC_NOT_FOUND');
      if (!atLeast(found.permission, needed)) {
        throw new AppError('FORBIDDEN', `This credential may not ${VERBS[needed]} document ${documentId}`);
      }
      return found.permission;
    },

    /**
     * The workspace a new document of `principal` goes to (`requested`, or their home
     * workspace), or FORBIDDEN. Null for AUTH=off: documents then belong to no workspace.
     */
    async workspaceForNewDocument(principal: Principal, requested: string | undefined): Promise<string | null> {
      if (principal.kind === 'open') return requested ?? null;
      if (principal.kind === 'document-key') throw new AppError('FORBIDDEN', 'A document key cannot create documents');
      if (principal.kind === 'api-key') {
        if (!atLeast(permissionOfScopes(principal.scopes), 'write') || principal.documentIds.length > 0) {
          throw new AppError('FORBIDDEN', 'This API key may not create documents (it needs the write scope and no document limit)');
        }
        if (principal.workspaceId !== null && requested !== undefined && requested !== principal.workspaceId) {
          throw new AppError('FORBIDDEN', 'This API key is limited to another workspace');
        }
      }
      const workspaceId =
        requested ?? (principal.kind === 'api-key' ? principal.workspaceId : null) ?? (await store.homeWorkspace(principal.userId));
      if (workspaceId === null) throw new AppError('FORBIDDEN', 'No workspace to create the document in; name one (workspaceId)');
      if (!canCreateDocuments(await store.role(workspaceId, principal.userId))) {
        throw new AppError('FORBIDDEN', 'Only owners, admins and members may create documents in a workspace');
      }
      return workspaceId;
    },

    /**
     * Which documents listings and the change feed show `principal` (null: all). An API key's
     * limits narrow its user's view; a document key sees its one document.
     */
    async scopeOf(principal: Principal): Promise<{ workspaceIds: string[]; documentIds: string[] } | null> {
      switch (principal.kind) {
        case 'open':
          return null;
        case 'document-key':
          return { workspaceIds: [], documentIds: [principal.documentId] };
        case 'user':
          return store.visibility(principal.userId);
        case 'api-key': {
          const seen = await store.visibility(principal.userId);
          const workspaceIds =
            principal.workspaceId === null ? seen.workspaceIds : seen.workspaceIds.filter((id) => id === principal.workspaceId);
          if (principal.documentIds.length === 0) return { workspaceIds, documentIds: seen.documentIds };
          // Limited to some documents: those the user may still read (a share may be gone since).
          return { workspaceIds: [], documentIds: await readableBy(principal.userId, principal.documentIds) };
        }
      }
    },

    /**
     * A live socket's principal checked again (the key may be revoked, the document key
     * rotated, the user gone): the principal as it stands now, or null when it is no longer valid.
     */
    async revalidate(principal: Principal): Promise<Principal | null> {
      switch (principal.kind) {
        case 'open':
          return principal;
        case 'user':
          return (await store.userExists(principal.userId)) ? principal : null;
        case 'api-key': {
          const key = await store.apiKey(principal.keyId);
          return key && !key.revokedAt ? principal : null;
        }
        case 'document-key':
          return principal; // permission() compares the key with the document's current one
      }
    },
  };
}
