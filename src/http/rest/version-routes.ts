import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { DocumentHistory } from '../../docs/document-history.ts';
import type { DocumentService } from '../../docs/document-service.ts';
import { sendText } from './document-routes.ts';
import { Author, DocumentIdParams, Problem, VersionParams, WriteHeaders, WriteResult } from './schemas.ts';
import { etagOf, sendWriteResult, writeOptionsOf } from './write-options.ts';

const tags = ['versions'];
const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));

const VersionEntry = Type.Object({
  version: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  author: Type.Union([Type.Null(), Author], { description: 'null for a snapshot, and for changes made before Tandem kept authors' }),
  authorKind: Type.String({ description: "author.kind, or 'snapshot' (a version kept by compaction after its log entries were trimmed; its time is when the snapshot was written); for changes made before Tandem kept authors, 'user' (WebSocket) or 'agent' (REST)" }),
  names: Type.Array(Type.String()),
});

const NamedVersion = Type.Object({ name: Type.String(), version: Type.Integer(), createdAt: Type.String({ format: 'date-time' }) });

/** History: every op-log entry is a version; versions can be named, read and restored. */
export function registerVersionRoutes(app: FastifyInstance, deps: { documents: DocumentService; history: DocumentHistory }): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { documents, history } = deps;

  api.get(
    '/documents/:id/versions',
    {
      schema: {
        tags,
        summary: 'List versions, newest first (a page at a time), and the named ones',
        params: DocumentIdParams,
        querystring: Type.Object({
          before: Type.Optional(Type.Integer({ minimum: 1, description: 'Only versions older than this' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
        }),
        response: {
          200: Type.Object({
            versions: Type.Array(VersionEntry),
            named: Type.Array(NamedVersion),
            nextBefore: Type.Union([Type.Integer(), Type.Null()]),
          }),
          ...problems(400, 404),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const { versions, named } = await history.versions(request.params.id, { before: request.query.before, limit });
      return {
        versions: versions.map((entry) => ({ ...entry, createdAt: entry.createdAt.toISOString() })),
        named: named.map((entry) => ({ ...entry, createdAt: entry.createdAt.toISOString() })),
        nextBefore: versions.length === limit ? (versions.at(-1)?.version ?? null) : null,
      };
    },
  );

  api.post(
    '/documents/:id/versions',
    {
      schema: {
        tags,
        summary: 'Name a version (the current one unless `version` is given)',
        params: DocumentIdParams,
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: 200 }), version: Type.Optional(Type.Integer({ minimum: 0 })) },
          { additionalProperties: false },
        ),
        response: { 201: NamedVersion, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const named = await history.nameVersion(request.params.id, request.body.name, request.body.version);
      reply.code(201);
      return { ...named, createdAt: named.createdAt.toISOString() };
    },
  );

  api.get(
    '/documents/:id/versions/:version',
    {
      schema: {
        tags,
        summary: 'Read the markdown of a kept version (JSON, or Accept: text/markdown)',
        params: VersionParams,
        response: { 200: Type.Object({ id: Type.String(), version: Type.Integer(), content: Type.String() }), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const { id, version } = request.params;
      const { content } = await documents.readVersion(id, version);
      reply.header('etag', etagOf(version));
      if (request.headers.accept?.includes('text/markdown')) return sendText(reply, 'text/markdown; charset=utf-8', content);
      return { id, version, content };
    },
  );

  api.post(
    '/documents/:id/versions/:version/restore',
    {
      schema: {
        tags,
        summary:
          'Restore a version as a new edit against the current version (or Base-Version): edits made since that base survive',
        params: VersionParams,
        headers: WriteHeaders,
        response: { 200: WriteResult, ...problems(400, 404, 409, 412) },
      },
    },
    async (request, reply) => {
      const { id, version } = request.params;
      const result = await documents.restore(id, version, writeOptionsOf(request));
      return sendWriteResult(reply, result);
    },
  );
}
