import type { Author } from '../docs/authors.ts';
import type { Permission, Scope } from './permissions.ts';

/**
 * Who is asking, once a credential has been checked. Socket connections keep it and have it
 * re-checked (authorizer.revalidate) when access changes anywhere.
 */
export type Principal =
  /** AUTH=off: every caller may do everything. */
  | { kind: 'open' }
  /** `expiresAt`: when the access token expires (ms since the epoch); a socket opened with it closes then. */
  | { kind: 'user'; userId: string; expiresAt: number | null }
  | {
      kind: 'api-key';
      keyId: string;
      userId: string;
      scopes: Scope[];
      /** Limits: only this workspace's documents / only these documents (empty: any). */
      workspaceId: string | null;
      documentIds: string[];
    }
  | { kind: 'document-key'; documentId: string; permission: Extract<Permission, 'read' | 'write'>; keyHash: string };

/** For logs and the audit trail: who, without any secret. */
export function describePrincipal(principal: Principal): string {
  switch (principal.kind) {
    case 'open':
      return 'open';
    case 'user':
      return `user:${principal.userId}`;
    case 'api-key':
      return `api-key:${principal.keyId}`;
    case 'document-key':
      return `document-key:${principal.documentId}:${principal.permission}`;
  }
}

/**
 * Whom a principal's writes are attributed to (docs/authors.ts). Only ids: names are looked
 * up when read, since people and keys rename.
 */
export function authorOfPrincipal(principal: Principal): Author {
  switch (principal.kind) {
    case 'open':
      return { kind: 'user', id: 'user:anonymous', name: 'Anonymous' };
    case 'user':
      return { kind: 'user', id: `user:${principal.userId}`, name: '' };
    case 'api-key':
      return { kind: 'key', id: `key:${principal.keyId}`, name: '' };
    case 'document-key':
      return { kind: 'link', id: `link:${principal.documentId}`, name: 'Someone with the link' };
  }
}
