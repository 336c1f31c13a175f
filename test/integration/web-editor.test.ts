import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../build.ts';
import { TEST_JWT_SECRET } from '../helpers/auth.ts';
import { editorText, launchChromium, saveState } from '../helpers/browser.ts';
import { waitFor } from '../helpers/clients.ts';
import { uniqueDocId } from '../helpers/node.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';
import { killAllServerProcesses, restartServerProcess, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

/**
 * The web editor end to end: Tandem as `npm start` runs it (a real process, access control on,
 * Postgres), Debian's Chromium, and people who reach the document through its links.
 */

// Access tokens live five seconds, so that a signed-in page lives through several of them.
const SERVER_ENV = { AUTH: 'on', JWT_SECRET: TEST_JWT_SECRET, ACCESS_TOKEN_TTL_SECONDS: '5' };
const INITIAL = "# Plan\n\nAda's notes:\n\nGrace's notes:\n";
const ADA_TYPES = ' the intro is done.';
const GRACE_TYPES = ' I am reviewing it.';
const AGENT_LINE = '- agent: summary written\n';
const OFFLINE_TYPES = ' Typed while the server was down.';
/**
 * The screenshots: into test-results/ (git-ignored) on every run; UPDATE_SCREENSHOTS=1 writes
 * the ones the README shows, in docs/screenshots/, instead.
 */
const SCREENSHOTS = new URL(process.env.UPDATE_SCREENSHOTS ? '../../docs/screenshots/' : '../../test-results/screenshots/', import.meta.url);

let server: ServerProcess;
/** Every process that served the test (the first one, and the one after the restart). */
const servers: ServerProcess[] = [];
let browser: Browser;
let documentId: string;
let readKey: string;
let writeKey: string;
let agent: RestClient;
const contexts: BrowserContext[] = [];
/** Errors any page reported (uncaught exceptions, console errors). */
const pageErrors: string[] = [];
let ada: Page;
let grace: Page;
let ownerLogin: { email: string; password: string };

/** REST as the documents' owner, with a fresh access token (they live five seconds here). */
async function asOwner(): Promise<RestClient> {
  const login = await restClient(server.url).post('/v1/auth/login', ownerLogin);
  expect(login.status).toBe(200);
  return restClient(server.url, { authorization: `Bearer ${login.body.accessToken}` });
}

async function openEditor(name: string, key: string, viewport = { width: 1280, height: 720 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  // What a person would have typed into "Your name" on an earlier visit.
  await context.addInitScript((chosen) => localStorage.setItem('tandem.name', chosen), name);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  page.on('console', (message) => {
    // While the server is down the browser reports each refused socket; that is expected.
    if (message.type() === 'error' && !/WebSocket connection|ERR_CONNECTION_REFUSED|Failed to load resource/.test(message.text())) {
      pageErrors.push(`${name}: ${message.text()}`);
    }
  });
  await page.goto(`${server.url}/d/${documentId}#key=${key}`);
  await page.locator('#save-status[data-state="saved"]').waitFor();
  return page;
}

/** Puts the caret at the end of line `line` (1-based), as a person would with the keyboard. */
async function caretToEndOfLine(page: Page, line: number): Promise<void> {
  await page.locator('#editor .cm-content').click();
  await page.keyboard.press('Control+Home');
  for (let i = 1; i < line; i += 1) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('End');
}

async function storedContent(): Promise<string> {
  const answer = await agent.get('/v1/documents/' + documentId, { accept: 'text/markdown' });
  expect(answer.status).toBe(200);
  return answer.body as string;
}

async function allShow(pages: Page[], expected: (text: string) => boolean, what: string): Promise<void> {
  await waitFor(async () => (await Promise.all(pages.map(editorText))).every(expected), what);
}

describe('web editor', () => {
  beforeAll(async () => {
    await ensureWebBuilt();
    server = await startServerProcess({ kind: 'postgres' }, { env: SERVER_ENV });
    servers.push(server);
    const email = `web-${Date.now().toString(36)}@example.com`;
    ownerLogin = { email, password: 'correct horse battery' };
    const registered = await restClient(server.url).post('/v1/auth/register', { ...ownerLogin, name: 'Ada' });
    expect(registered.status).toBe(201);
    const owner = restClient(server.url, { authorization: `Bearer ${registered.body.accessToken}` });
    documentId = uniqueDocId('web-editor');
    const created = await owner.post('/v1/documents', { id: documentId, title: 'Plan', content: INITIAL });
    expect(created.status).toBe(201);
    ({ readKey, writeKey } = created.body as { readKey: string; writeKey: string });
    // The agent needs no account: the write key is its credential.
    agent = restClient(server.url, { authorization: `Bearer ${writeKey}` });
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await killAllServerProcesses();
  });

  it('serves the start page and the editor with a strict script policy', async () => {
    const start = await fetch(`${server.url}/`);
    expect(start.status).toBe(200);
    expect(start.headers.get('content-type')).toContain('text/html');
    expect(start.headers.get('content-security-policy')).toContain("script-src 'self'");
    // Pages name the current bundles, so they are never kept like the bundles themselves.
    expect(start.headers.get('cache-control')).toBe('no-cache');
    expect(await start.text()).toContain('Open a document');
    const editor = await fetch(`${server.url}/d/${documentId}`);
    expect(editor.status).toBe(200);
    const html = await editor.text();
    expect(html).toContain('id="editor"');
    // Every script is a bundle from this origin (the policy allows no inline script).
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => new URL(match[1]!, editor.url));
    expect(assets.some((asset) => asset.pathname.endsWith('.js'))).toBe(true);
    for (const asset of assets) {
      const response = await fetch(asset);
      expect(response.status, asset.pathname).toBe(200);
      expect(response.headers.get('cache-control'), asset.pathname).toContain('immutable');
      await response.arrayBuffer();
    }
    expect((await fetch(`${server.url}/d/not%20an%20id`)).status).toBe(400);
  });

  it('two people typing at the same time end with the same text', async () => {
    [ada, grace] = await Promise.all([openEditor('Ada', writeKey), openEditor('Grace', writeKey)]);
    expect(await editorText(ada)).toBe(INITIAL);
    await caretToEndOfLine(ada, 3);
    await caretToEndOfLine(grace, 5);
    await Promise.all([ada.keyboard.type(ADA_TYPES, { delay: 15 }), grace.keyboard.type(GRACE_TYPES, { delay: 15 })]);

    const expected = `# Plan\n\nAda's notes:${ADA_TYPES}\n\nGrace's notes:${GRACE_TYPES}\n`;
    await allShow([ada, grace], (text) => text === expected, 'both pages to show both people’s typing');
    await waitFor(async () => (await saveState(ada)) === 'saved' && (await saveState(grace)) === 'saved', 'both pages to say all is stored');
    expect(await storedContent()).toBe(expected);
  });

  it('shows who else is there, with their cursor and name', async () => {
    // Grace selects her sentence: Ada sees the selection and Grace's named cursor.
    await grace.keyboard.down('Shift');
    for (let i = 0; i < GRACE_TYPES.length - 1; i += 1) await grace.keyboard.press('ArrowLeft');
    await grace.keyboard.up('Shift');
    await ada.locator('#editor .cm-ySelectionInfo', { hasText: 'Grace' }).waitFor();
    await ada.locator('#editor .cm-ySelection').first().waitFor();
    await ada.locator('#people li', { hasText: 'Ada (you)' }).waitFor();
    await ada.locator('#people li', { hasText: 'Grace' }).waitFor();
    await ada.locator('#preview h1', { hasText: 'Plan' }).waitFor();
    // Animations off: CodeMirror's own caret blinks, and could be caught invisible.
    await ada.screenshot({ path: new URL('editor.png', SCREENSHOTS).pathname, animations: 'disabled' });
  });

  it('an agent’s REST patch appears live in both pages, attributed to an agent', async () => {
    const patched = await agent.patch(`/v1/documents/${documentId}`, { edits: [{ append: AGENT_LINE }] }, { 'agent-name': 'Summarizer' });
    expect(patched.status).toBe(200);
    await allShow([ada, grace], (text) => text.endsWith(`\n${AGENT_LINE}`), 'the agent’s line in both pages');
    // Marked in the text for a few seconds, and announced.
    await ada.locator('#editor .cm-agentEdit', { hasText: 'agent: summary written' }).waitFor();
    await ada.locator('#activity', { hasText: 'An agent edited the document' }).waitFor();
  });

  it('a read-only link cannot type', async () => {
    const before = await editorText(ada);
    // At phone width: the page must fit without sideways scrolling.
    const reader = await openEditor('Reader', readKey, { width: 390, height: 844 });
    await reader.locator('#access-badge').waitFor();
    expect(await editorText(reader)).toBe(before);
    expect(await reader.locator('#editor .cm-content').getAttribute('contenteditable')).toBe('false');
    await reader.locator('#editor .cm-content').click();
    await reader.keyboard.type('should not appear');
    await reader.keyboard.press('Enter');
    expect(await editorText(reader)).toBe(before);
    expect(await reader.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    // Nothing reached the others or the op log either.
    expect(await storedContent()).toBe(before);
    expect(await editorText(ada)).toBe(before);
  });

  it('survives a server restart: reconnects and loses nothing typed meanwhile', async () => {
    server.kill('SIGTERM');
    await waitFor(async () => (await saveState(ada)) === 'offline', 'Ada’s page to say it is offline');
    await caretToEndOfLine(ada, 3);
    await ada.keyboard.type(OFFLINE_TYPES, { delay: 10 });
    server = await restartServerProcess(server, { samePort: true, env: SERVER_ENV });
    servers.push(server);

    await allShow([ada, grace], (text) => text.includes(`${ADA_TYPES}${OFFLINE_TYPES}\n`), 'the words typed offline in both pages');
    await waitFor(async () => (await saveState(ada)) === 'saved', 'Ada’s page to say all is stored again', 30_000);
    // Each sees the other again, without either having to move.
    await ada.locator('#people li', { hasText: 'Grace' }).waitFor();
    await grace.locator('#people li', { hasText: 'Ada' }).waitFor();
    expect(await storedContent()).toBe(await editorText(ada));
    expect(await editorText(grace)).toBe(await editorText(ada));
  });

  it('the history panel lists versions, shows one, and restores it for everyone', async () => {
    await ada.getByRole('tab', { name: 'History' }).click();
    // The agent's write is its own row, under the name it wrote with.
    const agentVersion = ada.locator('#versions .version', { has: ada.locator('.author-agent', { hasText: 'Summarizer' }) }).first();
    await agentVersion.waitFor();
    await agentVersion.click();
    await ada.locator('#version-view pre', { hasText: AGENT_LINE.trim() }).waitFor();
    const shown = await ada.locator('#version-view pre').textContent();
    expect(shown).not.toContain(OFFLINE_TYPES);
    await ada.screenshot({ path: new URL('history.png', SCREENSHOTS).pathname, animations: 'disabled' });

    await ada.getByRole('button', { name: 'Restore this version' }).click();
    await ada.locator('#version-view', { hasText: 'Restored as version' }).waitFor();
    await allShow([ada, grace], (text) => text === shown, 'the restored text in both pages');
    await waitFor(async () => (await saveState(ada)) === 'saved', 'Ada’s page to say all is stored');
    expect(await storedContent()).toBe(shown);
  });

  it('a page whose link was replaced says so, instead of saving forever', async () => {
    const owner = await asOwner();
    const id = uniqueDocId('web-replaced');
    const created = await owner.post('/v1/documents', { id, title: 'Replaced', content: 'old link\n' });
    expect(created.status).toBe(201);
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${server.url}/d/${id}#key=${created.body.writeKey}`);
    await page.locator('#save-status[data-state="saved"]').waitFor();

    expect((await (await asOwner()).post(`/v1/documents/${id}/keys`)).status).toBe(200);
    await page.locator('#save-status[data-state="denied"]', { hasText: 'This link was replaced or revoked; ask for the new one.' }).waitFor();
    expect(await page.locator('#editor .cm-content').getAttribute('contenteditable')).toBe('false');
  });

  it('a rich-text document opens in Tiptap: two people type, an agent patches as markdown, everyone sees it all', async () => {
    const owner = await asOwner();
    const id = uniqueDocId('web-rich');
    const created = await owner.post('/v1/documents', { id, title: 'Rich', format: 'prosemirror', content: '# Rich\n\nFirst paragraph.' });
    expect(created.status).toBe(201);
    const key = created.body.writeKey as string;
    const open = async (name: string) => {
      const context = await browser.newContext();
      contexts.push(context);
      await context.addInitScript((chosen) => localStorage.setItem('tandem.name', chosen), name);
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
      await page.goto(`${server.url}/d/${id}#key=${key}`);
      await page.locator('#save-status[data-state="saved"]').waitFor();
      await page.locator('#editor .rich-text[contenteditable="true"]').waitFor();
      return page;
    };
    const [ada, grace] = [await open('Ada'), await open('Grace')];
    const richText = (page: Page) => page.locator('#editor .rich-text').innerText();
    expect(await richText(ada)).toContain('First paragraph.');
    // No CodeMirror on a rich-text document: its Y.Text is not where the content is.
    expect(await ada.locator('#editor .cm-content').count()).toBe(0);

    // Ada types at the end of the paragraph, in bold.
    await ada.locator('#editor .rich-text p').first().click();
    await ada.keyboard.press('End');
    await ada.keyboard.type(' Typed by Ada');
    await ada.keyboard.press('Control+b');
    await ada.keyboard.type(' in bold');
    await waitFor(async () => (await richText(grace)).includes('Typed by Ada in bold'), "Ada's typing in Grace's page");
    // Grace sees Ada's caret with her name.
    await grace.locator('#editor .collaboration-carets__label', { hasText: 'Ada' }).waitFor();

    // An agent appends a section as markdown, against the version it read before the typing.
    const patched = await restClient(server.url, { authorization: `Bearer ${key}` }).patch(`/v1/documents/${id}`, { base: created.body.version, edits: [{ append: '\n\n## From the agent\n\n- [ ] review it' }] });
    expect(patched.status).toBe(200);
    for (const page of [ada, grace]) {
      await page.locator('#editor .rich-text h2', { hasText: 'From the agent' }).waitFor();
      await page.locator('#editor .rich-text ul[data-type="taskList"] li', { hasText: 'review it' }).waitFor();
    }
    await waitFor(async () => {
      const markdown = (await owner.get(`/v1/documents/${id}`, { accept: 'text/markdown' })).body as string;
      return markdown === '# Rich\n\nFirst paragraph. Typed by Ada **in bold**\n\n## From the agent\n\n- [ ] review it';
    }, 'the markdown to hold the typing and the patch');
  });

  it('a signed-in page keeps typing across access-token expiries: it reconnects with fresh tokens and loses nothing', async () => {
    const owner = await asOwner();
    const id = uniqueDocId('web-session');
    expect((await owner.post('/v1/documents', { id, title: 'Session', content: '' })).status).toBe(201);
    // Signed in as the start page would leave it: the session in localStorage, no link key.
    const login = await restClient(server.url).post('/v1/auth/login', ownerLogin);
    const session = {
      user: login.body.user,
      accessToken: login.body.accessToken,
      accessExpiresAt: Date.now() + login.body.expiresIn * 1000,
      refreshToken: login.body.refreshToken,
    };
    const context = await browser.newContext();
    contexts.push(context);
    await context.addInitScript((value) => localStorage.setItem('tandem.session', value), JSON.stringify(session));
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`session page: ${error.message}`));
    let socketTokens = 0;
    page.on('request', (request) => {
      if (request.url().endsWith('/v1/ws-token')) socketTokens += 1;
    });
    await page.goto(`${server.url}/d/${id}`);
    await page.locator('#save-status[data-state="saved"]').waitFor();
    expect(socketTokens).toBe(1);

    // Twelve seconds of typing: the socket's token expires at least twice meanwhile.
    await page.locator('#editor .cm-content').click();
    const words: string[] = [];
    const until = Date.now() + 12_000;
    for (let i = 0; Date.now() < until; i += 1) {
      words.push(`w${i} `);
      await page.keyboard.type(`w${i} `, { delay: 20 });
    }
    await waitFor(async () => (await saveState(page)) === 'saved', 'the page to say all is stored', 30_000);
    expect(socketTokens).toBeGreaterThanOrEqual(3);
    expect(await editorText(page)).toBe(words.join(''));
    expect((await (await asOwner()).get(`/v1/documents/${id}`, { accept: 'text/markdown' })).body).toBe(words.join(''));
  });

  it('never puts a document key in a URL the server sees, nor in its logs, and the pages raised no errors', () => {
    const logs = JSON.stringify(servers.flatMap((process) => process.logs));
    expect(logs).toContain('Tandem listening on');
    expect(logs).not.toContain(writeKey);
    expect(logs).not.toContain(readKey);
    expect(pageErrors).toEqual([]);
  });
});
