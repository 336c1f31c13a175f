import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

/** The web editor's sources; `vite build` writes the pages and bundles to web/dist. */
export const WEB_ROOT = fileURLToPath(new URL('.', import.meta.url));

/** `npm run dev:web` forwards API and socket calls to a Tandem node started with `npm start`. */
const TANDEM_URL = process.env.TANDEM_URL ?? 'http://127.0.0.1:1234';

/** In `vite` dev mode, /d/:id is the editor page, as Tandem serves it. */
function editorRoute(): Plugin {
  return {
    name: 'tandem-editor-route',
    configureServer(server) {
      server.middlewares.use((request, _response, next) => {
        if (request.url && /^\/d\/[^/?#]+$/.test(request.url.split('?')[0] ?? '')) request.url = '/editor.html';
        next();
      });
    },
  };
}

export default defineConfig({
  root: WEB_ROOT,
  // Absolute: the editor lives at /d/:id, two segments deep, and its bundles at /assets/.
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One bundle per page by design. The editor's is ~800 KB (~270 KB gzipped): CodeMirror
    // with markdown (which brings the HTML, CSS and JS parsers for code inside documents),
    // Yjs, markdown-it and DOMPurify.
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      input: { index: `${WEB_ROOT}index.html`, editor: `${WEB_ROOT}editor.html` },
    },
  },
  server: {
    proxy: {
      '/v1': TANDEM_URL,
      '/collab': { target: TANDEM_URL, ws: true },
    },
  },
  plugins: [editorRoute()],
});
