import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';

interface Thread {
  id: string;
  threadId: string;
  parentId: string | null;
  body: string;
  author: { id: string | null; name: string };
  resolvedAt: string | null;
  quote: string;
  anchor: { from: number; to: number; text: string } | null;
  detached: boolean;
  replies: Thread[];
}

/** Comments end to end: real users, a real node, a stock y-websocket client and REST writes. */
describe('comments anchored to text', () => {
  let node: TestNode;
  let owner: TestUser;
  let member: TestUser;
  let outsider: TestUser;

  beforeAll(async () => {
    node = await startAuthNode();
    [owner, member, outsider] = (await Promise.all(['cm-owner', 'cm-member', 'cm-outsider'].map((label) => signUp(node, label)))) as [TestUser, TestUser, TestUser];
    expect((await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: member.id, role: 'member' })).status).toBe(204);
  });
  afterAll(async () => {
    await node?.close();
  });

  async function newDocument(label: string, content: string) {
    const id = uniqueDocId(label);
    const created = await owner.rest.post('/v1/documents', { id, content });
    expect(created.status).toBe(201);
    return { id, readKey: created.body.readKey as string, writeKey: created.body.writeKey as string };
  }

  async function threads(id: string, as: TestUser = owner, query = ''): Promise<Thread[]> {
    const listed = await as.rest.get(`/v1/documents/${id}/comments${query}`);
    expect(listed.status).toBe(200);
    return listed.body.threads;
  }

  async function contentOf(id: string): Promise<string> {
    return (await owner.rest.get(`/v1/documents/${id}`)).body.content;
  }

  /** The anchor of the thread, checked against the content of the same moment. */
  async function anchorOf(id: string, threadId: string) {
    const listed = await owner.rest.get(`/v1/documents/${id}/comments`);
    const read = await owner.rest.get(`/v1/documents/${id}`);
    expect(listed.body.version).toBe(read.body.version); // nothing else writes meanwhile
    const thread = (listed.body.threads as Thread[]).find((t) => t.id === threadId)!;
    if (thread.anchor) expect(read.body.content.slice(thread.anchor.from, thread.anchor.to)).toBe(thread.anchor.text);
    return thread.anchor;
  }

  it('an anchor stays on the same words through edits around it, over a socket and over REST', async () => {
    const { id } = await newDocument('cm-anchor', 'The quick brown fox jumps over the lazy dog.\n');
    const created = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'Which fox?', anchor: { quote: 'brown fox' } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/documents/${id}/comments/${created.body.id}`);
    expect(created.body).toMatchObject({
      documentId: id,
      threadId: created.body.id,
      parentId: null,
      body: 'Which fox?',
      author: { id: owner.id, name: 'cm-owner' },
      quote: 'brown fox',
      anchor: { from: 10, to: 19, text: 'brown fox' },
      detached: false,
      resolvedAt: null,
    });
    const threadId = created.body.id as string;

    // A person types in a browser: before the words, right against both edges, and after them.
    const client = yWebsocketClient(node.wsUrl, id, { token: member.accessToken });
    await whenSynced(client.provider);
    const typed = async (change: () => void, expected: string) => {
      change();
      await waitFor(async () => (await contentOf(id)) === expected, `the server to have ${JSON.stringify(expected)}`);
    };
    const text = client.text;
    await typed(() => text.insert(0, 'Look: '), 'Look: The quick brown fox jumps over the lazy dog.\n');
    await typed(() => text.insert(text.toString().indexOf('brown'), 'very '), 'Look: The quick very brown fox jumps over the lazy dog.\n');
    await typed(() => text.insert(text.toString().indexOf('fox') + 3, 'es'), 'Look: The quick very brown foxes jumps over the lazy dog.\n');
    // "es" typed right at the end edge stays outside: the anchor is still "brown fox".
    expect(await anchorOf(id, threadId)).toEqual({ from: 21, to: 30, text: 'brown fox' });
    await typed(() => text.delete(text.toString().indexOf('es jumps'), 2), 'Look: The quick very brown fox jumps over the lazy dog.\n');
    await typed(() => text.insert(text.length, 'The end.\n'), 'Look: The quick very brown fox jumps over the lazy dog.\nThe end.\n');
    await typed(() => text.delete(0, 'Look: '.length), 'The quick very brown fox jumps over the lazy dog.\nThe end.\n');
    expect(await anchorOf(id, threadId)).toEqual({ from: 15, to: 24, text: 'brown fox' });

    // An agent patches over REST, around the words and then by rewriting the whole text.
    expect((await member.rest.patch(`/v1/documents/${id}`, { edits: [{ prepend: '# Story\n\n' }, { find: 'quick very', replace: 'quick' }, { find: 'lazy', replace: 'sleepy' }] })).status).toBe(200);
    expect(await anchorOf(id, threadId)).toEqual({ from: 19, to: 28, text: 'brown fox' });
    const rewritten = (await contentOf(id)).replace('jumps over', 'leaps over');
    expect((await member.rest.put(`/v1/documents/${id}`, { content: rewritten })).status).toBe(200);
    const after = await anchorOf(id, threadId);
    expect(after?.text).toBe('brown fox');
    await waitFor(() => text.toString() === rewritten, 'the socket client to see the REST edits');

    // Typing inside the words takes the new text in.
    await typed(() => text.insert(text.toString().indexOf(' fox'), ' little'), rewritten.replace('brown fox', 'brown little fox'));
    expect((await anchorOf(id, threadId))?.text).toBe('brown little fox');

    // Deleting the words detaches the thread; it remembers what it was about.
    const current = text.toString();
    await typed(() => text.delete(current.indexOf('brown little fox'), 'brown little fox'.length), current.replace('brown little fox', ''));
    const [thread] = await threads(id);
    expect(thread).toMatchObject({ id: threadId, anchor: null, detached: true, quote: 'brown fox' });
    client.provider.destroy();
  });

  it('threads take offsets or a quote, or no anchor at all; replies join their thread', async () => {
    const { id } = await newDocument('cm-threads', 'alpha beta gamma beta\n');
    const byOffsets = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'on alpha', anchor: { from: 0, to: 5 } });
    expect(byOffsets.body.anchor).toEqual({ from: 0, to: 5, text: 'alpha' });
    const firstBeta = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'first beta', anchor: { quote: 'beta' } });
    expect(firstBeta.body.anchor).toEqual({ from: 6, to: 10, text: 'beta' });
    const general = await member.rest.post(`/v1/documents/${id}/comments`, { body: 'on the whole thing' });
    expect(general.body).toMatchObject({ anchor: null, detached: false, quote: '', author: { id: member.id } });

    const reply = await member.rest.post(`/v1/documents/${id}/comments`, { body: 'agreed', parentId: byOffsets.body.id });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ threadId: byOffsets.body.id, parentId: byOffsets.body.id, anchor: null, quote: '' });
    // A reply to a reply is a reply to the thread.
    const nested = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'me too', parentId: reply.body.id });
    expect(nested.body).toMatchObject({ threadId: byOffsets.body.id, parentId: byOffsets.body.id });

    const listed = await threads(id, member);
    expect(listed.map((t) => t.body)).toEqual(['on alpha', 'first beta', 'on the whole thing']);
    expect(listed[0]!.replies.map((r) => [r.body, r.author.id])).toEqual([
      ['agreed', member.id],
      ['me too', owner.id],
    ]);
    expect(listed[1]!.replies).toEqual([]);
  });

  it('resolve and reopen a thread; a listing can show only open or only resolved ones', async () => {
    const { id } = await newDocument('cm-resolve', 'one two three\n');
    const thread = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'fix two', anchor: { quote: 'two' } });
    const other = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'still open' });
    const reply = await member.rest.post(`/v1/documents/${id}/comments`, { body: 'done', parentId: thread.body.id });

    const resolved = await member.rest.post(`/v1/documents/${id}/comments/${thread.body.id}/resolve`);
    expect(resolved.status).toBe(200);
    expect(resolved.body.resolvedAt).toEqual(expect.any(String));
    expect(resolved.body.anchor).toEqual({ from: 4, to: 7, text: 'two' });
    expect(resolved.body.replies.map((r: Thread) => r.id)).toEqual([reply.body.id]);
    // Again: nothing changes, the first resolution's time stays.
    const again = await owner.rest.post(`/v1/documents/${id}/comments/${thread.body.id}/resolve`);
    expect(again.body.resolvedAt).toBe(resolved.body.resolvedAt);

    expect((await threads(id, owner, '?resolved=true')).map((t) => t.id)).toEqual([thread.body.id]);
    expect((await threads(id, owner, '?resolved=false')).map((t) => t.id)).toEqual([other.body.id]);
    expect((await threads(id)).map((t) => t.id)).toEqual([thread.body.id, other.body.id]);

    // Reopening through a reply's id reopens its thread.
    const reopened = await owner.rest.post(`/v1/documents/${id}/comments/${reply.body.id}/reopen`);
    expect(reopened.status).toBe(200);
    expect(reopened.body).toMatchObject({ id: thread.body.id, resolvedAt: null });
    expect((await threads(id, owner, '?resolved=true'))).toEqual([]);
  });

  it('reading comments needs read access; writing, resolving and deleting need write access', async () => {
    const { id, readKey, writeKey } = await newDocument('cm-access', 'some text\n');
    const thread = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'a note', anchor: { quote: 'text' } });

    const reader = restAs(node, readKey);
    expect((await reader.get(`/v1/documents/${id}/comments`)).body.threads).toHaveLength(1);
    const refused = await reader.post(`/v1/documents/${id}/comments`, { body: 'may I?' });
    expect([refused.status, refused.body.code, refused.headers.get('content-type')]).toEqual([403, 'FORBIDDEN', 'application/problem+json; charset=utf-8']);
    expect((await reader.post(`/v1/documents/${id}/comments/${thread.body.id}/resolve`)).status).toBe(403);
    expect((await reader.call('DELETE', `/v1/documents/${id}/comments/${thread.body.id}`)).status).toBe(403);

    const readScoped = await owner.rest.post('/v1/api-keys', { scopes: ['read'] });
    expect((await restAs(node, readScoped.body.key).post(`/v1/documents/${id}/comments`, { body: 'may I?' })).status).toBe(403);

    // Someone with write access comments: a document key writes without an account.
    const byKey = await restAs(node, writeKey).post(`/v1/documents/${id}/comments`, { body: 'from an agent', parentId: thread.body.id });
    expect(byKey.status).toBe(201);
    expect(byKey.body.author).toEqual({ id: null, name: 'anonymous (document key)' });

    expect((await outsider.rest.get(`/v1/documents/${id}/comments`)).status).toBe(404);
    expect((await outsider.rest.post(`/v1/documents/${id}/comments`, { body: 'hi' })).status).toBe(404);
    expect((await restAs(node, 'tdm_nope').get(`/v1/documents/${id}/comments`)).status).toBe(401);
    const anonymous = await fetch(`${node.url}/v1/documents/${id}/comments`);
    expect(anonymous.status).toBe(401);
  });

  it('a comment is deleted by its author or a document admin, a thread with its replies', async () => {
    const { id } = await newDocument('cm-delete', 'words\n');
    const byMember = await member.rest.post(`/v1/documents/${id}/comments`, { body: 'member thread' });
    const byOwner = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'owner reply', parentId: byMember.body.id });
    const notTheirs = await member.rest.call('DELETE', `/v1/documents/${id}/comments/${byOwner.body.id}`);
    expect([notTheirs.status, notTheirs.body.code]).toEqual([403, 'FORBIDDEN']);

    const other = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'owner thread' });
    expect((await member.rest.call('DELETE', `/v1/documents/${id}/comments/${byMember.body.id}`)).status).toBe(204);
    expect((await threads(id)).map((t) => t.id)).toEqual([other.body.id]); // its reply went with it
    const gone = await member.rest.call('DELETE', `/v1/documents/${id}/comments/${byMember.body.id}`);
    expect([gone.status, gone.body.code]).toEqual([404, 'COMMENT_NOT_FOUND']);
    // The owner administers the document: any comment is theirs to delete.
    const mine = await member.rest.post(`/v1/documents/${id}/comments`, { body: 'member again' });
    expect((await owner.rest.call('DELETE', `/v1/documents/${id}/comments/${mine.body.id}`)).status).toBe(204);
  });

  it('unknown documents and comments are 404; a comment of another document is unknown here', async () => {
    const { id } = await newDocument('cm-404', 'text\n');
    const { id: otherId } = await newDocument('cm-404-other', 'text\n');
    const elsewhere = await owner.rest.post(`/v1/documents/${otherId}/comments`, { body: 'over there' });

    const noDoc = await owner.rest.get(`/v1/documents/${uniqueDocId('cm-missing')}/comments`);
    expect([noDoc.status, noDoc.body.code]).toEqual([404, 'DOC_NOT_FOUND']);
    for (const path of [`/comments/nope/resolve`, `/comments/nope/reopen`, `/comments/${elsewhere.body.id}/resolve`]) {
      const response = await owner.rest.post(`/v1/documents/${id}${path}`);
      expect([response.status, response.body.code], path).toEqual([404, 'COMMENT_NOT_FOUND']);
    }
    const badParent = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'reply', parentId: elsewhere.body.id });
    expect([badParent.status, badParent.body.code]).toEqual([404, 'COMMENT_NOT_FOUND']);
    const deleted = await owner.rest.call('DELETE', `/v1/documents/${id}/comments/${elsewhere.body.id}`);
    expect([deleted.status, deleted.body.code]).toEqual([404, 'COMMENT_NOT_FOUND']);

    // A deleted document has no comments to show or take.
    expect((await owner.rest.delete(`/v1/documents/${id}`)).status).toBe(204);
    expect((await owner.rest.get(`/v1/documents/${id}/comments`)).body.code).toBe('DOC_NOT_FOUND');
    expect((await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'late' })).body.code).toBe('DOC_NOT_FOUND');
  });

  it('bad bodies are 400 problem+json naming the problem; an anchor that does not fit is 409', async () => {
    const { id } = await newDocument('cm-bad', 'short text\n');
    const thread = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'ok' });
    const bad: [unknown, string][] = [
      [{}, ''],
      [{ body: '' }, '/body'],
      [{ body: '   ' }, '/body'],
      [{ body: 1 }, '/body'],
      [{ body: 'x', extra: true }, ''],
      [{ body: 'x', anchor: { from: -1, to: 2 } }, '/anchor'],
      [{ body: 'x', anchor: { from: 1 } }, '/anchor'],
      [{ body: 'x', anchor: { quote: '' } }, '/anchor'],
      [{ body: 'x', anchor: { from: 3, to: 3 } }, '/anchor/to'],
      [{ body: 'x', anchor: { from: 4, to: 2 } }, '/anchor/to'],
      [{ body: 'x', anchor: { quote: 'short' }, parentId: thread.body.id }, '/anchor'],
    ];
    for (const [body, path] of bad) {
      const response = await owner.rest.post(`/v1/documents/${id}/comments`, body);
      expect([response.status, response.body.code], JSON.stringify(body)).toEqual([400, 'VALIDATION_FAILED']);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.body.details.map((d: { path: string }) => d.path).some((p: string) => p.startsWith(path)), JSON.stringify(response.body.details)).toBe(true);
    }
    const notJson = await owner.rest.call('POST', `/v1/documents/${id}/comments`, { body: '{"body":', type: 'application/json' });
    expect([notJson.status, notJson.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const badQuery = await owner.rest.get(`/v1/documents/${id}/comments?resolved=maybe`);
    expect([badQuery.status, badQuery.body.code]).toEqual([400, 'VALIDATION_FAILED']);

    const missing = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'x', anchor: { quote: 'long text' } });
    expect([missing.status, missing.body.code]).toEqual([409, 'ANCHOR_NOT_FOUND']);
    const outside = await owner.rest.post(`/v1/documents/${id}/comments`, { body: 'x', anchor: { from: 2, to: 500 } });
    expect([outside.status, outside.body.code]).toEqual([409, 'ANCHOR_NOT_FOUND']);
    expect(await threads(id)).toHaveLength(1);
  });
});
