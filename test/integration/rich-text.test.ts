import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { prosemirrorFormat } from '../../src/formats/prosemirror-format.ts';
import { FRAGMENT } from '../../src/formats/prosemirror-schema.ts';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { removeDir, type StorageKind, startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';

/**
 * Rich-text documents with real clients (INTERFACE.md, "Rich-text documents"): Hocuspocus
 * and y-websocket providers edit the Y.XmlFragment Tiptap uses, agents read and write the same
 * document as markdown over REST, and neither undoes the other.
 */

/** A paragraph or heading as Tiptap's Collaboration extension stores it. */
function block(name: string, text: string, attrs: Record<string, string | number> = {}): Y.XmlElement {
  const element = new Y.XmlElement(name);
  for (const [key, value] of Object.entries(attrs)) element.setAttribute(key, value as string);
  element.insert(0, [new Y.XmlText(text)]);
  return element;
}

const MAX_BYTES = 20_000;

describe.each<StorageKind>(['postgres', 'embedded'])('rich-text documents on %s', (storage) => {
  let node: TestNode;
  let rest: RestClient;

  beforeAll(async () => {
    // A small limit, for the size test below; the other documents here are far smaller.
    node = await startTestNode(storage, { env: { MAX_DOCUMENT_BYTES: String(MAX_BYTES) } });
    rest = restClient(`${node.url}/v1`);
  });
  afterAll(async () => {
    await node?.close();
    await removeDir(node?.dataDir);
  });

  it('renders a fragment a Hocuspocus client built by hand as markdown', async () => {
    const id = uniqueDocId('rich-hand');
    expect((await rest.post('/documents', { id, format: 'prosemirror' })).status).toBe(201);
    const person = hocuspocusClient(node.wsUrl, id);
    try {
      await whenSynced(person.provider);
      person.doc.getXmlFragment(FRAGMENT).insert(0, [block('heading', 'Hello', { level: 2 }), block('paragraph', 'World, in rich text.')]);
      await waitFor(() => person.provider.unsyncedChanges === 0, 'the edit to be acknowledged');
      const read = await rest.get(`/documents/${id}`);
      expect(read.body).toMatchObject({ format: 'prosemirror', content: '## Hello\n\nWorld, in rich text.' });
      // Nothing went into the markdown documents' Y.Text.
      expect(person.doc.getText('content').length).toBe(0);
    } finally {
      person.provider.destroy();
    }
  });

  it("merges an agent's patch from an older version with a person's typing in another paragraph; untouched nodes keep their identity", async () => {
    const id = uniqueDocId('rich-merge');
    const created = await rest.post('/documents', { id, format: 'prosemirror', content: '# Plan\n\nAlpha paragraph.\n\n## Later\n\nOmega paragraph.' });
    expect(created.status).toBe(201);
    expect(created.body.format).toBe('prosemirror');
    const base = created.body.version as number;

    const person = hocuspocusClient(node.wsUrl, id);
    const watcher = yWebsocketClient(node.wsUrl, id);
    try {
      await Promise.all([whenSynced(person.provider), whenSynced(watcher.provider)]);
      const fragment = person.doc.getXmlFragment(FRAGMENT);
      const [title, alpha, later] = fragment.toArray() as Y.XmlElement[];
      // The person types into the first paragraph; the agent has not seen it.
      (alpha!.get(0) as Y.XmlText).insert('Alpha'.length, ' (typed live)');
      await waitFor(() => person.provider.unsyncedChanges === 0, 'the typing to be acknowledged');

      const patch = await rest.patch(`/documents/${id}`, { base, edits: [{ heading: '## Later', replace: 'Omega, patched by an agent.' }] });
      expect(patch.status).toBe(200);

      const expected = '# Plan\n\nAlpha (typed live) paragraph.\n\n## Later\n\nOmega, patched by an agent.';
      await waitFor(() => prosemirrorFormat.render(person.doc) === expected, "the agent's patch to reach the Hocuspocus client");
      await waitFor(() => prosemirrorFormat.render(watcher.doc) === expected, 'both edits to reach the y-websocket client');
      expect((await rest.get(`/documents/${id}`, { accept: 'text/markdown' })).body).toBe(expected);
      // The person's paragraph and the headings are the same Yjs types as before the patch.
      const after = fragment.toArray();
      expect(after[0]).toBe(title);
      expect(after[1]).toBe(alpha);
      expect(after[2]).toBe(later);
    } finally {
      person.provider.destroy();
      watcher.provider.destroy();
    }
  });

  it('anchors a comment in rich text and keeps it on its words while a person types before them', async () => {
    const id = uniqueDocId('rich-comment');
    await rest.post('/documents', { id, format: 'prosemirror', content: '# Notes\n\nThe quick **brown** fox.' });
    const comment = await rest.post(`/documents/${id}/comments`, { body: 'Which fox?', anchor: { quote: 'brown** fox' } });
    expect(comment.status).toBe(201);
    expect(comment.body.anchor).toEqual({ from: 21, to: 32, text: 'brown** fox' });
    const person = hocuspocusClient(node.wsUrl, id);
    try {
      await whenSynced(person.provider);
      const paragraph = (person.doc.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).get(0) as Y.XmlText;
      paragraph.insert(0, 'Look: ');
      await waitFor(() => person.provider.unsyncedChanges === 0, 'the typing to be acknowledged');
      const threads = (await rest.get(`/documents/${id}/comments`)).body.threads as { anchor: unknown; detached: boolean }[];
      expect(threads[0]).toMatchObject({ anchor: { from: 27, to: 38, text: 'brown** fox' }, detached: false });
    } finally {
      person.provider.destroy();
    }
  });

  it('keeps its history as markdown: an old version reads back and restores as a new edit', async () => {
    const id = uniqueDocId('rich-history');
    const created = await rest.post('/documents', { id, format: 'prosemirror', content: '# Draft\n\n- [ ] first' });
    const first = created.body.version as number;
    expect((await rest.put(`/documents/${id}`, { content: '# Final\n\n- [x] first\n- [ ] second' })).status).toBe(200);
    expect((await rest.get(`/documents/${id}/versions/${first}`)).body.content).toBe('# Draft\n\n- [ ] first');
    const restored = await rest.call('POST', `/documents/${id}/versions/${first}/restore`);
    expect(restored.status).toBe(200);
    expect((await rest.get(`/documents/${id}`, { accept: 'text/markdown' })).body).toBe('# Draft\n\n- [ ] first');
  });

  it('checks a write against the size limit in Yjs terms, marks included, before applying it: people can still type after a refusal', async () => {
    const id = uniqueDocId('rich-size');
    await rest.post('/documents', { id, format: 'prosemirror', content: 'Small.' });
    // Well under the limit as markdown, far over it once every other word is a mark.
    const marked = Array.from({ length: 900 }, (_, i) => `*w${i}* x`).join(' ');
    expect(Buffer.byteLength(marked)).toBeLessThan(MAX_BYTES);
    const refused = await rest.put(`/documents/${id}`, { content: marked });
    expect(refused.status).toBe(413);
    expect(refused.body.code).toBe('DOCUMENT_TOO_LARGE');
    expect((await rest.get(`/documents/${id}`)).body.content).toBe('Small.');
    const person = hocuspocusClient(node.wsUrl, id);
    try {
      await whenSynced(person.provider);
      ((person.doc.getXmlFragment(FRAGMENT).get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(0, 'Still typing. ');
      await waitFor(() => person.provider.unsyncedChanges === 0, 'the typing to be acknowledged');
      expect((await rest.get(`/documents/${id}`)).body.content).toBe('Still typing. Small.');
    } finally {
      person.provider.destroy();
    }
  });

  it("keeps what the schema lacks (a stock Tiptap's underline, a mention): agents edit the words around it, and a write that would delete it is refused with 409", async () => {
    const id = uniqueDocId('rich-unknown');
    await rest.post('/documents', { id, format: 'prosemirror', content: 'Underlined soon.\n\nAsk someone.' });
    const person = yWebsocketClient(node.wsUrl, id);
    try {
      await whenSynced(person.provider);
      const [first, second] = person.doc.getXmlFragment(FRAGMENT).toArray() as Y.XmlElement[];
      const underlined = first!.get(0) as Y.XmlText;
      underlined.format(0, 'Underlined'.length, { underline: {} });
      const mention = new Y.XmlElement('mention');
      mention.setAttribute('id', 'u1');
      second!.insert(1, [mention]);
      const stored = async () => {
        const copy = new Y.Doc();
        Y.applyUpdate(copy, (await rest.get(`/documents/${id}/update`)).body as Uint8Array);
        return copy.getXmlFragment(FRAGMENT).toString().includes('mention');
      };
      await waitFor(stored, 'the underline and the mention to be stored');

      const applied = await rest.patch(`/documents/${id}`, { edits: [{ find: 'soon', replace: 'later' }] });
      expect(applied.status).toBe(200);
      await waitFor(() => prosemirrorFormat.render(person.doc) === 'Underlined later.\n\nAsk someone.', "the agent's write to reach the person");
      expect(underlined.toDelta()).toEqual([{ insert: 'Underlined', attributes: { underline: {} } }, { insert: ' later.' }]);

      // Rewriting the paragraph that holds the mention would delete it: refused, nothing applied.
      const refused = await rest.patch(`/documents/${id}`, { edits: [{ find: 'Ask someone.', replace: 'Ask **someone**!' }] });
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('UNSUPPORTED_CONTENT');
      expect(refused.body.detail).toContain("a 'mention' element");
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(second!.toArray().map((child) => (child instanceof Y.XmlElement ? child.nodeName : child.toString()))).toEqual(['Ask someone.', 'mention']);
      // Reads show the words; the document keeps the mark and the element.
      expect((await rest.get(`/documents/${id}`)).body.content).toBe('Underlined later.\n\nAsk someone.');
    } finally {
      person.provider.destroy();
    }
  });

  it("refuses with 409 an agent's patch from an older version that would delete a paragraph a person typed in since, and applies nothing", async () => {
    const id = uniqueDocId('rich-lost');
    const created = await rest.post('/documents', { id, format: 'prosemirror', content: 'Alpha one.\n\nBravo two.\n\nCharlie three.' });
    const base = created.body.version as number;
    const person = hocuspocusClient(node.wsUrl, id);
    try {
      await whenSynced(person.provider);
      const bravo = (person.doc.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).get(0) as Y.XmlText;
      bravo.insert(0, 'Typed: ');
      await waitFor(() => person.provider.unsyncedChanges === 0, 'the typing to be acknowledged');
      // The agent, from the version before the typing, joins Bravo into Alpha's paragraph.
      const refused = await rest.patch(`/documents/${id}`, { base, edits: [{ find: 'Alpha one.\n\nBravo two.', replace: 'Alpha one. Bravo two.' }] });
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('EDIT_CONFLICT');
      expect(refused.body.detail).toContain('Typed: Bravo two.');
      const expected = 'Alpha one.\n\nTyped: Bravo two.\n\nCharlie three.';
      expect((await rest.get(`/documents/${id}`, { accept: 'text/markdown' })).body).toBe(expected);
      expect(prosemirrorFormat.render(person.doc)).toBe(expected);
      // Read again and sent against the new version, the same change applies.
      const current = (await rest.get(`/documents/${id}`)).body.version as number;
      const applied = await rest.patch(`/documents/${id}`, { base: current, edits: [{ find: 'Alpha one.\n\nTyped: Bravo two.', replace: 'Alpha one. Typed: Bravo two.' }] });
      expect(applied.status).toBe(200);
      await waitFor(() => prosemirrorFormat.render(person.doc) === 'Alpha one. Typed: Bravo two.\n\nCharlie three.', 'the applied change to reach the person');
    } finally {
      person.provider.destroy();
    }
  });

  it('answers 422 naming what the schema cannot hold, and leaves the document as it was', async () => {
    const id = uniqueDocId('rich-refused');
    const created = await rest.post('/documents', { id, format: 'prosemirror', content: 'Kept as it is.' });
    const refused = await rest.put(`/documents/${id}`, { content: 'Kept as it is.\n\n| a | b |\n|---|---|\n| 1 | 2 |' });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.code).toBe('UNSUPPORTED_MARKDOWN');
    expect(refused.body.detail).toContain('a table');
    const read = await rest.get(`/documents/${id}`);
    expect(read.body).toMatchObject({ content: 'Kept as it is.', version: created.body.version });
    const badCreate = await rest.post('/documents', { format: 'prosemirror', content: '<div>html</div>' });
    expect(badCreate.status).toBe(422);
    expect(badCreate.body.detail).toContain('an HTML block');
  });

  it('keeps markdown documents as they were: a Y.Text, and the default format', async () => {
    const created = await rest.post('/documents', { content: 'Still *markdown*, tables | and all' });
    expect(created.body.format).toBe('markdown');
    const client = yWebsocketClient(node.wsUrl, created.body.id as string);
    try {
      await whenSynced(client.provider);
      expect(client.text.toString()).toBe('Still *markdown*, tables | and all');
      expect(client.doc.getXmlFragment(FRAGMENT).length).toBe(0);
    } finally {
      client.provider.destroy();
    }
  });
});
