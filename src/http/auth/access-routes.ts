import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { AccessService } from '../../access/access-service.ts';
import type { ApiKeyRecord } from '../../access/ports.ts';
import { isValidDocumentId } from '../../docs/document-id.ts';
import { AppError } from '../../errors.ts';
import { DocumentIdParams, Problem } from '../rest/schemas.ts';
import {
  ApiKeyView,
  CreateApiKeyBody,
  DocumentKeysView,
  InvitedView,
  invitationView,
  MemberBody,
  ShareBody,
  ShareInvitationView,
  SocketTokenBody,
  WorkspaceInvitationView,
  WorkspaceParams,
  WorkspaceView,
} from './access-schemas.ts';

const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));
const noContent = { 204: Type.Null() };

function apiKeyView(record: ApiKeyRecord) {
  const { userId: _userId, revokedAt: _revokedAt, ...view } = record;
  return { ...view, createdAt: record.createdAt.toISOString() };
}

/** API keys, workspaces and members, document shares and keys, one-time socket tokens. */
export function registerAccessRoutes(app: FastifyInstance, access: AccessService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/api-keys',
    {
      schema: {
        tags: ['api keys'],
        summary: 'Make an API key (tdm_…) for an agent; the key is shown only in this answer',
        body: CreateApiKeyBody,
        response: { 201: Type.Intersect([ApiKeyView, Type.Object({ key: Type.String() })]), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const { key, record } = await access.createApiKey(request.principal, request.body, request.ip);
      return reply.code(201).send({ ...apiKeyView(record), key });
    },
  );

  api.get(
    '/api-keys',
    { schema: { tags: ['api keys'], summary: 'Your API keys (never the keys themselves)', response: { 200: Type.Object({ apiKeys: Type.Array(ApiKeyView) }), ...problems(401, 403) } } },
    async (request) => ({ apiKeys: (await access.listApiKeys(request.principal)).map(apiKeyView) }),
  );

  api.delete(
    '/api-keys/:keyId',
    {
      schema: {
        tags: ['api keys'],
        summary: 'Revoke an API key; sockets opened with it close within seconds',
        params: Type.Object({ keyId: Type.String() }),
        response: { ...noContent, ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await access.revokeApiKey(request.principal, request.params.keyId, request.ip);
      return reply.code(204).send(null);
    },
  );

  api.post(
    '/workspaces',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Make a workspace (you are its owner)',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 201: WorkspaceView, ...problems(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const workspace = await access.createWorkspace(request.principal, request.body.name);
      return reply.code(201).send({ ...workspace, createdAt: workspace.createdAt.toISOString() });
    },
  );

  api.patch(
    '/workspaces/:workspaceId',
    {
      schema: {
        tags: ['workspaces'],
        summary: "Rename a workspace or set how long its idle documents live (owners only; expireAfterDays null: the server's default)",
        params: WorkspaceParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            expireAfterDays: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.Null()])),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: WorkspaceView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const workspace = await access.updateWorkspace(request.principal, request.params.workspaceId, request.body, request.ip);
      return { ...workspace, createdAt: workspace.createdAt.toISOString() };
    },
  );

  api.get(
    '/workspaces',
    { schema: { tags: ['workspaces'], summary: 'Workspaces you belong to, with your role', response: { 200: Type.Object({ workspaces: Type.Array(WorkspaceView) }), ...problems(401, 403) } } },
    async (request) => ({
      workspaces: (await access.workspaces(request.principal)).map((w) => ({ ...w, createdAt: w.createdAt.toISOString() })),
    }),
  );

  api.get(
    '/workspaces/:workspaceId/members',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Members of a workspace',
        params: WorkspaceParams,
        response: {
          200: Type.Object({
            members: Type.Array(Type.Object({ userId: Type.String(), email: Type.String(), name: Type.String(), role: Type.String() })),
          }),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => ({ members: await access.members(request.principal, request.params.workspaceId) }),
  );

  api.post(
    '/workspaces/:workspaceId/members',
    {
      schema: {
        tags: ['workspaces'],
        summary:
          'Add a member or change their role (by userId, or by email: 202 with an invitation while the address has no verified account); owners manage all, admins members and guests',
        params: WorkspaceParams,
        body: MemberBody,
        response: { ...noContent, 202: InvitedView(WorkspaceInvitationView), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const change = await access.setMember(request.principal, request.params.workspaceId, request.body, request.ip);
      if (change.kind === 'invited') return reply.code(202).send({ invitation: invitationView(change.invitation) });
      return reply.code(204).send(null);
    },
  );

  api.delete(
    '/workspaces/:workspaceId/members/:userId',
    {
      schema: {
        tags: ['workspaces'],
        summary: 'Remove a member (their sockets close within seconds)',
        params: Type.Object({ workspaceId: Type.String(), userId: Type.String() }),
        response: { ...noContent, ...problems(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await access.removeMember(request.principal, request.params.workspaceId, request.params.userId, request.ip);
      return reply.code(204).send(null);
    },
  );

  api.get(
    '/documents/:id/shares',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['documents'],
        summary: 'Users this document is shared with',
        params: DocumentIdParams,
        response: {
          200: Type.Object({ shares: Type.Array(Type.Object({ userId: Type.String(), email: Type.String(), permission: Type.String() })) }),
          ...problems(401, 403, 404),
        },
      },
    },
    async (request) => ({ shares: await access.shares(request.params.id) }),
  );

  api.put(
    '/documents/:id/shares',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['documents'],
        summary:
          'Share the document with a user (read or write), or change the share; by email, 202 with an invitation while the address has no verified account',
        params: DocumentIdParams,
        body: ShareBody,
        response: { ...noContent, 202: InvitedView(ShareInvitationView), ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const change = await access.setShare(request.principal, request.params.id, request.body, request.ip);
      if (change.kind === 'invited') return reply.code(202).send({ invitation: invitationView(change.invitation) });
      return reply.code(204).send(null);
    },
  );

  api.delete(
    '/documents/:id/shares/:userId',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['documents'],
        summary: "Stop sharing the document with a user (their sockets close within seconds)",
        params: Type.Object({ id: Type.String(), userId: Type.String() }),
        response: { ...noContent, ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await access.removeShare(request.principal, request.params.id, request.params.userId, request.ip);
      return reply.code(204).send(null);
    },
  );

  api.post(
    '/documents/:id/keys',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['documents'],
        summary: 'Rotate the document keys: new read and write keys, the old ones stop working (live sockets within seconds)',
        params: DocumentIdParams,
        response: { 200: DocumentKeysView, ...problems(401, 403, 404) },
      },
    },
    async (request) => access.rotateDocumentKeys(request.principal, request.params.id, request.ip),
  );

  api.post(
    '/ws-token',
    {
      schema: {
        tags: ['sockets'],
        summary: 'A one-time socket token (tdw_…, 60 s, single use) standing for your credential',
        body: Type.Optional(SocketTokenBody),
        response: { 201: Type.Object({ token: Type.String(), expiresIn: Type.Integer() }), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const documentId = request.body?.documentId;
      if (documentId !== undefined && !isValidDocumentId(documentId)) throw new AppError('INVALID_DOCUMENT_ID');
      return reply.code(201).send(await access.socketToken(request.principal, documentId));
    },
  );
}
