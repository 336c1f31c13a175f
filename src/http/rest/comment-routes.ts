import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Authorizer } from '../../access/authorizer.ts';
import type { Principal } from '../../access/principal.ts';
import type { CommentAuthor, CommentService, CommentView as Comment, ThreadView as Thread } from '../../docs/comments.ts';
import { CommentList, CommentParams, CommentsQuery, CommentView, CreateCommentBody, ThreadView } from './comment-schemas.ts';
import { DocumentIdParams, Problem } from './schemas.ts';

const tags = ['comments'];
const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));

/** A user writes as themselves, also through their API key; a document key has no account. */
export function authorOf(principal: Principal): CommentAuthor {
  switch (principal.kind) {
    case 'user':
    case 'api-key':
      return { userId: principal.userId, label: 'unknown user' };
    case 'document-key':
      return { userId: null, label: 'anonymous (document key)' };
    case 'open':
      return { userId: null, label: 'anonymous' };
  }
}

const toJson = (comment: Comment) => ({
  ...comment,
  createdAt: comment.createdAt.toISOString(),
  resolvedAt: comment.resolvedAt?.toISOString() ?? null,
});
const threadJson = (thread: Thread) => ({ ...toJson(thread), replies: thread.replies.map(toJson) });

/**
 * Threaded comments on a document. Reading them needs read access; writing, replying,
 * resolving and reopening need write access (the route's default for POST), like editing.
 * Deleting is the author's (with write access), or a document admin's.
 */
export function registerCommentRoutes(app: FastifyInstance, deps: { comments: CommentService; authorizer: Authorizer }): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { comments, authorizer } = deps;

  api.get(
    '/documents/:id/comments',
    {
      schema: {
        tags,
        summary: "The document's threads with their replies, anchors resolved against the current version",
        params: DocumentIdParams,
        querystring: CommentsQuery,
        response: { 200: CommentList, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { version, threads } = await comments.list(request.params.id, { resolved: request.query.resolved });
      return { version, threads: threads.map(threadJson) };
    },
  );

  api.post(
    '/documents/:id/comments',
    {
      schema: {
        tags,
        summary: 'Start a thread (anchored to a range or a quote of the current text, or to the whole document), or reply to one',
        params: DocumentIdParams,
        body: CreateCommentBody,
        response: { 201: CommentView, ...problems(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const comment = await comments.create(request.params.id, request.body, authorOf(request.principal));
      reply.code(201).header('location', `/v1/documents/${request.params.id}/comments/${comment.id}`);
      return toJson(comment);
    },
  );

  for (const [action, resolved] of [['resolve', true], ['reopen', false]] as const) {
    api.post(
      `/documents/:id/comments/:commentId/${action}`,
      {
        schema: {
          tags,
          summary: resolved ? 'Resolve the thread (a reply resolves its thread)' : 'Reopen a resolved thread',
          params: CommentParams,
          response: { 200: ThreadView, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => threadJson(await comments.setResolved(request.params.id, request.params.commentId, resolved)),
    );
  }

  api.delete(
    '/documents/:id/comments/:commentId',
    {
      // Writing comments needs write access; which ones is decided below: own ones, or any for an admin.
      config: { access: 'write' },
      schema: {
        tags,
        summary: 'Delete a comment (a thread: with its replies); its author or a document admin may',
        params: CommentParams,
        response: { 204: Type.Null(), ...problems(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { id, commentId } = request.params;
      const { permission } = await authorizer.permission(request.principal, id);
      await comments.remove(id, commentId, { userId: authorOf(request.principal).userId, isAdmin: permission === 'admin' });
      return reply.code(204).send(null);
    },
  );
}
