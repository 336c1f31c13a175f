import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FastifyBaseLogger } from 'fastify';
import type { Authorizer } from '../../access/authorizer.ts';
import { describePrincipal } from '../../access/principal.ts';
import { scopedIdempotencyKey } from '../../docs/idempotency-key.ts';
import type { SuggestionService } from '../../docs/suggestions.ts';
import { mcpAuthorOf } from './mcp-author.ts';
import { runTool, toolResult } from './mcp-errors.ts';
import { documentUri } from './mcp-resources.ts';
import { ChangeInputs, changeOfInputs } from './mcp-schemas.ts';

export interface SuggestionToolDeps {
  suggestions: SuggestionService;
  authorizer: Authorizer;
  logger: FastifyBaseLogger;
}

/** suggest_edit: patch_document's change, stored as a suggestion (POST /v1/documents/:id/suggestions) instead of applied. */
export function registerSuggestionTools(server: McpServer, deps: SuggestionToolDeps): void {
  const { suggestions, authorizer, logger } = deps;

  server.registerTool(
    'suggest_edit',
    {
      title: 'Suggest an edit',
      description:
        'Propose a change for a person to accept or reject, instead of making it: the same edits or unified diff as ' +
        'patch_document, against the version you read (base_version). The document is not changed. Returns the suggestion ' +
        '{ id, base, status: "open", author, markdown, createdAt, ... }, where markdown is the whole document as it would read ' +
        'if accepted now (your change merged with what others wrote since base_version): check it says what you meant. Someone ' +
        'with write access accepts it (merged as patch_document with that base would be) or rejects it. Errors as for ' +
        'patch_document: EDIT_CONFLICT when an edit does not fit the text of base_version (nothing was stored; read again), ' +
        'BASE_VERSION_GONE, FORBIDDEN when this credential may only read. Works with credentials that may suggest but not write.',
      inputSchema: ChangeInputs,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    ({ document_id, base_version, edits, diff, idempotency_key }, extra) =>
      runTool(logger, 'suggest_edit', extra, async (principal) => {
        const change = changeOfInputs(edits, diff);
        await authorizer.require(principal, document_id, 'suggest');
        const idempotencyKey =
          idempotency_key === undefined ? undefined : scopedIdempotencyKey(describePrincipal(principal), 'mcp:suggest_edit', idempotency_key);
        const { suggestion } = await suggestions.create(document_id, {
          change,
          base: base_version,
          author: mcpAuthorOf(server, principal),
          idempotencyKey,
        });
        return toolResult({
          ...suggestion,
          createdAt: suggestion.createdAt.toISOString(),
          decidedAt: suggestion.decidedAt?.toISOString() ?? null,
          uri: documentUri(suggestion.documentId),
        });
      }),
  );
}
