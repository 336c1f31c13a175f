import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyBaseLogger } from 'fastify';
import type { Authorizer } from '../../access/authorizer.ts';
import { isValidDocumentId } from '../../docs/document-id.ts';
import type { DocumentService } from '../../docs/document-service.ts';
import { principalOf, protocolError } from './mcp-errors.ts';
import type { Subscriptions } from './mcp-subscriptions.ts';

const PREFIX = 'tandem://documents/';
/** resources/list shows this many readable documents; list_documents pages through all of them. */
const LISTED = 200;
/** Per session: each subscription is a bus subscription on this node. */
const MAX_SUBSCRIPTIONS = 500;

export const documentUri = (id: string) => `${PREFIX}${id}`;

/** The document id of a tandem://documents/{id} URI, or null. */
function documentIdOf(uri: string): string | null {
  if (!uri.startsWith(PREFIX)) return null;
  const id = uri.slice(PREFIX.length);
  return isValidDocumentId(id) ? id : null;
}

export interface ResourceDeps {
  documents: DocumentService;
  authorizer: Authorizer;
  logger: FastifyBaseLogger;
}

/**
 * Documents as MCP resources, tandem://documents/{id} (the current markdown, with its
 * version in _meta), and resources/subscribe: the session then hears
 * notifications/resources/updated whenever the document changes, whoever changed it.
 */
export function registerDocumentResources(server: McpServer, deps: ResourceDeps, subscriptions: Subscriptions): void {
  const { documents, authorizer, logger } = deps;

  const template = new ResourceTemplate(`${PREFIX}{id}`, {
    list: async (extra) => {
      try {
        const page = await documents.list({ limit: LISTED, scope: await authorizer.scopeOf(principalOf(extra)) });
        return {
          resources: page.map((record) => ({
            uri: documentUri(record.id),
            name: record.id,
            title: record.title || record.id,
            mimeType: 'text/markdown',
            _meta: { version: record.version },
          })),
        };
      } catch (error) {
        throw protocolError(error, logger, 'resources/list');
      }
    },
  });

  server.registerResource(
    'document',
    template,
    {
      title: 'Tandem document',
      description: 'The current markdown of a document; _meta.version is the version it is at (the base_version for patch_document)',
      mimeType: 'text/markdown',
    },
    async (uri, _variables, extra) => {
      try {
        const id = requireDocumentId(uri.href);
        await authorizer.require(principalOf(extra), id, 'read');
        const { record, content } = await documents.read(id);
        const meta = { version: record.version, title: record.title };
        return { contents: [{ uri: documentUri(id), mimeType: 'text/markdown', text: content, _meta: meta }] };
      } catch (error) {
        throw error instanceof McpError ? error : protocolError(error, logger, 'resources/read');
      }
    },
  );

  server.server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    try {
      const id = requireDocumentId(request.params.uri);
      await authorizer.require(principalOf(extra), id, 'read');
      if (subscriptions.size >= MAX_SUBSCRIPTIONS) {
        throw new McpError(ErrorCode.InvalidRequest, `At most ${MAX_SUBSCRIPTIONS} subscriptions per session`);
      }
      await subscriptions.add(id);
      return {};
    } catch (error) {
      throw error instanceof McpError ? error : protocolError(error, logger, 'resources/subscribe');
    }
  });

  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    const id = documentIdOf(request.params.uri);
    if (id !== null) await subscriptions.remove(id);
    return {};
  });
}

function requireDocumentId(uri: string): string {
  const id = documentIdOf(uri);
  if (id === null) throw new McpError(ErrorCode.InvalidParams, `Not a Tandem document URI: ${uri} (expected ${PREFIX}<id>)`);
  return id;
}
