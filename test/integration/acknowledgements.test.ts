import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { hocuspocusClient, waitFor, whenSynced } from '../helpers/clients.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { addressed, body, MSG_SYNC, MSG_SYNC_STATUS, openRawSocket, parseHocuspocusMessage, SYNC_STEP1, SYNC_STEP2 } from '../helpers/raw-socket.ts';
import { authenticateOn } from '../helpers/socket-auth.ts';
import { restClient } from '../helpers/rest.ts';

/**
 * INTERFACE.md, Acknowledgements, for an update the room cannot integrate yet: it builds on
 * content the room never saw, so it waits in memory. It is neither applied nor logged, so its
 * acknowledgement waits until its dependency arrives and both are stored.
 */
describe('acknowledgements of updates with missing dependencies', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres');
  });
  afterAll(async () => {
    await node?.close();
  });

  it('are sent only once the dependency arrived and the update is stored', async () => {
    const id = uniqueDocId('ack-pending');
    const author = new Y.Doc();
    const text = author.getText('content');
    text.insert(0, 'first;');
    const first = Y.encodeStateAsUpdate(author);
    const before = Y.encodeStateVector(author);
    text.insert(6, 'second;');
    const second = Y.encodeStateAsUpdate(author, before);

    const socket = openRawSocket(node.wsUrl, '/collab');
    try {
      await socket.opened;
      expect(await authenticateOn(socket, id, 'anonymous')).toMatchObject({ authenticated: true });
      const parsed = () => socket.received.map(parseHocuspocusMessage);
      const acks = () => parsed().filter((message) => message.type === MSG_SYNC_STATUS).length;
      const stepOnes = () => parsed().filter((message) => message.type === MSG_SYNC && message.subType === SYNC_STEP1).length;

      const stepOnesBefore = stepOnes();
      socket.send(addressed(id, body.update(second)));
      // The room asks for what it lacks after handling the update; an acknowledgement sent at
      // once would have come before that request.
      await socket.waitForMessage(() => stepOnes() > stepOnesBefore, 'the room to ask for the missing content');
      expect(acks()).toBe(0);
      const rest = restClient(`${node.url}/v1`);
      expect((await rest.get(`/documents/${id}`)).body.content).toBe('');

      socket.send(addressed(id, body.update(first)));
      await socket.waitForMessage(() => acks() === 2, 'both updates to be acknowledged');
      expect((await rest.get(`/documents/${id}`)).body.content).toBe('first;second;');
    } finally {
      await socket.close();
    }
  });

  it("one client's update that never integrates does not hold back another client's acknowledgements", async () => {
    const id = uniqueDocId('ack-orphan');
    const stranger = new Y.Doc();
    stranger.getText('content').insert(0, 'never sent;');
    const before = Y.encodeStateVector(stranger);
    stranger.getText('content').insert(11, 'orphan;');
    const orphan = Y.encodeStateAsUpdate(stranger, before);

    // The orphan's sender stays connected and never sends what it builds on.
    const socket = openRawSocket(node.wsUrl, '/collab');
    const writer = hocuspocusClient(node.wsUrl, id);
    try {
      await socket.opened;
      expect(await authenticateOn(socket, id, 'anonymous')).toMatchObject({ authenticated: true });
      const stepTwos = () => socket.received.map(parseHocuspocusMessage).filter((m) => m.type === MSG_SYNC && m.subType === SYNC_STEP2).length;
      const answered = stepTwos();
      socket.send(addressed(id, body.update(orphan)));
      // A socket's messages are handled in order: once this one is answered, the orphan waits in the room.
      socket.send(addressed(id, body.syncStep1(Y.encodeStateVector(new Y.Doc()))));
      await socket.waitForMessage(() => stepTwos() > answered, 'the room to have handled the orphan');

      await whenSynced(writer.provider);
      for (const word of ['one ', 'two ', 'three ', 'four ', 'five ']) writer.text.insert(writer.text.length, word);
      await waitFor(() => writer.provider.unsyncedChanges === 0, 'the writer to see its edits acknowledged');
      expect((await restClient(`${node.url}/v1`).get(`/documents/${id}`)).body.content).toBe('one two three four five ');
    } finally {
      writer.provider.destroy();
      await socket.close();
    }
  });
});
