import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { mcpAuthorOf } from './mcp-author.ts';
import type { FastifyBaseLogger } from 'fastify';
import * as z from 'zod/v4';
import type { Authorizer } from '../../access/authorizer.ts';
import { atLeast } from '../../access/permissions.ts';
import { describePrincipal, type Principal } from '../../access/principal.ts';
import { scopedIdempotencyKey } from '../../docs/idempotency-key.ts';
import type { DocumentSearch } from '../../docs/document-search.ts';
import type { DocumentService } from '../../docs/document-service.ts';
import type { TextChange } from '../../docs/text-change.ts';
import { DOCUMENT_FORMATS } from '../../formats/ports.ts';
import { toMeta } from '../rest/document-routes.ts';
import { markdownResult, runTool, toolResult } from './mcp-errors.ts';
import { documentUri } from './mcp-resources.ts';
import { BaseVersion, ChangeInputs, changeOfInputs, Cursor, DocumentId, IdempotencyKey, Limit } from './mcp-schemas.ts';

export interface DocumentToolDeps {
  documents: DocumentService;
  search: DocumentSearch;
  authorizer: Authorizer;
  logger: FastifyBaseLogger;
}

const READS = { readOnlyHint: true, openWorldHint: false } as const;
const WRITES = { readOnlyHint: false, destructiveHint: false, openWorldHint: false } as const;

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');
const decodeCursor = (cursor: string) => Buffer.from(cursor, 'base64url').toString('utf8');

/**
 * The document tools. Each is a thin call into the services the REST routes use, after the
 * same authorizer check a REST route makes (read for reads, write for changes).
 */
