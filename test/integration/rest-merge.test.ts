import { createPatch } from 'diff';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { type RestClient, type RestResponse, restClient } from '../helpers/rest.ts';

/**
 * The agents' promise (ARCHITECTURE.md, "Agents' patches merge, they never clobber"): an agent
 * reads at version v, people type meanwhile, the agent writes against v, and both survive.
 */

const START = `# Plan

Intro paragraph.

## Tasks

- write
- test

## Notes

Nothing yet.
`;

/** What the agent wants, computed from the text it read (the base). */
const agentText = (base: string) => base.replace('- test', '- test thoroughly').replace('Nothing yet.', 'Nothing yet.\n\nAgent note.');

type Send = (api: RestClient, path: string, base: number, baseText: string) => Promise<RestResponse>;

const variants: [string, Send][] = [
  [
    'a unified diff (text/x-diff, Base-Version header)',
    (api, path, base, baseText) =>
      api.call('PATCH', path, {
        body: createPatch('doc.md', baseText, agentText(baseText)),
        type: 'text/x-diff',
        headers: { 'base-version': String(base) },
      }),
  ],
  [
    'JSON edits (find/replace and a heading-scoped append, base in the body)',
    (api, path, base) =>
      api.patch(path, {
        base,
        edits: [
          { find: '- test', replace: '- test thoroughly' },
          { heading: '## Notes', append: 'Agent note.' },
        ],
      }),
  ],
  ['a PUT of the whole new text', (api, path, base, baseText) => api.put(path, { base, content: agentText(baseText) })],
];

