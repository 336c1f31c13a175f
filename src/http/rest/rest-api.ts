import type { FastifyInstance } from 'fastify';
import type { DocumentHistory } from '../../docs/document-history.ts';
import { isValidDocumentId } from '../../docs/document-id.ts';
import type { DocumentService } from '../../docs/document-service.ts';
import { AppError } from '../../errors.ts';
import { registerDocumentRoutes } from './document-routes.ts';
import { registerSyncRoutes } from './sync-routes.ts';
import { registerVersionRoutes } from './version-routes.ts';
import { registerYjsRoutes } from './yjs-routes.ts';

export interface RestDeps {
  documents: DocumentService;
  history: DocumentHistory;
}

/** The agents' API under /v1 (INTERFACE.md, "REST"). */
export async function restApi(app: FastifyInstance, deps: RestDeps): Promise<void> {
  // Markdown and diffs arrive as text; raw Yjs updates as bytes.
  app.addContentTypeParser(['text/markdown', 'text/x-diff'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // Before schema validation, so a bad id is INVALID_DOCUMENT_ID (as on the sockets), not a schema error.
  app.addHook('preValidation', async (request) => {
    const { id } = (request.params ?? {}) as { id?: string };
    if (id !== undefined && !isValidDocumentId(id)) throw new AppError('INVALID_DOCUMENT_ID');
  });

  registerDocumentRoutes(app, deps.documents);
  registerVersionRoutes(app, deps);
  registerYjsRoutes(app, deps.documents);
  registerSyncRoutes(app, deps.history);
}