export function registerDocumentTools(server: McpServer, deps: DocumentToolDeps): void {
  const { documents, search, authorizer, logger } = deps;

  /** The same write REST's PATCH makes: a text change, against `base` when given; `tool` scopes the idempotency key. */
  async function patch(
    principal: Principal,
    tool: string,
    id: string,
    change: TextChange,
    base: number | undefined,
    idempotencyKey: string | undefined,
  ) {
    await authorizer.require(principal, id, 'write');
    const scoped = idempotencyKey === undefined ? undefined : scopedIdempotencyKey(describePrincipal(principal), `mcp:${tool}`, idempotencyKey);
    const result = await documents.write(id, { kind: 'text', change }, { author: mcpAuthorOf(server, principal), base, idempotencyKey: scoped });
    return toolResult({ ...result, uri: documentUri(result.id) });
  }

  server.registerTool(
    'list_documents',
    {
      title: 'List documents',
      description:
        'List the documents this credential can read, a page at a time in id order. Returns { documents: [{ id, title, version, ' +
        'createdAt, updatedAt }], nextCursor }; call again with cursor = nextCursor for the next page (null: that was the last).',
      inputSchema: { cursor: Cursor, limit: Limit(200, 50) },
      annotations: READS,
    },
    ({ cursor, limit = 50 }, extra) =>
      runTool(logger, 'list_documents', extra, async (principal) => {
        const page = await documents.list({ afterId: cursor ? decodeCursor(cursor) : undefined, limit, scope: await authorizer.scopeOf(principal) });
        const last = page.length === limit ? page.at(-1) : undefined;
        return toolResult({ documents: page.map(toMeta), nextCursor: last ? encodeCursor(last.id) : null });
      }),
  );

  server.registerTool(
    'read_document',
    {
      title: 'Read a document',
      description:
        "Read a document's current markdown and the version it is at. Keep the version: pass it as base_version when you " +
        'patch what you read, so that your change is merged with whatever others wrote meanwhile instead of overwriting it. ' +
        'Answers { id, title, version, createdAt, updatedAt, uri } and then the markdown itself, as a second text block.',
      inputSchema: { document_id: DocumentId },
      annotations: READS,
    },
    ({ document_id }, extra) =>
      runTool(logger, 'read_document', extra, async (principal) => {
        await authorizer.require(principal, document_id, 'read');
        const { record, content } = await documents.read(document_id);
        return markdownResult({ ...toMeta(record), uri: documentUri(record.id) }, content);
      }),
  );

  server.registerTool(
    'create_document',
    {
      title: 'Create a document',
      description:
        'Create a document: markdown (the default), or rich text (format "prosemirror", edited in Tiptap; read and written as ' +
        'markdown all the same, and markdown it cannot hold, such as tables or HTML, is refused with UNSUPPORTED_MARKDOWN). ' +
        'Returns { id, title, format, version, uri, readKey, writeKey }: the two document keys are shown only ' +
        'this once (tdk_ bearer credentials: the read key reads this one document, the write key also edits it; hand them to ' +
        'whoever should have that access). Needs a user token or an API key with the write scope; a document key cannot create.',
      inputSchema: {
        id: DocumentId.optional().describe('The id to give it (1-128 characters of A-Z a-z 0-9 . _ -); generated when left out'),
        title: z.string().max(200).optional().describe('A title for listings'),
        content: z.string().optional().describe('The initial markdown'),
        format: z.enum(DOCUMENT_FORMATS).optional().describe('markdown (default) or prosemirror (rich text)'),
        workspace_id: z.string().min(1).max(128).optional().describe("The workspace it belongs to; default: the caller's own"),
      },
      annotations: WRITES,
    },
    ({ id, title, content, format, workspace_id }, extra) =>
      runTool(logger, 'create_document', extra, async (principal) => {
        const workspaceId = await authorizer.workspaceForNewDocument(principal, workspace_id);
        const { record, keys } = await documents.create({ id, title, content, format, workspaceId, author: mcpAuthorOf(server, principal) });
        return toolResult({ ...toMeta(record), uri: documentUri(record.id), readKey: keys?.readKey ?? null, writeKey: keys?.writeKey ?? null });
      }),
  );

  server.registerTool(
    'patch_document',
    {
      title: 'Patch a document',
      description:
        'Change a document with exact edits or a unified diff, made against the version you read (base_version). Tandem applies ' +
        'your change to the text of that version and merges it with everything people and other agents wrote since, so nobody\'s ' +
        'work is reverted. Give either `edits` (applied in order, each to the result of the previous one) or `diff` (a unified ' +
        'diff of the markdown against the text of base_version, as `diff -u` writes it). All of it applies or none of it does. ' +
        'Returns { id, version, changed } once the change is durable. Errors: EDIT_CONFLICT when an edit does not fit the text of ' +
        'base_version (a `find` text or heading that is not there or not unique, a hunk whose lines are not there; `details` ' +
        'names it): nothing was changed; read the document again and make the edit against that. BASE_VERSION_GONE: the base is ' +
        'older than the kept history; read again. FORBIDDEN: this credential may only read.',
      inputSchema: ChangeInputs,
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
    },
    ({ document_id, base_version, edits, diff, idempotency_key }, extra) =>
      runTool(logger, 'patch_document', extra, async (principal) =>
        patch(principal, 'patch_document', document_id, changeOfInputs(edits, diff), base_version, idempotency_key),
      ),
  );

  server.registerTool(
    'append_to_section',
    {
      title: 'Append to a section',
      description:
        'Add lines at the end of a markdown section: after its last non-blank line, before the next heading of the same or a ' +
        'higher level (a list grows by an item when you send "- item"). The same as patch_document with edits ' +
        '[{ heading, append: text }], and merged the same way. Returns { id, version, changed }. EDIT_CONFLICT when no heading ' +
        'or several headings match (give the level, "## Tasks", or read the document to find the exact heading).',
      inputSchema: {
        document_id: DocumentId,
        heading: z.string().min(1).max(1000).describe('The section\'s heading, e.g. "## Tasks" (that level) or "Tasks" (any level)'),
        text: z.string().min(1).describe('The lines to add'),
        base_version: BaseVersion.optional(),
        idempotency_key: IdempotencyKey.optional(),
      },
      annotations: WRITES,
    },
    ({ document_id, heading, text, base_version, idempotency_key }, extra) =>
      runTool(logger, 'append_to_section', extra, (principal) =>
        patch(principal, 'append_to_section', document_id, { edits: [{ heading, append: text }] }, base_version, idempotency_key),
      ),
  );

  server.registerTool(
    'search_documents',
    {
      title: 'Search documents',
      description:
        'Plain-text, case-insensitive search of the titles and current markdown of the documents this credential can read. ' +
        'Returns { results: [{ id, title, version, titleMatch, matches: [{ line, text }] }], scanned, nextCursor }. One call ' +
        'looks at up to 200 documents; when nextCursor is not null more remain: call again with cursor = nextCursor.',
      inputSchema: {
        query: z.string().min(1).max(200).describe('The text to look for (not a pattern: matched as written, ignoring case)'),
        limit: Limit(50, 20),
        cursor: Cursor,
      },
      annotations: READS,
    },
    ({ query, limit = 20, cursor }, extra) =>
      runTool(logger, 'search_documents', extra, async (principal) => {
        const page = await search.search(query, {
          scope: await authorizer.scopeOf(principal),
          mayRead: async (id) => atLeast((await authorizer.permission(principal, id)).permission, 'read'),
          limit,
          cursor,
        });
        return toolResult({ ...page, results: page.results.map((hit) => ({ ...hit, uri: documentUri(hit.id) })) });
      }),
  );
}
