import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { AccessService } from '../../access/access-service.ts';
import { DocumentIdParams, Problem } from '../rest/schemas.ts';
import { invitationView, ShareInvitationView, WorkspaceInvitationView, WorkspaceParams } from './access-schemas.ts';

const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));
const noContent = { 204: Type.Null() };
const Email = Type.String({ minLength: 3, maxLength: 320 });

/**
 * Memberships and shares by email that wait for their address to be verified: listed, and
 * revoked, by those who manage the workspace's members or the document's shares.
 */
export function registerInvitationRoutes(app: FastifyInstance, access: AccessService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/workspaces/:workspaceId/invitations',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Memberships by email waiting for their address to be verified (not for guests)',
        params: WorkspaceParams,
        response: { 200: Type.Object({ invitations: Type.Array(WorkspaceInvitationView) }), ...problems(401, 403, 404) },
      },
    },
    async (request) => ({ invitations: (await access.workspaceInvitations(request.principal, request.params.workspaceId)).map(invitationView) }),
  );

  api.delete(
    '/workspaces/:workspaceId/invitations/:email',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Revoke a pending membership (owners all, admins those of members and guests)',
        params: Type.Object({ workspaceId: WorkspaceParams.properties.workspaceId, email: Email }),
        response: { ...noContent, ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await access.revokeWorkspaceInvitation(request.principal, request.params.workspaceId, request.params.email, request.ip);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/documents/:id/invitations',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['documents'],
        summary: 'Shares by email waiting for their address to be verified',
        params: DocumentIdParams,
        response: { 200: Type.Object({ invitations: Type.Array(ShareInvitationView) }), ...problems(401, 403, 404) },
      },
    },
    async (request) => ({ invitations: (await access.documentInvitations(request.params.id)).map(invitationView) }),
  );

  api.delete(
    '/documents/:id/invitations/:email',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['documents'],
        summary: 'Revoke a pending share',
        params: Type.Object({ id: DocumentIdParams.properties.id, email: Email }),
        response: { ...noContent, ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await access.revokeDocumentInvitation(request.principal, request.params.id, request.params.email, request.ip);
      return reply.code(204).send(null);
    },
  );
}
