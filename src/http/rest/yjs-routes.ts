import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import * as Y from 'yjs';
import type { DocumentService } from '../../docs/document-service.ts';
import { AppError } from '../../errors.ts';
import { sendText } from './document-routes.ts';
import { DocumentIdParams, Problem, WriteHeaders, WriteResult } from './schemas.ts';
import { etagOf, sendWriteResult, writeOptionsOf } from './write-options.ts';

const tags = ['yjs'];
const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));

/** Raw Yjs for clients that keep their own Y.Doc: the state (or a diff) out, binary updates in. */
export function registerYjsRoutes(app: FastifyInstance, documents: DocumentService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/documents/:id/update',
    {
      schema: {
        tags,
        summary: 'The Yjs state as one update (application/octet-stream), or only what `sv` lacks',
        params: DocumentIdParams,
        querystring: Type.Object({ sv: Type.Optional(Type.String({ description: 'A Yjs state vector, base64' })) }),
        response: problems(400, 404),
      },
    },
    async (request, reply) => {
      const sv = request.query.sv === undefined ? undefined : decodeStateVector(request.query.sv);
      const { update, version } = await documents.yjsState(request.params.id, sv);
      reply.header('etag', etagOf(version));
      return sendText(reply, 'application/octet-stream', update);
    },
  );

  api.post(
    '/documents/:id/update',
    {
      schema: {
        tags,
        summary: 'Apply a binary Yjs update (application/octet-stream); validated before it touches the document',
        params: DocumentIdParams,
        headers: WriteHeaders,
        response: { 200: WriteResult, ...problems(400, 404, 412, 413, 415) },
      },
    },
    async (request, reply) => {
      if (!(request.body instanceof Uint8Array)) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the update as application/octet-stream');
      }
      const update = new Uint8Array(request.body);
      try {
        Y.decodeUpdate(update);
      } catch {
        throw new AppError('VALIDATION_FAILED', 'The body is not a Yjs update');
      }
      const result = await documents.write(request.params.id, { kind: 'update', update }, writeOptionsOf(request));
      return sendWriteResult(reply, result);
    },
  );
}

function decodeStateVector(base64: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
  try {
    Y.decodeStateVector(bytes);
  } catch {
    throw new AppError('VALIDATION_FAILED', 'sv is not a base64 Yjs state vector');
  }
  return bytes;
}
