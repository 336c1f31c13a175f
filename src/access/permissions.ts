/**
 * What a principal may do with a document, in increasing order. `suggest`: read, and propose
 * changes (suggestions) that someone with write access accepts; only an API key's scopes
 * give it (a person, a share or a document key has read or write, and write includes it).
 */
export const PERMISSIONS = ['none', 'read', 'suggest', 'write', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['owner', 'admin', 'member', 'guest'] as const;
export type Role = (typeof ROLES)[number];

export const SCOPES = ['read', 'suggest', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export type SharePermission = 'read' | 'write';

export function atLeast(permission: Permission, needed: Permission): boolean {
  return PERMISSIONS.indexOf(permission) >= PERMISSIONS.indexOf(needed);
}

export function lowest(a: Permission, b: Permission): Permission {
  return PERMISSIONS.indexOf(a) <= PERMISSIONS.indexOf(b) ? a : b;
}

export function highest(a: Permission, b: Permission): Permission {
  return PERMISSIONS.indexOf(a) >= PERMISSIONS.indexOf(b) ? a : b;
}

/**
 * A workspace role's permission on the workspace's documents. Guests see only what is shared
 * with them (document shares), and may not create documents.
 */
export function permissionOfRole(role: Role | null): Permission {
  switch (role) {
    case 'owner':
    case 'admin':
      return 'admin';
    case 'member':
      return 'write';
    default:
      return 'none';
  }
}

export function canCreateDocuments(role: Role | null): boolean {
  return role === 'owner' || role === 'admin' || role === 'member';
}

/** Owners manage everyone; admins manage members and guests; nobody else manages anyone. */
export function canManageMember(actor: Role | null, target: Role | null, newRole: Role | null): boolean {
  if (actor === 'owner') return true;
  if (actor !== 'admin') return false;
  const managed = (role: Role | null) => role === null || role === 'member' || role === 'guest';
  return managed(target) && managed(newRole);
}

/**
 * The most an API key's scopes allow. `suggest` includes reading, as `write` does: a
 * suggestion's answer is the whole document as it would read, so suggesting is reading.
 */
export function permissionOfScopes(scopes: readonly Scope[]): Permission {
  if (scopes.includes('admin')) return 'admin';
  if (scopes.includes('write')) return 'write';
  if (scopes.includes('suggest')) return 'suggest';
  if (scopes.includes('read')) return 'read';
  return 'none';
}
