import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureServerBuilt, ensureWebBuilt } from '../../build.ts';
import { whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { makeTempDir, removeDir, uniqueDocId } from '../helpers/node.ts';
import { killAllServerProcesses, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

/**
 * What `npm start` runs: build.ts compiles the server to dist/ and the process runs
 * dist/src/main.js. Everything the node reads from the checkout (prisma/migrations, web/dist,
 * package.json) must still be found from there, one folder deeper than in src/.
 */

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('the compiled server (npm start)', () => {
  let dataDir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    await ensureServerBuilt();
    await ensureWebBuilt();
    dataDir = await makeTempDir();
    server = await startServerProcess({ kind: 'embedded', dataDir }, { entry: 'dist/src/main.js' });
  }, 120_000);

  afterAll(async () => {
    await killAllServerProcesses();
    await removeDir(dataDir);
  });

  it('is up to date after a build: a second build does nothing', async () => {
    expect(await ensureServerBuilt()).toBe('up to date');
  });

  it('migrates a new data folder, serves the editor pages and names its version', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script');
    const about = (await (await fetch(`${server.url}/v1`)).json()) as { version: string };
    expect(about.version).toBe(pkg.version);
  });

  it('keeps what a y-websocket client types, readable over REST', async () => {
    const id = uniqueDocId('compiled');
    const client = yWebsocketClient(server.wsUrl, id);
    try {
      await whenSynced(client.provider);
      client.text.insert(0, 'typed into the compiled server');
      await expect
        .poll(async () => ((await (await fetch(`${server.url}/v1/documents/${id}`)).json()) as { content?: string }).content, { timeout: 10_000 })
        .toBe('typed into the compiled server');
    } finally {
      client.provider.destroy();
    }
  });

  it('works out rich text on its content thread, which it finds among the compiled files', async () => {
    const id = uniqueDocId('compiled-rich');
    const api = `${server.url}/v1/documents`;
    const json = { 'content-type': 'application/json' };
    const created = await fetch(api, { method: 'POST', headers: json, body: JSON.stringify({ id, format: 'prosemirror', content: '# Rich\n\nText.' }) });
    expect(created.status).toBe(201);
    const patched = await fetch(`${api}/${id}`, { method: 'PATCH', headers: json, body: JSON.stringify({ edits: [{ find: 'Text.', replace: 'Text, patched.' }] }) });
    expect(patched.status).toBe(200);
    expect(((await (await fetch(`${api}/${id}`)).json()) as { content: string }).content).toBe('# Rich\n\nText, patched.');
  });
});
