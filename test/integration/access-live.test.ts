import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restAs, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { docFrom, inspectPostgres, type StoreInspector } from '../helpers/db-inspect.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';
import { addressed, body, MSG_SYNC_STATUS, openRawSocket, parseHocuspocusMessage } from '../helpers/raw-socket.ts';
import { authenticateOn, yWebsocketOutcome } from '../helpers/socket-auth.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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

    readerY.text.insert(0, 'READER-Y ');
    readerH.text.insert(0, 'READER-H ');
    writer.text.insert(writer.text.length, 'from the writer.');
    await waitFor(
      () => readerY.text.toString().includes('from the writer.') && readerH.text.toString().includes('from the writer.'),
      'the writer\'s edit on both readers',
    );
    // Give refused edits every chance to have travelled, then look everywhere.
    await sleep(500);
    expect(writer.text.toString()).toBe('start. from the writer.');
    expect(readerY.text.toString()).not.toContain('READER-H');
    expect(readerH.text.toString()).not.toContain('READER-Y');
    expect(await storedText(id)).toBe('start. from the writer.');
    expect((await owner.rest.get(`/v1/documents/${id}`)).body.content).toBe('start. from the writer.');
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
    await socket.waitForMessage(
      (message) => socket.received.indexOf(message) >= seen && parseHocuspocusMessage(message).type === MSG_SYNC_STATUS,
      'a sync status',
    );
    await sleep(300);
    expect(await db.updates(id)).toEqual(before);
    expect((await owner.rest.get(`/v1/documents/${id}`)).body.content).toBe('start. ');
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
    const headAtClose = await db.headSeq(id);

    // The provider reconnects with its old key and keeps typing: none of it is stored.
    await sleep(1500);
    clearInterval(typing);
    expect(await db.headSeq(id)).toBe(headAtClose);
    expect(await yWebsocketOutcome(node.wsUrl, id, writeKey)).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
    expect((await restAs(node, writeKey).get(`/v1/documents/${id}`)).status).toBe(401);
    // The new key works.
    expect((await restAs(node, rotated.body.writeKey).get(`/v1/documents/${id}`)).status).toBe(200);
    typist.provider.destroy();
  });

  it('revoking an API key closes its sockets; lowering a share to read downgrades them to read-only', async () => {
    const { id } = await newDocument('revoke-key');
    const created = await owner.rest.post('/v1/api-keys', { name: 'agent', scopes: ['write'] });
    expect(created.status).toBe(201);
    const agent = hocuspocusClient(node.wsUrl, id, { token: created.body.key });
    await whenSynced(agent.provider);
    agent.text.insert(0, 'agent was here. ');
    await waitFor(async () => (await storedText(id)).includes('agent was here. '), 'the agent\'s edit stored');
    expect((await owner.rest.delete(`/v1/api-keys/${created.body.id}`)).status).toBe(204);
    await sleep(1500); // several re-check intervals (200 ms in these tests)
    const headAfterRevoke = await db.headSeq(id);
    agent.text.insert(0, 'after the revocation. ');
    await sleep(500);
    expect(await db.headSeq(id)).toBe(headAfterRevoke);
    expect(await storedText(id)).not.toContain('after the revocation.');
    expect(await yWebsocketOutcome(node.wsUrl, id, created.body.key)).toEqual({ code: 4401, reason: 'UNAUTHORIZED' });
    agent.provider.destroy();

    // A user with a write share, downgraded to read while connected.
    const guest = await signUp(node, 'live-guest');
    expect((await owner.rest.put(`/v1/documents/${id}/shares`, { userId: guest.id, permission: 'write' })).status).toBe(204);
    const editor = yWebsocketClient(node.wsUrl, id, { token: guest.accessToken });
    await whenSynced(editor.provider);
    editor.text.insert(0, 'while allowed. ');
    await waitFor(async () => (await storedText(id)).includes('while allowed. '), 'the shared user\'s edit stored');
    expect((await owner.rest.put(`/v1/documents/${id}/shares`, { userId: guest.id, permission: 'read' })).status).toBe(204);
    await sleep(1500); // several re-check intervals (200 ms in these tests)
    const head = await db.headSeq(id);
    editor.text.insert(0, 'after the downgrade. ');
    await sleep(500);
    expect(await db.headSeq(id)).toBe(head);
    expect(await storedText(id)).not.toContain('after the downgrade.');
    expect(editor.provider.wsconnected).toBe(true); // downgraded, not closed
    editor.provider.destroy();
  });
});
