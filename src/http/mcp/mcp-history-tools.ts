import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FastifyBaseLogger } from 'fastify';
import * as z from 'zod/v4';
import type { Authorizer } from '../../access/authorizer.ts';
import type { CommentService, CommentView } from '../../docs/comments.ts';
import type { DocumentHistory } from '../../docs/document-history.ts';
import type { DocumentService } from '../../docs/document-service.ts';
import { authorOf } from '../rest/comment-routes.ts';
import { markdownResult, runTool, toolResult } from './mcp-errors.ts';
import { DocumentId, Limit } from './mcp-schemas.ts';

export interface HistoryToolDeps {
  documents: DocumentService;
  history: DocumentHistory;
  comments: CommentService;
  authorizer: Authorizer;
  logger: FastifyBaseLogger;
}

const READS = { readOnlyHint: true, openWorldHint: false } as const;

const commentJson = (comment: CommentView) => ({
  ...comment,
  createdAt: comment.createdAt.toISOString(),
  resolvedAt: comment.resolvedAt?.toISOString() ?? null,
});

/** History and comments: the services behind /v1/documents/:id/versions and …/comments. */
export function registerHistoryTools(server: McpServer, deps: HistoryToolDeps): void {
  const { documents, history, comments, authorizer, logger } = deps;

  server.registerTool(
    'list_versions',
    {
      title: 'List versions',
      description:
        "A document's versions, newest first: every change is one, with its author { kind: 'user' | 'agent' | 'link' | 'key', id, " +
        "name } (null for 'snapshot' entries, older history kept by compaction), and the named ones. Returns { versions: [{ version, " +
        'createdAt, author, authorKind, names }], named, nextBefore }; call again with before = nextBefore for older ones.',
      inputSchema: {
        document_id: DocumentId,
        before: z.number().int().min(1).optional().describe('Only versions older than this one'),
        limit: Limit(500, 50),
      },
      annotations: READS,
    },
    ({ document_id, before, limit = 50 }, extra) =>
      runTool(logger, 'list_versions', extra, async (principal) => {
        await authorizer.require(principal, document_id, 'read');
        const { versions, named } = await history.versions(document_id, { before, limit });
        return toolResult({
          id: document_id,
          versions: versions.map((entry) => ({ ...entry, createdAt: entry.createdAt.toISOString() })),
          named: named.map((entry) => ({ ...entry, createdAt: entry.createdAt.toISOString() })),
          nextBefore: versions.length === limit ? (versions.at(-1)?.version ?? null) : null,
        });
      }),
  );

  server.registerTool(
    'read_version',
    {
      title: 'Read a version',
      description:
        'The markdown of a document as it was at a version (one of list_versions, or a version you read earlier). Answers ' +
        '{ id, version } and then the markdown itself, as a second text block. VERSION_NOT_FOUND when the version is ' +
        'outside the kept history.',
      inputSchema: { document_id: DocumentId, version: z.number().int().min(0).describe('The version to read') },
      annotations: READS,
    },
    ({ document_id, version }, extra) =>
      runTool(logger, 'read_version', extra, async (principal) => {
        await authorizer.require(principal, document_id, 'read');
        const { content } = await documents.readVersion(document_id, version);
        return markdownResult({ id: document_id, version }, content);
      }),
  );

  server.registerTool(
    'add_comment',
    {
      title: 'Comment on a document',
      description:
        'Start a comment thread on a document, anchored to a quote of its current text (the anchor then follows those words ' +
        'through later edits) or about the whole document, or reply to a thread (parent_id). "@<email>" in the body mentions ' +
        'a user, who is notified. Needs write access, as editing does. Returns the comment { id, threadId, anchor, ... }. ' +
        'ANCHOR_NOT_FOUND when the quote is not in the current text.',
      inputSchema: {
        document_id: DocumentId,
        body: z.string().min(1).max(10_000).regex(/\S/).describe('The comment (markdown)'),
        quote: z.string().min(1).max(10_000).optional().describe('Exact text of the document the thread is about (its first occurrence)'),
        parent_id: z.string().min(1).max(200).optional().describe('Reply to this thread (a comment id; replies have no quote)'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    ({ document_id, body, quote, parent_id }, extra) =>
      runTool(logger, 'add_comment', extra, async (principal) => {
        await authorizer.require(principal, document_id, 'write');
        const comment = await comments.create(
          document_id,
          { body, anchor: quote === undefined ? undefined : { quote }, parentId: parent_id },
          authorOf(principal),
        );
        return toolResult(commentJson(comment));
      }),
  );
}