describe('REST writes merge with what people typed since their base', () => {
  let node: TestNode;
  let api: RestClient;
  const providers: WebsocketProvider[] = [];

  beforeAll(async () => {
    node = await startTestNode('postgres');
    api = restClient(`${node.url}/v1`);
  });
  afterEach(() => {
    for (const provider of providers.splice(0)) provider.destroy();
  });
  afterAll(async () => {
    await node?.close();
  });

  function client(id: string) {
    const c = yWebsocketClient(node.wsUrl, id);
    providers.push(c.provider);
    return c;
  }

  async function createDocument(content: string): Promise<string> {
    const id = uniqueDocId('merge');
    const created = await api.post('/documents', { id, content });
    expect(created.status).toBe(201);
    return id;
  }

  it.each(variants)('%s', async (_name, send) => {
    const id = await createDocument(START);
    const path = `/documents/${id}`;

    // The agent reads, then goes away to think.
    const read = await api.get(path);
    expect(read.status).toBe(200);
    const base = read.body.version as number;
    expect(read.headers.get('etag')).toBe(`"${base}"`);
    expect(read.body.content).toBe(START);

    // Meanwhile two people type in several places.
    const alice = client(id);
    const bob = client(id);
    await Promise.all([whenSynced(alice.provider), whenSynced(bob.provider)]);
    alice.text.insert(alice.text.toString().indexOf('Intro'), 'Alice: ');
    alice.text.insert(alice.text.toString().indexOf('- test\n') + '- test\n'.length, '- ship\n');
    bob.text.insert('# Plan'.length, ' (Bob)');
    bob.text.insert(bob.text.length, "Bob's last line.\n");
    const people = ['Alice: Intro paragraph.', '- ship\n', '# Plan (Bob)', "Bob's last line.\n"];
    await waitFor(
      () => [alice, bob].every(({ text }) => people.every((edit) => text.toString().includes(edit))),
      'both people to see each other',
    );
    const versionBefore = (await api.get(path)).body.version as number;
    expect(versionBefore).toBeGreaterThan(base);

    // The agent writes against what it read.
    const written = await send(api, path, base, START);
    expect(written.status).toBe(200);
    expect(written.body).toMatchObject({ id, changed: true });
    expect(written.body.version).toBeGreaterThan(versionBefore);
    expect(written.headers.get('etag')).toBe(`"${written.body.version}"`);

    const everything = [...people, '- test thoroughly', 'Agent note.'];
    const holdsEverything = (text: string) => everything.every((edit) => text.includes(edit));
    // Live clients see the merge at once, and agree.
    await waitFor(() => holdsEverything(alice.text.toString()) && bob.text.toString() === alice.text.toString(), 'the merge to reach both clients');
    // The answer came after the write was durable: a read now returns it at that version or later.
    const after = await api.get(path);
    expect(after.body.version).toBeGreaterThanOrEqual(written.body.version);
    expect(after.body.content).toBe(alice.text.toString());
    expect(holdsEverything(after.body.content)).toBe(true);

    // After a reload (everyone leaves, the room unloads) a fresh client reads the same.
    for (const provider of providers.splice(0)) provider.destroy();
    await waitFor(async () => /^tandem_documents_loaded 0$/m.test(await (await fetch(`${node.url}/metrics`)).text()), 'the room to unload');
    const fresh = client(id);
    await whenSynced(fresh.provider);
    expect(fresh.text.toString()).toBe(after.body.content);
  });

  it('If-Match with a version the document has moved past gets 412 and changes nothing', async () => {
    const id = await createDocument(START);
    const path = `/documents/${id}`;
    const { version } = (await api.get(path)).body;
    const person = client(id);
    await whenSynced(person.provider);
    person.text.insert(0, 'typed ');
    await waitFor(async () => (await api.get(path)).body.version > version, 'the typing to be durable');
    const before = await api.get(path);

    const refused = await api.patch(path, { edits: [{ append: 'agent' }] }, { 'if-match': `"${version}"` });
    expect(refused.status).toBe(412);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body.code).toBe('PRECONDITION_FAILED');
    const unchanged = await api.get(path);
    expect(unchanged.body).toEqual(before.body);

    // With the current version it applies.
    const accepted = await api.patch(path, { edits: [{ append: 'agent' }] }, { 'if-match': before.headers.get('etag')! });
    expect(accepted.status).toBe(200);
    expect((await api.get(path)).body.content.endsWith('agent')).toBe(true);
  });

  it('a request retried with the same Idempotency-Key is applied once, and answered the same', async () => {
    const id = await createDocument('list:\n');
    const path = `/documents/${id}`;
    const headers = { 'idempotency-key': `key-${id}` };
    const first = await api.patch(path, { edits: [{ append: '- one\n' }] }, headers);
    const retried = await api.patch(path, { edits: [{ append: '- one\n' }] }, headers);
    // Concurrent duplicates too (a client that timed out and retried at once).
    const concurrent = await Promise.all([
      api.patch(path, { edits: [{ append: '- two\n' }] }, { 'idempotency-key': `other-${id}` }),
      api.patch(path, { edits: [{ append: '- two\n' }] }, { 'idempotency-key': `other-${id}` }),
    ]);
    expect(first.status).toBe(200);
    expect(retried.body).toEqual(first.body);
    expect(concurrent[1].body).toEqual(concurrent[0].body);
    expect((await api.get(path)).body.content).toBe('list:\n- one\n- two\n');

    // The same for a create without an id: the retry gets the same document.
    const createKey = { 'idempotency-key': `create-${id}` };
    const made = await api.post('/documents', { title: 'once', content: 'x' }, createKey);
    const again = await api.post('/documents', { title: 'once', content: 'x' }, createKey);
    expect(made.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(made.body.id);
  });

  it('restoring an old version keeps what a person typed after the base the restore was made against', async () => {
    const id = await createDocument('first draft\n');
    const path = `/documents/${id}`;
    const put = await api.put(path, { content: 'second draft, much better\n' });
    expect(put.status).toBe(200);
    const head = put.body.version as number;

    // The agent decides to restore version 1; meanwhile a person types on.
    const person = client(id);
    await whenSynced(person.provider);
    person.text.insert(person.text.length, 'typed while the agent thought\n');
    await waitFor(async () => (await api.get(path)).body.version > head, 'the typing to be durable');

    const restored = await api.call('POST', `${path}/versions/1/restore`, { headers: { 'base-version': String(head) } });
    expect(restored.status).toBe(200);
    expect(restored.body.changed).toBe(true);
    const expected = 'first draft\ntyped while the agent thought\n';
    await waitFor(() => person.text.toString() === expected, 'the restore to reach the person');
    expect((await api.get(path)).body.content).toBe(expected);

    // Without a base it restores against the current version: the text of version 1 exactly.
    await api.call('POST', `${path}/versions/1/restore`);
    expect((await api.get(path)).body.content).toBe('first draft\n');
  });
});
