import type { FastifyInstance } from 'fastify';
import type { Authorizer } from '../../access/authorizer.ts';
import type { Permission } from '../../access/permissions.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a /documents/:id route needs; by default read for GET, admin for DELETE, write otherwise. */
    access?: Permission;
  }
}

/**
 * Every route with a document :id checks the caller's permission on it before validation
 * (so a read-only credential learns nothing from a write's body errors): FORBIDDEN when the
 * credential may not, DOC_NOT_FOUND when there is no such document.
 */
export function requireDocumentAccess(app: FastifyInstance, authorizer: Authorizer): void {
  app.addHook('preValidation', async (request) => {
    const { id } = (request.params ?? {}) as { id?: string };
    if (id === undefined || request.routeOptions.config.public) return;
    const needed =
      request.routeOptions.config.access ??
      (request.method === 'GET' || request.method === 'HEAD' ? 'read' : request.method === 'DELETE' ? 'admin' : 'write');
    await authorizer.require(request.principal, id, needed);
  });
}
