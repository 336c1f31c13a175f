import { AppError } from '../errors.ts';
import type { Authorizer } from './authorizer.ts';
import type { Credentials } from './credentials.ts';
import { atLeast, type Permission } from './permissions.ts';
import type { SocketGrant, SocketRecheck } from '../collab/ports.ts';
import type { AuditLog } from './ports.ts';
import { authorOfPrincipal, describePrincipal, type Principal } from './principal.ts';

const liveLevel = (permission: Permission): 'read' | 'write' | null =>
  atLeast(permission, 'write') ? 'write' : atLeast(permission, 'read') ? 'read' : null;

/**
 * Socket authentication for one connecting client (either dialect): its token for a
 * document → read-only or read-write, plus how to re-check it later. Matches collab's
 * SocketAccess port. A document that does not exist is created on connect only for a
 * caller who may create documents; anyone else gets DOC_NOT_FOUND.
 */
export function socketAccessFor(deps: SocketAccessDeps, ip: string): SocketAccessOf {
  return new SocketAccessOf(deps, ip);
}

type SocketAccessDeps = { credentials: Credentials; authorizer: Authorizer; audit: AuditLog };

/**
 * A class rather than closures: every open socket keeps its SocketAccess (Hocuspocus holds it
 * in the connection's context) for as long as it is open (bench S4).
 */
class SocketAccessOf {
  private readonly deps: SocketAccessDeps;
  private readonly ip: string;

  constructor(deps: SocketAccessDeps, ip: string) {
    this.deps = deps;
    this.ip = ip;
  }

  async authorize(token: string, documentId: string): Promise<SocketGrant> {
    const { credentials, authorizer } = this.deps;
    let principal: Principal;
    try {
      principal = await credentials.forSocket(token, documentId);
    } catch (error) {
      if (error instanceof AppError) this.deny(error, documentId);
      throw error;
    }
    const found = await authorizer.permission(principal, documentId);
    const existed = found.exists;
    const expiresAt = principal.kind === 'user' ? principal.expiresAt : null;
    const recheck = async (): Promise<SocketRecheck> => {
      if (expiresAt !== null && expiresAt <= Date.now()) return 'UNAUTHORIZED';
      const now = await authorizer.revalidate(principal);
      if (!now) return 'FORBIDDEN';
      const current = await authorizer.permission(now, documentId);
      if (current.deleted) return 'DOC_NOT_FOUND';
      // Not there at all: a document this socket is creating (its room makes it on load).
      if (!current.exists) return existed ? 'DOC_NOT_FOUND' : 'write';
      return liveLevel(current.permission) ?? 'FORBIDDEN';
    };
    if (!found.exists) {
      let workspaceId: string | null;
      try {
        workspaceId = await authorizer.workspaceForNewDocument(principal, undefined);
      } catch (error) {
        if (error instanceof AppError && error.code === 'FORBIDDEN') this.deny(new AppError('DOC_NOT_FOUND'), documentId, principal);
        throw error;
      }
      return { readOnly: false, author: authorOfPrincipal(principal), createIn: { workspaceId }, expiresAt, recheck };
    }
    const level = liveLevel(found.permission);
    // Not even readable: answered like a missing document, so that ids tell nothing (a socket
    // that loses access while open is told FORBIDDEN by its recheck instead).
    if (level === null) this.deny(new AppError('DOC_NOT_FOUND'), documentId, principal);
    return { readOnly: level === 'read', author: authorOfPrincipal(principal), createIn: null, expiresAt, recheck };
  }

  private deny(error: AppError, documentId: string, principal?: Principal): never {
    this.deps.audit.record({
      kind: 'access.denied',
      actor: principal ? describePrincipal(principal) : undefined,
      target: `document:${documentId}`,
      ip: this.ip,
      details: { via: 'socket', code: error.code },
    });
    throw error;
  }
}
