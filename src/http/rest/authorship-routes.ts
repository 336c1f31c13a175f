import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Blame } from '../../docs/blame.ts';
import type { Reverter } from '../../docs/revert.ts';
import { Author, DocumentIdParams, Problem, WriteHeaders, WriteResult } from './schemas.ts';
import { etagOf, sendWriteResult, writeOptionsOf } from './write-options.ts';

const tags = ['authors'];
const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));

const BlameSpan = Type.Object({
  start: Type.Integer({ description: 'UTF-16 offset in the markdown' }),
  end: Type.Integer(),
  author: Type.Union([Type.Null(), Author]),
  version: Type.Union([Type.Integer(), Type.Null()], { description: 'The version that wrote it (for text older than the kept history: the first version its author wrote in)' }),
});

/** Who wrote what (blame), and undoing one author (revert). */
export function registerAuthorshipRoutes(app: FastifyInstance, deps: { blame: Blame; reverter: Reverter }): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/documents/:id/blame',
    {
      schema: {
        tags,
        summary: 'Who wrote what: the current markdown cut into runs by author and version',
        params: DocumentIdParams,
        response: { 200: Type.Object({ version: Type.Integer(), spans: Type.Array(BlameSpan) }), ...problems(404) },
      },
    },
    async (request, reply) => {
      const { version, spans } = await deps.blame.blame(request.params.id);
      reply.header('etag', etagOf(version));
      return { version, spans };
    },
  );

  api.post(
    '/documents/:id/revert',
    {
      schema: {
        tags,
        summary: "Undo one author's changes since a version as one new edit, keeping everyone else's",
        params: DocumentIdParams,
        headers: WriteHeaders,
        body: Type.Object(
          {
            author: Type.String({ minLength: 1, maxLength: 300, description: 'An author id, as versions and blame give it' }),
            since: Type.Optional(Type.Integer({ minimum: 0, description: 'Default: as far back as the history is kept' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: WriteResult, ...problems(400, 404, 409, 413) },
      },
    },
    async (request, reply) => {
      const { author, since } = request.body;
      return sendWriteResult(reply, await deps.reverter.revert(request.params.id, author, since, writeOptionsOf(request)));
    },
  );
}
