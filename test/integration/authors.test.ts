import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { FRAGMENT } from '../../src/formats/prosemirror-schema.ts';
import { signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { removeDir, startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';

/**
 * Authors (INTERFACE.md, "Agents as collaborators"): every stored update knows who wrote it,
 * versions say so, and blame cuts the markdown by author. Written by real clients: a
 * y-websocket client on a document link, a Hocuspocus client, agents over REST and a person
 * over REST, on one document.
 */

interface Span {
  start: number;
  end: number;
  author: { kind: string; id: string; name: string } | null;
  version: number | null;
}

/** The markdown each author wrote, by author name, in document order. */
async function textByAuthor(rest: RestClient, path: string): Promise<Record<string, string>> {
  const [blame, read] = await Promise.all([rest.get(`${path}/blame`), rest.get(path)]);
  expect(blame.status).toBe(200);
  expect(blame.body.version).toBe(read.body.version);
  const markdown = read.body.content as string;
  const spans = blame.body.spans as Span[];
  // The spans cover the markdown, in order, without gaps.
  expect(spans[0]?.start ?? 0).toBe(0);
  expect(spans.at(-1)?.end ?? 0).toBe(markdown.length);
  spans.slice(1).forEach((span, index) => expect(span.start).toBe(spans[index]!.end));
  const written: Record<string, string> = {};
  for (const span of spans) {
    const name = span.author?.name ?? '(unknown)';
    written[name] = (written[name] ?? '') + markdown.slice(span.start, span.end);
  }
  return written;
}

describe('authors with access control on', () => {
  let node: TestNode;
  let alice: TestUser;

  beforeAll(async () => {
    node = await startAuthNode();
    alice = await signUp(node, 'alice');
  });
  afterAll(async () => {
    await node?.close();
  });

  it('names the person, each agent and the link in versions and blame', async () => {
    const id = uniqueDocId('authors');
    const rest = restClient(`${node.url}/v1`, { authorization: `Bearer ${alice.accessToken}` });
    const created = await rest.post('/documents', { id, content: 'Alice wrote this.\n' });
    expect(created.status).toBe(201);
    const path = `/documents/${id}`;

    const scribe = await rest.patch(path, { edits: [{ append: 'Scribe adds a line.\n' }] }, { 'agent-name': 'Scribe' });
    expect(scribe.status).toBe(200);
    // Two agents on one credential, both writing on the live document (no base): told apart.
    const critic = await rest.patch(path, { edits: [{ append: 'Critic objects.\n' }] }, { 'agent-name': 'Critic' });
    expect(critic.status).toBe(200);

    const guest = yWebsocketClient(node.wsUrl, id, { token: created.body.writeKey });
    try {
      await whenSynced(guest.provider);
      guest.text.insert(0, 'Guest: ');
      await waitFor(async () => (await rest.get(path)).body.content.startsWith('Guest: '), "the link holder's typing to be stored");
    } finally {
      guest.provider.destroy();
    }
    // Scribe again, against the first version: merged, still Scribe's.
    const late = await rest.patch(path, { base: 1, edits: [{ find: 'Alice', replace: 'Alice really' }] }, { 'agent-name': 'Scribe' });
    expect(late.status).toBe(200);

    expect(await textByAuthor(rest, path)).toEqual({
      alice: 'Alice wrote this.\n',
      'Someone with the link': 'Guest: ',
      Scribe: 'really Scribe adds a line.\n',
      Critic: 'Critic objects.\n',
    });

    const versions = (await rest.get(`${path}/versions`)).body.versions as { version: number; author: Span['author']; authorKind: string }[];
    expect(versions.map((entry) => [entry.version, entry.author?.kind, entry.author?.name])).toEqual([
      [5, 'agent', 'Scribe'],
      [4, 'link', 'Someone with the link'],
      [3, 'agent', 'Critic'],
      [2, 'agent', 'Scribe'],
      [1, 'user', 'alice'],
    ]);
    expect(versions[4]!.author!.id).toBe(`user:${alice.id}`);
    expect(versions[0]!.author!.id).toBe(`agent:Scribe@user:${alice.id}`);
    expect(versions[1]!.authorKind).toBe('link');
  });

  it("does not credit a writer's text to someone else by making it wait for their next keystroke", async () => {
    const id = uniqueDocId('authors-pending-forge');
    const rest = restClient(`${node.url}/v1`, { authorization: `Bearer ${alice.accessToken}` });
    const created = await rest.post('/documents', { id, content: 'Intro.\n' });
    const path = `/documents/${id}`;
    const typist = yWebsocketClient(node.wsUrl, id, { token: alice.accessToken });
    const forger = yWebsocketClient(node.wsUrl, id, { token: created.body.writeKey });
    try {
      await Promise.all([whenSynced(typist.provider), whenSynced(forger.provider)]);
      typist.text.insert(typist.text.length, 'alice typed');
      await waitFor(() => forger.text.toString().endsWith('alice typed'), 'the typing to reach the forger');
      // The forger's text builds on the typist's next keystroke (a guess of it), from a new client id.
      const scratch = new Y.Doc();
      Y.applyUpdate(scratch, Y.encodeStateAsUpdate(forger.doc));
      scratch.clientID = typist.doc.clientID;
      scratch.getText('content').insert(scratch.getText('content').length, '?');
      const guessed = Y.encodeStateVector(scratch);
      scratch.clientID = 424_242;
      scratch.getText('content').insert(scratch.getText('content').length, ' [PLANTED]');
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, 0); // sync
      syncProtocol.writeUpdate(encoder, Y.encodeStateAsUpdate(scratch, guessed));
      forger.provider.ws!.send(encoding.toUint8Array(encoder));
      await new Promise((resolve) => setTimeout(resolve, 300));
      typist.text.insert(typist.text.length, '!');
      await waitFor(async () => (await rest.get(path)).body.content.includes('[PLANTED]'), 'the waiting update to be finished');
      const written = await textByAuthor(rest, path);
      expect(written['alice']).not.toContain('PLANTED');
      const versions = (await rest.get(`${path}/versions`)).body.versions as { author: Span['author'] }[];
      // The update that finished it holds both: it is by no one known, not by the typist.
      expect(versions[0]!.author).toBeNull();
    } finally {
      typist.provider.destroy();
      forger.provider.destroy();
    }
  });

  it('refuses an Agent-Name that is empty, too long or not printable, and writes nothing', async () => {
    const id = uniqueDocId('authors-bad-name');
    const rest = restClient(`${node.url}/v1`, { authorization: `Bearer ${alice.accessToken}` });
    await rest.post('/documents', { id, content: 'x' });
    // As a client sends a name in UTF-8 (fetch sends header text as Latin-1 bytes; it refuses control characters itself).
    const utf8 = (name: string) => Buffer.from(name, 'utf8').toString('latin1');
    const accepted = await rest.patch(`/documents/${id}`, { edits: [{ append: 'z' }] }, { 'agent-name': utf8('Café ☕') });
    expect(accepted.status).toBe(200);
    expect((await rest.get(`/documents/${id}/versions?limit=1`)).body.versions[0].author).toMatchObject({ kind: 'agent', name: 'Café ☕' });
    const invisible = ['\u200b\u200b', 'ali\u00adce', 'a\u202eb', 'x\u2028y'].map(utf8);
    for (const name of ['', ' ', 'a'.repeat(65), '\xe9', ...invisible]) {
      const answer = await rest.patch(`/documents/${id}`, { edits: [{ append: 'y' }] }, { 'agent-name': name });
      expect(answer.status, JSON.stringify(name)).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await rest.get(`/documents/${id}`)).body).toMatchObject({ content: 'xz', version: 2 });
  });
});

