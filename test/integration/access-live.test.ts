import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { docFrom, inspectPostgres, type StoreInspector } from '../helpers/db-inspect.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';
import { addressed, body, MSG_SYNC_STATUS, openRawSocket, parseHocuspocusMessage } from '../helpers/raw-socket.ts';
import { authenticateOn, yWebsocketOutcome } from '../helpers/socket-auth.ts';

/**
 * Sets an awareness field on `from` and waits until each of `to` sees it. A socket's messages
 * are handled in order, and the server's messages to a socket arrive in order: once the
 * field shows, every edit `from` sent before it has been handled, and anything that edit
 * made the server broadcast would already be on each of `to`.
 */
async function awarenessBarrier(from: Awareness, to: Awareness[], value: string): Promise<void> {
  from.setLocalStateField('barrier', value);
  await waitFor(
    () => to.every((awareness) => [...awareness.getStates().values()].some((state) => state.barrier === value)),
    `the awareness barrier ${value}`,
  );
}

/**
 * Read-only credentials on live sockets, and access taken away while a client is connected:
 * what the op log and the other clients see.
 */
describe('live enforcement on sockets', () => {
  let node: TestNode;
  let owner: TestUser;
  let db: StoreInspector;

  beforeAll(async () => {
    node = await startAuthNode();
    owner = await signUp(node, 'live-owner');
    db = inspectPostgres();
  });
  afterAll(async () => {
    await db?.close();
    await node?.close();
  });

  async function newDocument(label: string): Promise<{ id: string; readKey: string; writeKey: string }> {
    const id = uniqueDocId(label);
    const created = await owner.rest.post('/v1/documents', { id, content: 'start. ' });
    expect(created.status).toBe(201);
    return { id, readKey: created.body.readKey, writeKey: created.body.writeKey };
  }

  const storedText = async (id: string) => docFrom((await db.updates(id)).map((row) => row.update)).getText('content').toString();

  it('read-only clients of both dialects sync and see edits, but their own edits reach no one and are not logged', async () => {
    const { id, readKey, writeKey } = await newDocument('readonly');
    const writer = yWebsocketClient(node.wsUrl, id, { token: writeKey });
    const readerY = yWebsocketClient(node.wsUrl, id, { token: readKey });
    const readerH = hocuspocusClient(node.wsUrl, id, { token: readKey });
    await Promise.all([whenSynced(writer.provider), whenSynced(readerY.provider), whenSynced(readerH.provider)]);
    expect(readerY.text.toString()).toBe('start. ');

    const statuses: boolean[] = [];
    readerH.provider.on('message', ({ event }: { event: MessageEvent }) => {
      const parsed = parseHocuspocusMessage(new Uint8Array(event.data as ArrayBuffer));
      if (parsed.type === MSG_SYNC_STATUS) statuses.push(parsed.applied!);
    });
    readerY.text.insert(0, 'READER-Y ');
    readerH.text.insert(0, 'READER-H ');
    writer.text.insert(writer.text.length, 'from the writer.');
    await waitFor(
      () => readerY.text.toString().includes('from the writer.') && readerH.text.toString().includes('from the writer.'),
      'the writer\'s edit on both readers',
    );
    // The Hocuspocus reader is told its update was not applied (SyncStatus 0)...
    await waitFor(() => statuses.includes(false), 'a SyncStatus answering the Hocuspocus reader\'s edit');
    expect(readerH.provider.hasUnsyncedChanges).toBe(true);
    // ...and once each reader's later awareness has reached the others, its edit has been handled.
    await awarenessBarrier(readerY.provider.awareness, [writer.provider.awareness, readerH.provider.awareness!], 'after READER-Y');
    await awarenessBarrier(readerH.provider.awareness!, [writer.provider.awareness, readerY.provider.awareness], 'after READER-H');
    expect(writer.text.toString()).toBe('start. from the writer.');
    expect(readerY.text.toString()).not.toContain('READER-H');
    expect(readerH.text.toString()).not.toContain('READER-Y');
    // A REST read first makes everything this node accepted durable: the log has no reader edit.
    expect((await owner.rest.get(`/v1/documents/${id}`)).body).toMatchObject({ content: 'start. from the writer.', version: 2 });
    expect(await storedText(id)).toBe('start. from the writer.');
    for (const client of [writer, readerY, readerH]) client.provider.destroy();
  });

  it('a read-only raw client sending Sync Step 2 or an update with new content is answered "not applied"', async () => {
    const { id, readKey } = await newDocument('readonly-raw');
    const before = await db.updates(id);
    const socket = openRawSocket(node.wsUrl, '/collab');
    await socket.opened;
    expect(await authenticateOn(socket, id, readKey)).toEqual({ authenticated: true, readOnly: true });
    const foreign = new Y.Doc();
    foreign.getText('content').insert(0, 'injected');
    const update = Y.encodeStateAsUpdate(foreign);
    const seen = socket.received.length;
    socket.send(addressed(id, body.syncStep2(update)));
    socket.send(addressed(id, body.update(update)));
    // One SyncStatus per message, sent once the server has handled it: both say "not applied".
    const answers = () =>
      socket.received.slice(seen).map((message) => parseHocuspocusMessage(message)).filter((message) => message.type === MSG_SYNC_STATUS);
    await waitFor(() => answers().length >= 2, 'a SyncStatus for each message');
    expect(answers().map((answer) => answer.applied)).toEqual([false, false]);
    // A REST read makes whatever the node accepted durable before it answers.
    expect((await owner.rest.get(`/v1/documents/${id}`)).body).toMatchObject({ content: 'start. ', version: 1 });
    expect(await db.updates(id)).toEqual(before);
    await socket.close();
  });

  it('rotating the document keys while their client types closes it within 5 s, and nothing it sends afterwards is stored', async () => {
    const { id, writeKey } = await newDocument('revoke-typing');
    const typist = yWebsocketClient(node.wsUrl, id, { token: writeKey });
    await whenSynced(typist.provider);
    let closedAt: number | undefined;
    let closeCode: number | undefined;
    typist.provider.on('connection-close', (event: CloseEvent | null) => {
      if (closedAt === undefined) {
        closedAt = Date.now();
        closeCode = event?.code;
      }
    });
    let typed = 0;
    const typing = setInterval(() => typist.text.insert(typist.text.length, `k${typed++} `), 20);
    await waitFor(async () => (await db.headSeq(id))! > 10, 'some typing to be stored');

    const rotatedAt = Date.now();
    const rotated = await owner.rest.post(`/v1/documents/${id}/keys`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.writeKey).not.toBe(writeKey);
    await waitFor(() => closedAt !== undefined, 'the typist\'s socket to close', 10_000);
    expect(closedAt! - rotatedAt).toBeLessThan(5000);
    expect(closeCode).toBe(4403);
    // Whatever the node accepted before it closed the socket is durable once a REST read answers.
    const { version: versionAtClose } = (await owner.rest.get(`/v1/documents/${id}`)).body as { version: number };
    expect(await db.headSeq(id)).toBe(versionAtClose);

    // 4403 is final for y-websocket: the provider stays away and goes on typing locally. None
    // of that reaches the log, and coming back with the old key is refused (below).
    const typedAtClose = typed;
    await waitFor(() => typed >= typedAtClose + 10, 'more typing after the close');
    clearInterval(typing);
    expect(typist.provider.wsconnected).toBe(false);
    expect((await owner.rest.get(`/v1/documents/${id}`)).body.version).toBe(versionAtClose);
    expect(await db.headSeq(id)).toBe(versionAtClose);
    expect(await yWebsocketOutcome(node.wsUrl, id, writeKey)).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
    expect((await restAs(node, writeKey).get(`/v1/documents/${id}`)).status).toBe(401);
    // The new key works.
    expect((await restAs(node, rotated.body.writeKey).get(`/v1/documents/${id}`)).status).toBe(200);
    typist.provider.destroy();
  });

  it('revoking an API key closes its sockets; lowering a share to read downgrades them to read-only', async () => {
    const { id, writeKey } = await newDocument('revoke-key');
    const created = await owner.rest.post('/v1/api-keys', { name: 'agent', scopes: ['write'] });
    expect(created.status).toBe(201);
    const agent = hocuspocusClient(node.wsUrl, id, { token: created.body.key });
    await whenSynced(agent.provider);
    agent.text.insert(0, 'agent was here. ');
    await waitFor(async () => (await storedText(id)).includes('agent was here. '), 'the agent\'s edit stored');
    const closes: string[] = [];
    agent.provider.on('close', ({ event }: { event: { reason?: string } }) => closes.push(event.reason ?? ''));
    const refusals: string[] = [];
    agent.provider.on('authenticationFailed', ({ reason }: { reason: string }) => refusals.push(reason));
    expect((await owner.rest.delete(`/v1/api-keys/${created.body.id}`)).status).toBe(204);
    // The re-check closes the agent's connection to the document (Hocuspocus sends Close).
    await waitFor(() => closes.includes('FORBIDDEN'), 'the agent\'s document connection closed with FORBIDDEN', 10_000);
    const { version: afterRevoke } = (await owner.rest.get(`/v1/documents/${id}`)).body as { version: number };
    // Its socket stays open: an edit sent now waits for an authentication, and authenticating
    // again with the revoked key, on the same socket after the edit, is refused.
    agent.text.insert(0, 'after the revocation. ');
    await agent.provider.sendToken();
    await waitFor(() => refusals.length > 0, 'the revoked key to be refused on the same socket');
    expect((await owner.rest.get(`/v1/documents/${id}`)).body).toMatchObject({ version: afterRevoke, content: expect.not.stringContaining('after the revocation.') });
    expect(await db.headSeq(id)).toBe(afterRevoke);
    expect(await storedText(id)).not.toContain('after the revocation.');
    expect(await yWebsocketOutcome(node.wsUrl, id, created.body.key)).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
    agent.provider.destroy();

    // A user with a write share, downgraded to read while connected; a write-key client watches.
    const guest = await signUp(node, 'live-guest');
    expect((await owner.rest.put(`/v1/documents/${id}/shares`, { userId: guest.id, permission: 'write' })).status).toBe(204);
    const editor = yWebsocketClient(node.wsUrl, id, { token: guest.accessToken });
    const watcher = yWebsocketClient(node.wsUrl, id, { token: writeKey });
    await Promise.all([whenSynced(editor.provider), whenSynced(watcher.provider)]);
    editor.text.insert(0, 'while allowed. ');
    await waitFor(() => watcher.text.toString().includes('while allowed. '), 'the shared user\'s edit on the watching client');
    expect((await owner.rest.put(`/v1/documents/${id}/shares`, { userId: guest.id, permission: 'read' })).status).toBe(204);
    // Nothing tells a y-websocket client it was downgraded: probe until an edit is refused
    // (handled, as its awareness barrier shows, but never broadcast).
    let probe = 0;
    await waitFor(
      async () => {
        probe += 1;
        editor.text.insert(0, `probe ${probe}. `);
        await awarenessBarrier(editor.provider.awareness, [watcher.provider.awareness], `probe ${probe}`);
        return !watcher.text.toString().includes(`probe ${probe}. `);
      },
      'an edit of the downgraded user to be refused',
      10_000,
    );
    const { version: afterDowngrade } = (await owner.rest.get(`/v1/documents/${id}`)).body as { version: number };
    editor.text.insert(0, 'after the downgrade. ');
    await awarenessBarrier(editor.provider.awareness, [watcher.provider.awareness], 'after the downgrade');
    expect(watcher.text.toString()).not.toContain('after the downgrade.');
    expect((await owner.rest.get(`/v1/documents/${id}`)).body).toMatchObject({ version: afterDowngrade, content: expect.not.stringContaining('after the downgrade.') });
    expect(await db.headSeq(id)).toBe(afterDowngrade);
    expect(await storedText(id)).not.toContain('after the downgrade.');
    expect(editor.provider.wsconnected).toBe(true); // downgraded, not closed
    editor.provider.destroy();
    watcher.provider.destroy();
  });
});
