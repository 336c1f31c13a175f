import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import Type, { type Static } from 'typebox';
import type { Authorizer } from '../../access/authorizer.ts';
import type { DocumentService } from '../../docs/document-service.ts';
import type { DocumentRecord } from '../../storage/document-repository.ts';
import {
  CreateBody,
  CreatedDocument,
  DocumentIdParams,
  DocumentMeta,
  DocumentWithContent,
  PageQuery,
  changeOfPatchBody,
  editsCountedFirst,
  PatchBodies,
  Problem,
  PutBody,
  WriteHeaders,
  WriteResult,
} from './schemas.ts';
import { authorOfRequest, etagOf, idempotencyKeyOf, matchesAnyTag, sendWriteResult, writeOptionsOf } from './write-options.ts';

export function toMeta(record: DocumentRecord) {
  return {
    id: record.id,
    title: record.title,
    format: record.format,
    version: record.version,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));
const tags = ['documents'];

/** Documents: create, read (JSON or markdown), list, replace, patch, delete, undelete. */
export function registerDocumentRoutes(app: FastifyInstance, documents: DocumentService, authorizer: Authorizer): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/documents',
    {
      schema: {
        tags,
        summary: 'Create a document',
        body: CreateBody,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) }),
        response: { 200: CreatedDocument, 201: CreatedDocument, ...problems(400, 401, 403, 409, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const { workspaceId, ...input } = request.body;
      const { record, created, keys } = await documents.create({
        ...input,
        idempotencyKey: idempotencyKeyOf(request),
        author: authorOfRequest(request),
        workspaceId: await authorizer.workspaceForNewDocument(request.principal, workspaceId),
      });
      const self = `/v1/documents/${record.id}`;
      reply.code(created ? 201 : 200).header('location', self).header('etag', etagOf(record.version));
      return {
        ...toMeta(record),
        links: { self, markdown: self, websocket: `/ws/${record.id}` },
        readKey: keys?.readKey ?? null,
        writeKey: keys?.writeKey ?? null,
      };
    },
  );

  api.get(
    '/documents',
    {
      schema: {
        tags,
        summary: 'List documents (by id, a page at a time)',
        querystring: PageQuery,
        response: { 200: Type.Object({ documents: Type.Array(DocumentMeta), nextCursor: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const afterId = request.query.cursor ? Buffer.from(request.query.cursor, 'base64url').toString('utf8') : undefined;
      const page = await documents.list({ afterId, limit, scope: await authorizer.scopeOf(request.principal) });
      const last = page.length === limit ? page.at(-1) : undefined;
      return { documents: page.map(toMeta), nextCursor: last ? Buffer.from(last.id).toString('base64url') : null };
    },
  );

  api.get(
    '/documents/:id',
    {
      schema: {
        tags,
        summary: 'Read a document: JSON, or the markdown alone with Accept: text/markdown',
        params: DocumentIdParams,
        response: { 200: DocumentWithContent, 304: Type.Null(), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      // A cheap check first: a client that has this version needs no content.
      const { version } = await documents.describe(id);
      if (matchesAnyTag(request.headers['if-none-match'], version)) {
        return reply.code(304).header('etag', etagOf(version)).send(null);
      }
      const { record, content } = await documents.read(id);
      reply.header('etag', etagOf(record.version));
      if (wantsMarkdown(request.headers.accept)) {
        return sendText(reply, 'text/markdown; charset=utf-8', content);
      }
      return { ...toMeta(record), content };
    },
  );

  api.put(
    '/documents/:id',
    {
      schema: {
        tags,
        summary: 'Replace the whole content (text/markdown body, or JSON { content, base? })',
        params: DocumentIdParams,
        headers: WriteHeaders,
        body: {
          content: {
            'application/json': { schema: PutBody },
            'text/markdown': { schema: Type.String({ description: 'The new markdown' }) },
            'text/plain': { schema: Type.String({ description: 'The new markdown' }) },
          },
        },
        response: { 200: WriteResult, ...problems(400, 404, 409, 412, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const body = request.body as string | Static<typeof PutBody>;
      const content = typeof body === 'string' ? body : body.content;
      const options = writeOptionsOf(request, typeof body === 'string' ? undefined : body.base);
      const result = await documents.write(request.params.id, { kind: 'text', change: { content } }, options);
      return sendWriteResult(reply, result);
    },
  );

  api.patch(
    '/documents/:id',
    {
      preValidation: editsCountedFirst,
      schema: {
        tags,
        summary: 'Apply edits: a unified diff (text/x-diff) or JSON { base?, edits }',
        params: DocumentIdParams,
        headers: WriteHeaders,
        body: PatchBodies,
        response: { 200: WriteResult, ...problems(400, 404, 409, 412, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const { change, base } = changeOfPatchBody(request.body);
      const options = writeOptionsOf(request, base);
      return sendWriteResult(reply, await documents.write(request.params.id, { kind: 'text', change }, options));
    },
  );

  api.delete(
    '/documents/:id',
    {
      schema: {
        tags,
        summary: 'Delete a document (recoverable with POST /documents/:id/undelete)',
        params: DocumentIdParams,
        response: { 204: Type.Null(), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      await documents.remove(request.params.id);
      return reply.code(204).send(null);
    },
  );

  api.post(
    '/documents/:id/undelete',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        summary: 'Bring a deleted document back',
        params: DocumentIdParams,
        response: { 200: DocumentMeta, ...problems(400, 404) },
      },
    },
    async (request) => toMeta(await documents.undelete(request.params.id)),
  );
}

function wantsMarkdown(accept: string | undefined): boolean {
  if (!accept) return false;
  const markdown = accept.indexOf('text/markdown');
  const json = accept.indexOf('application/json');
  return markdown !== -1 && (json === -1 || markdown < json);
}

/** A non-JSON body (markdown, Yjs bytes): the route's JSON response schema does not apply to it. */
export function sendText(reply: FastifyReply, contentType: string, payload: string | Uint8Array): FastifyReply {
  return (reply as FastifyReply).type(contentType).send(payload);
}
