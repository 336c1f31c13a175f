import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { SuggestionService, SuggestionView } from '../../docs/suggestions.ts';
import { Author, changeOfPatchBody, DocumentIdParams, editsCountedFirst, PatchBodies, Problem, TextEdit, WriteHeaders } from './schemas.ts';
import { authorOfRequest, etagOf, idempotencyKeyOf, writeOptionsOf } from './write-options.ts';

const tags = ['suggestions'];
const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));

const Status = Type.Union([Type.Literal('open'), Type.Literal('accepting'), Type.Literal('accepted'), Type.Literal('rejected')], {
  description: "open; accepting: an accept is under way (for a moment; or, when its node died, until an accept takes it over 30 s later); accepted; rejected",
});

const Suggestion = Type.Object({
  id: Type.String(),
  documentId: Type.String(),
  base: Type.Integer({ description: 'The version the change was made against; accepting merges it with everything since, as a PATCH with this base' }),
  status: Status,
  author: Author,
  markdown: Type.String({
    description:
      'The document as it would read once accepted: for an open suggestion, the change merged with the content now; for a closed one, with the content it had when it was made',
  }),
  conflict: Type.Union([Type.String(), Type.Null()], {
    description: "For an open suggestion that would not apply now, the error code accepting it would answer (EDIT_CONFLICT, BASE_VERSION_GONE, ...); then `markdown` is as it was made",
  }),
  change: Type.Union([Type.Object({ edits: Type.Array(TextEdit) }), Type.Object({ diff: Type.String() })], { description: 'The change, as it was sent' }),
  createdAt: Type.String({ format: 'date-time' }),
  decidedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  decidedBy: Type.Union([Author, Type.Null()], { description: 'Who accepted or rejected it' }),
  version: Type.Union([Type.Integer(), Type.Null()], { description: 'Once accepted: the version that holds it' }),
});

const SuggestionParams = Type.Object({ id: Type.String(), sid: Type.String({ minLength: 1, maxLength: 200 }) });

const toJson = (suggestion: SuggestionView) => ({
  ...suggestion,
  change: 'edits' in suggestion.change ? { edits: [...suggestion.change.edits] } : suggestion.change,
  createdAt: suggestion.createdAt.toISOString(),
  decidedAt: suggestion.decidedAt?.toISOString() ?? null,
});

/**
 * Suggestions: a change sent as a PATCH would be, stored instead of applied, until someone
 * who may write accepts it (as a PATCH with its base) or rejects it. Suggesting needs the
 * `suggest` permission, which write access includes and an API key's `suggest` scope gives.
 */
export function registerSuggestionRoutes(app: FastifyInstance, deps: { suggestions: SuggestionService }): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { suggestions } = deps;

  api.post(
    '/documents/:id/suggestions',
    {
      config: { access: 'suggest' },
      // As for PATCH: 20,000 edits are answered 413 before the schema looks at each of them.
      preValidation: editsCountedFirst,
      schema: {
        tags,
        summary: 'Suggest a change (what PATCH takes: JSON { base?, edits } or a text/x-diff body), stored without changing the document',
        params: DocumentIdParams,
        headers: WriteHeaders,
        body: PatchBodies,
        response: { 200: Suggestion, 201: Suggestion, ...problems(400, 401, 403, 404, 409, 412, 413, 415, 422) },
      },
    },
    async (request, reply) => {
      const { change, base: bodyBase } = changeOfPatchBody(request.body);
      const { base, ifMatch } = writeOptionsOf(request, bodyBase);
      const { suggestion, created } = await suggestions.create(request.params.id, {
        change,
        base,
        ifMatch,
        author: authorOfRequest(request),
        idempotencyKey: idempotencyKeyOf(request),
      });
      reply.code(created ? 201 : 200).header('location', `/v1/documents/${request.params.id}/suggestions/${suggestion.id}`);
      return toJson(suggestion);
    },
  );

  api.get(
    '/documents/:id/suggestions',
    {
      schema: {
        tags,
        summary: "The document's suggestions, newest first, a page at a time",
        params: DocumentIdParams,
        querystring: Type.Object({
          status: Type.Optional(Status),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
          cursor: Type.Optional(Type.String({ maxLength: 1000, description: 'nextCursor of the previous page' })),
        }),
        response: {
          200: Type.Object({ suggestions: Type.Array(Suggestion), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...problems(400, 401, 403, 404),
        },
      },
    },
    async (request) => {
      const { status, limit = 20, cursor } = request.query;
      const page = await suggestions.list(request.params.id, { status, limit, cursor });
      return { suggestions: page.suggestions.map(toJson), nextCursor: page.nextCursor };
    },
  );

  api.get(
    '/documents/:id/suggestions/:sid',
    {
      schema: { tags, summary: 'One suggestion', params: SuggestionParams, response: { 200: Suggestion, ...problems(400, 401, 403, 404) } },
    },
    async (request) => toJson(await suggestions.get(request.params.id, request.params.sid)),
  );

  api.post(
    '/documents/:id/suggestions/:sid/accept',
    {
      schema: {
        tags,
        summary:
          "Accept: the change is merged against its base as a PATCH with that base would be, written as its author's; applied once however often it is accepted",
        params: SuggestionParams,
        response: { 200: Suggestion, ...problems(400, 401, 403, 404, 409, 413, 422) },
      },
    },
    async (request, reply) => {
      const suggestion = await suggestions.accept(request.params.id, request.params.sid, authorOfRequest(request));
      if (suggestion.version !== null) reply.header('etag', etagOf(suggestion.version));
      return toJson(suggestion);
    },
  );

  api.post(
    '/documents/:id/suggestions/:sid/reject',
    {
      schema: { tags, summary: 'Reject: the suggestion is closed, the document untouched', params: SuggestionParams, response: { 200: Suggestion, ...problems(400, 401, 403, 404, 409) } },
    },
    async (request) => toJson(await suggestions.reject(request.params.id, request.params.sid, authorOfRequest(request))),
  );
}