describe('authors on embedded storage, both dialects and rich text', () => {
  let node: TestNode;
  let rest: RestClient;

  beforeAll(async () => {
    node = await startTestNode('embedded');
    rest = restClient(`${node.url}/v1`);
  });
  afterAll(async () => {
    await node?.close();
    await removeDir(node?.dataDir);
  });

  it('cuts a rich-text document by author: a person typing in Tiptap\'s fragment and an agent over REST', async () => {
    const id = uniqueDocId('authors-rich');
    const path = `/documents/${id}`;
    await rest.post('/documents', { id, format: 'prosemirror', content: '# Plan\n\nFirst step.' }, { 'agent-name': 'Planner' });
    const person = hocuspocusClient(node.wsUrl, id);
    try {
      await whenSynced(person.provider);
      const paragraph = (person.doc.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).get(0) as Y.XmlText;
      paragraph.insert(paragraph.length, ' Then lunch.');
      await waitFor(() => person.provider.unsyncedChanges === 0, 'the typing to be acknowledged');
      const agent = await rest.patch(path, { edits: [{ append: '\n\n**Done** soon.' }] }, { 'agent-name': 'Planner' });
      expect(agent.status).toBe(200);
      expect((await rest.get(path)).body.content).toBe('# Plan\n\nFirst step. Then lunch.\n\n**Done** soon.');
      expect(await textByAuthor(rest, path)).toEqual({
        Planner: '# Plan\n\nFirst step.\n\n**Done** soon.',
        Anonymous: ' Then lunch.',
      });
    } finally {
      person.provider.destroy();
    }
  });

  it("dates each run of a y-websocket and a Hocuspocus client's typing by the version that wrote it", async () => {
    const id = uniqueDocId('authors-dialects');
    const path = `/documents/${id}`;
    const one = yWebsocketClient(node.wsUrl, id);
    const two = hocuspocusClient(node.wsUrl, id);
    try {
      await Promise.all([whenSynced(one.provider), whenSynced(two.provider)]);
      one.text.insert(0, 'one ');
      await waitFor(async () => (await rest.get(path)).body.content === 'one ', 'the first typing to be stored');
      two.text.insert(4, 'two');
      await waitFor(() => two.provider.unsyncedChanges === 0, 'the second typing to be acknowledged');
    } finally {
      one.provider.destroy();
      two.provider.destroy();
    }
    await rest.patch(path, { edits: [{ append: ' three' }] }, { 'agent-name': 'Counter' });
    const spans = (await rest.get(`${path}/blame`)).body.spans as Span[];
    expect(spans.map((span) => [span.start, span.end, span.author?.name, span.version])).toEqual([
      [0, 4, 'Anonymous', 1],
      [4, 7, 'Anonymous', 2],
      [7, 13, 'Counter', 3],
    ]);
  });

  it("reverts one agent: its insertions go, what it deleted comes back, and a person's typing inside its text stays", async () => {
    const id = uniqueDocId('authors-revert');
    const path = `/documents/${id}`;
    await rest.post('/documents', { id, content: 'Keep this line.\nDelete me.\n' });
    // Two writes, so that each is a plain deletion or insertion (one diff could reuse letters).
    expect((await rest.patch(path, { edits: [{ find: 'Delete me.\n', replace: '' }] }, { 'agent-name': 'Vandal' })).status).toBe(200);
    expect((await rest.patch(path, { edits: [{ append: 'Spam spam.\n' }] }, { 'agent-name': 'Vandal' })).status).toBe(200);
    const person = yWebsocketClient(node.wsUrl, id);
    try {
      await whenSynced(person.provider);
      expect(person.text.toString()).toBe('Keep this line.\nSpam spam.\n');
      person.text.insert('Keep this line.\nSpam '.length, 'HUMAN ');
      await waitFor(async () => (await rest.get(path)).body.content.includes('HUMAN'), 'the typing to be stored');
      const reverted = await rest.post(`${path}/revert`, { author: 'agent:Vandal@user:anonymous' }, { 'agent-name': 'Janitor' });
      expect(reverted.status).toBe(200);
      expect(reverted.body).toMatchObject({ changed: true });
      const expected = 'Keep this line.\nDelete me.\nHUMAN ';
      expect((await rest.get(path)).body).toMatchObject({ content: expected, version: reverted.body.version });
      await waitFor(() => person.text.toString() === expected, 'the revert to reach the person');
      // One new edit, by whoever reverted.
      const newest = (await rest.get(`${path}/versions?limit=1`)).body.versions[0];
      expect(newest).toMatchObject({ version: reverted.body.version, author: { kind: 'agent', name: 'Janitor' } });
      // Nothing of the vandal's is left to revert.
      expect((await rest.post(`${path}/revert`, { author: 'agent:Vandal@user:anonymous' })).body).toMatchObject({ changed: false });
    } finally {
      person.provider.destroy();
    }
  });

  it('reverts only what the author changed after `since`', async () => {
    const id = uniqueDocId('authors-revert-since');
    const path = `/documents/${id}`;
    await rest.post('/documents', { id, content: 'start\n' });
    const first = await rest.patch(path, { edits: [{ append: 'first\n' }] }, { 'agent-name': 'Twice' });
    await rest.patch(path, { edits: [{ append: 'second\n' }] }, { 'agent-name': 'Twice' });
    const reverted = await rest.post(`${path}/revert`, { author: 'agent:Twice@user:anonymous', since: first.body.version });
    expect(reverted.status).toBe(200);
    expect((await rest.get(path)).body.content).toBe('start\nfirst\n');
    expect((await rest.post(`${path}/revert`, { author: 'x', since: 999 })).status).toBe(400);
  });

  it("reverts an agent in a rich-text document and keeps a person's typing", async () => {
    const id = uniqueDocId('authors-revert-rich');
    const path = `/documents/${id}`;
    await rest.post('/documents', { id, format: 'prosemirror', content: '# Plan\n\nFirst step.' });
    const person = hocuspocusClient(node.wsUrl, id);
    try {
      await whenSynced(person.provider);
      const vandal = await rest.patch(path, { edits: [{ find: '# Plan', replace: '# Plan, vandalized' }, { append: '\n\nSpam.' }] }, { 'agent-name': 'Vandal' });
      expect(vandal.status).toBe(200);
      await waitFor(() => person.doc.getXmlFragment(FRAGMENT).length === 3, "the agent's paragraph to reach the person");
      const paragraph = (person.doc.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).get(0) as Y.XmlText;
      paragraph.insert(paragraph.length, ' Then lunch.');
      await waitFor(() => person.provider.unsyncedChanges === 0, 'the typing to be acknowledged');
      const reverted = await rest.post(`${path}/revert`, { author: 'agent:Vandal@user:anonymous' });
      expect(reverted.status).toBe(200);
      expect((await rest.get(path)).body.content).toBe('# Plan\n\nFirst step. Then lunch.');
    } finally {
      person.provider.destroy();
    }
  });

  it('refuses to revert an agent whose rich-text paragraph someone typed in: reverting would delete their words', async () => {
    const id = uniqueDocId('authors-revert-inside');
    const path = `/documents/${id}`;
    await rest.post('/documents', { id, format: 'prosemirror', content: 'start' });
    const person = hocuspocusClient(node.wsUrl, id);
    try {
      await whenSynced(person.provider);
      expect((await rest.patch(path, { edits: [{ append: '\n\nAgent paragraph.' }] }, { 'agent-name': 'Adder' })).status).toBe(200);
      await waitFor(() => person.doc.getXmlFragment(FRAGMENT).length === 2, "the agent's paragraph to reach the person");
      const added = (person.doc.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).get(0) as Y.XmlText;
      added.insert(0, 'BOB ');
      await waitFor(() => person.provider.unsyncedChanges === 0, 'the typing to be acknowledged');
      const refused = await rest.post(`${path}/revert`, { author: 'agent:Adder@user:anonymous' });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'EDIT_CONFLICT', details: { reason: 'OTHERS_INSIDE' } });
      expect((await rest.get(path)).body.content).toBe('start\n\nBOB Agent paragraph.');
    } finally {
      person.provider.destroy();
    }
  });
});
