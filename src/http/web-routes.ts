import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isValidDocumentId } from '../docs/document-id.ts';
import { AppError } from '../errors.ts';
import { projectRoot } from '../project-root.ts';

/** Where `vite build` (web/vite.config.ts) puts the pages; `npm start` builds it when stale. */
export const WEB_DIST = join(projectRoot(), 'web', 'dist');

/**
 * The pages run our own bundled scripts only (no inline script, nothing from elsewhere) and
 * talk to this origin alone, sockets included. Styles may be inline: CodeMirror injects its
 * theme as <style> elements and y-codemirror colours remote cursors with style attributes.
 * Images in the preview may come from anywhere over https, as in any markdown viewer.
 * No upgrade-insecure-requests, for the same reason as the API docs (plain http nodes).
 */
const PAGE_CSP = {
  useDefaults: false,
  directives: {
    'default-src': ["'self'"],
    'base-uri': ["'none'"],
    'connect-src': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'img-src': ["'self'", 'data:', 'https:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
  },
};

const pageRoute = { schema: { hide: true }, helmet: { contentSecurityPolicy: PAGE_CSP, frameguard: { action: 'deny' as const } } };

/**
 * The web editor (web/): the start page at `/`, the editor at `/d/:id`, their bundles under
 * `/assets/`. Access never travels in these URLs: the editor reads its document key from the
 * `#key=` fragment, which browsers do not send, and the pages authenticate their own REST and
 * socket calls.
 */
export async function registerWebRoutes(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? WEB_DIST;
  // Only the hashed bundles are served by path; the pages have routes of their own below.
  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/assets/',
    index: false,
    // Vite names every bundle by its content hash: a changed file is a new URL.
    immutable: true,
    maxAge: '365d',
  });

  app.get('/', pageRoute, (_request, reply) => sendPage(reply, root, 'index.html'));

  app.get<{ Params: { id: string } }>('/d/:id', pageRoute, (request, reply) => {
    if (!isValidDocumentId(request.params.id)) throw new AppError('INVALID_DOCUMENT_ID');
    return sendPage(reply, root, 'editor.html');
  });
}

function sendPage(reply: FastifyReply, root: string, file: string): FastifyReply {
  // Checked per request, so that a build made after start is picked up without a restart.
  if (!existsSync(join(root, file))) {
    return reply
      .code(503)
      .type('text/plain; charset=utf-8')
      .send('The web editor is not built. Run `npm run build` (`npm start` does it for you).\n');
  }
  // Pages name the current bundles: revalidated every time, never cached like the bundles.
  return reply.header('cache-control', 'no-cache').sendFile(file, root, { cacheControl: false });
}
