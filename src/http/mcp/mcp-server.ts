import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FastifyBaseLogger } from 'fastify';
import type { Authorizer } from '../../access/authorizer.ts';
import { atLeast } from '../../access/permissions.ts';
import type { Principal } from '../../access/principal.ts';
import type { CommentService } from '../../docs/comments.ts';
import type { DocumentHistory } from '../../docs/document-history.ts';
import type { DocumentSearch } from '../../docs/document-search.ts';
import type { DocumentService } from '../../docs/document-service.ts';
import type { SuggestionService } from '../../docs/suggestions.ts';
import { registerHistoryTools } from './mcp-history-tools.ts';
import { documentUri, registerDocumentResources } from './mcp-resources.ts';
import { createSubscriptions, type DocumentChanges, type Subscriptions } from './mcp-subscriptions.ts';
import { registerSuggestionTools } from './mcp-suggestion-tools.ts';
import { registerDocumentTools } from './mcp-tools.ts';

export interface McpServices {
  documents: DocumentService;
  history: DocumentHistory;
  comments: CommentService;
  suggestions: SuggestionService;
  search: DocumentSearch;
  authorizer: Authorizer;
  changes: DocumentChanges;
  service: { name: string; version: string };
  logger: FastifyBaseLogger;
}

/** Largest number of array elements and object members in one tool call's arguments. */
const MAX_TOOL_INPUT_ELEMENTS = 10_000;

const INSTRUCTIONS = `Tandem holds markdown documents that people edit live in their browsers while agents edit them through these tools.
The loop: read_document (or search_documents / list_documents to find one) gives the markdown and its version; make your change with
patch_document (exact edits or a unified diff) or append_to_section, passing that version as base_version. Tandem applies your change to
the text of that version and merges it with whatever people typed since, so you never overwrite their work and need not re-read first.
A tool error starting with EDIT_CONFLICT means an edit did not fit the text of base_version (text not found, not unique, a hunk that does
not fit): nothing changed; read the document again and retry against the new version. To propose a change for a person to accept or
reject instead of making it, call suggest_edit (the same inputs as patch_document). Documents are also resources
(tandem://documents/{id}); subscribe to hear when one changes.`;

/**
 * The MCP server of one session: the tools and resources over the document services. One per
 * session because the SDK's server owns its transport; `currentPrincipal` is the credential of
 * the session's latest request (checked again before every change notification).
 */
export function createMcpServer(services: McpServices, currentPrincipal: () => Principal): { server: McpServer; subscriptions: Subscriptions } {
  const { authorizer, logger } = services;
  const server = new McpServer(
    { name: services.service.name, version: services.service.version, title: 'Tandem' },
    {
      capabilities: { resources: { subscribe: true, listChanged: false }, tools: { listChanged: false } },
      instructions: INSTRUCTIONS,
      maxToolInputElements: MAX_TOOL_INPUT_ELEMENTS,
    },
  );

  const subscriptions = createSubscriptions({
    changes: services.changes,
    logger,
    notify: (documentId) => server.server.sendResourceUpdated({ uri: documentUri(documentId) }),
    async mayStillRead(documentId) {
      const principal = await authorizer.revalidate(currentPrincipal());
      return principal !== null && atLeast((await authorizer.permission(principal, documentId)).permission, 'read');
    },
  });

  registerDocumentTools(server, services);
  registerHistoryTools(server, services);
  registerSuggestionTools(server, services);
  registerDocumentResources(server, services, subscriptions);
  return { server, subscriptions };
}
