import type { Browser, Page } from 'playwright-core';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWebBuilt } from '../../build.ts';
import { launchChromium } from '../helpers/browser.ts';
import { whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';

/**
 * Other people's presence in the editor page: y-codemirror puts a person's `user.color` and
 * `user.colorLight` into style attributes of their caret and selection as they are. A raw
 * client (anyone holding a read link can be one) publishes a colour that is a whole
 * declaration list; the page must draw a plain caret, cover nothing and fetch nothing.
 */
describe('the editor page and other people\'s colours', () => {
  let node: TestNode;
  let browser: Browser;

  beforeAll(async () => {
    await ensureWebBuilt();
    node = await startTestNode('postgres');
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await node?.close();
  });

  it('a malicious user.color neither covers the page nor makes it fetch a URL; the caret shows with a plain colour', async () => {
    const documentId = uniqueDocId('caret-colour');
    // Same origin as the page, so that the page's CSP would let the fetch through: only the
    // colour's handling can stop it.
    const probePath = `/caret-probe-${documentId}`;
    const malicious = `red;position:fixed;inset:0;z-index:9999;background:url(${node.url}${probePath})`;

    const page: Page = await (await browser.newContext({ viewport: { width: 1000, height: 700 } })).newPage();
    const probed: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes(probePath)) probed.push(request.url());
    });
    await page.goto(`${node.url}/d/${documentId}`);
    await page.locator('#save-status[data-state="saved"]').waitFor();

    const mallory = yWebsocketClient(node.wsUrl, documentId, { doc: new Y.Doc() });
    try {
      await whenSynced(mallory.provider);
      mallory.text.insert(0, 'Hello from Mallory\n');
      mallory.provider.awareness.setLocalState({
        user: { name: 'Mallory', color: malicious, colorLight: malicious },
        cursor: {
          anchor: Y.createRelativePositionFromTypeIndex(mallory.text, 0),
          head: Y.createRelativePositionFromTypeIndex(mallory.text, 5),
        },
      });
      // Her caret (with her name) and her selection are drawn: the page has her state.
      await page.locator('#editor .cm-ySelectionInfo', { hasText: 'Mallory' }).waitFor();
      await page.locator('#editor .cm-ySelection').first().waitFor();

      const drawn = await page.evaluate(() => {
        const marks = Array.from(document.querySelectorAll<HTMLElement>('#editor .cm-ySelectionCaret, #editor .cm-ySelection'));
        const isMark = (element: Element | null) => element !== null && marks.some((mark) => mark === element || mark.contains(element));
        const corners = [
          [5, 5],
          [995, 5],
          [500, 350],
          [5, 695],
          [995, 695],
        ];
        return {
          styles: marks.map((mark) => mark.getAttribute('style') ?? ''),
          positions: marks.map((mark) => getComputedStyle(mark).position),
          marksAtPoints: corners.filter(([x, y]) => isMark(document.elementFromPoint(x!, y!))).length,
          caretColour: getComputedStyle(document.querySelector('#editor .cm-ySelectionCaret')!).backgroundColor,
        };
      });
      expect.soft(drawn.styles.join(' ')).not.toMatch(/position|inset|url\(/);
      expect.soft(drawn.positions).not.toContain('fixed');
      expect.soft(drawn.marksAtPoints).toBe(0);
      expect.soft(drawn.caretColour).toMatch(/^rgb\(/);
      // Two frames painted, then a request of our own: anything the painted caret made the page
      // fetch was asked for before it, and Playwright reports requests in the order they are made.
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      const barrier = page.waitForRequest((request) => request.url().endsWith('/health?after-caret'));
      await page.evaluate(() => fetch('/health?after-caret'));
      await barrier;
      expect(probed).toEqual([]);
    } finally {
      mallory.provider.destroy();
      await page.context().close();
    }
  });

  it('shows an agent writing over REST apart from people, with its caret where it wrote, and drops it once it stops', async () => {
    const documentId = uniqueDocId('agent-in-page');
    const page: Page = await (await browser.newContext()).newPage();
    try {
      await page.goto(`${node.url}/d/${documentId}`);
      await page.locator('#save-status[data-state="saved"]').waitFor();
      const patched = await fetch(`${node.url}/v1/documents/${documentId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'agent-name': 'Scribe' },
        body: JSON.stringify({ edits: [{ append: 'Written by an agent.' }] }),
      });
      expect(patched.status).toBe(200);
      await page.locator('#people .person.agent', { hasText: 'Scribe (agent)' }).waitFor();
      await page.locator('#editor .cm-ySelectionInfo', { hasText: 'Scribe' }).waitFor();
      // The page's own person is listed as a person, not an agent.
      expect(await page.locator('#people .person:not(.agent)').count()).toBe(1);
      await page.locator('#people .person.agent').waitFor({ state: 'detached', timeout: 15_000 });
    } finally {
      await page.context().close();
    }
  });

  it('tints the text by author on demand: an agent\'s line and a person\'s typing, with a legend', async () => {
    const documentId = uniqueDocId('blame-in-page');
    const created = await fetch(`${node.url}/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'agent-name': 'Writer' },
      body: JSON.stringify({ id: documentId, content: 'Agent line.\n' }),
    });
    expect(created.status).toBe(201);
    const page: Page = await (await browser.newContext()).newPage();
    try {
      await page.goto(`${node.url}/d/${documentId}`);
      await page.locator('#save-status[data-state="saved"]').waitFor();
      await page.locator('#editor .cm-content').click();
      await page.keyboard.press('Control+End');
      await page.keyboard.type('Person line.');
      await page.locator('#save-status[data-state="saved"]').waitFor();
      await page.getByRole('tab', { name: 'History' }).click();
      await page.getByLabel('Tint the text by who wrote it').check();
      await page.locator('#blame-legend li', { hasText: 'Writer (agent)' }).waitFor();
      await page.locator('#blame-legend li', { hasText: 'Anonymous (user)' }).waitFor();
      const agentTint = page.locator('#editor .cm-content [title^="Writer, version 1"]');
      await agentTint.first().waitFor();
      expect(await agentTint.allTextContents()).toEqual(['Agent line.']);
      const personTint = page.locator('#editor .cm-content [title^="Anonymous"]');
      expect((await personTint.allTextContents()).join('')).toBe('Person line.');
      await page.getByLabel('Tint the text by who wrote it').uncheck();
      expect(await page.locator('#editor .cm-content [title^="Writer"]').count()).toBe(0);
    } finally {
      await page.context().close();
    }
  });

  it('shows open suggestions as a diff; Accept merges one into the text, Reject drops another', async () => {
    const documentId = uniqueDocId('suggestions-in-page');
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${node.url}/v1/documents${path}`, { ...init, headers: { 'content-type': 'application/json', 'agent-name': 'Reviewer', ...init.headers } });
    expect((await api('', { method: 'POST', body: JSON.stringify({ id: documentId, content: 'The cat sat.\n' }) })).status).toBe(201);
    const suggest = (edits: unknown) => api(`/${documentId}/suggestions`, { method: 'POST', body: JSON.stringify({ edits }) });
    expect((await suggest([{ find: 'cat', replace: 'dog' }])).status).toBe(201);
    expect((await suggest([{ append: 'Spam.\n' }])).status).toBe(201);
    const page: Page = await (await browser.newContext()).newPage();
    try {
      await page.goto(`${node.url}/d/${documentId}`);
      await page.locator('#save-status[data-state="saved"]').waitFor();
      await page.getByRole('tab', { name: /Suggestions \(2\)/ }).click();
      const dog = page.locator('#suggestions .suggestion', { has: page.locator('ins', { hasText: 'dog' }) });
      await dog.locator('del', { hasText: 'cat' }).waitFor();
      expect(await dog.locator('strong').textContent()).toBe('Reviewer (agent)');
      const spam = page.locator('#suggestions .suggestion', { has: page.locator('ins', { hasText: 'Spam.' }) });
      await spam.getByRole('button', { name: 'Reject' }).click();
      await dog.getByRole('button', { name: 'Accept' }).click();
      await page.locator('#editor .cm-content', { hasText: 'The dog sat.' }).waitFor();
      await page.locator('#suggestions-message', { hasText: 'No open suggestions.' }).waitFor();
      const listed = (await (await api(`/${documentId}/suggestions`)).json()) as { suggestions: { status: string }[] };
      expect(listed.suggestions.map((suggestion) => suggestion.status).sort()).toEqual(['accepted', 'rejected']);
      expect(((await (await api(`/${documentId}`)).json()) as { content: string }).content).toBe('The dog sat.\n');
    } finally {
      await page.context().close();
    }
  });
});
