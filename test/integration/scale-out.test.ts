import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startTestNode, TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { TEST_REDIS_URL } from '../helpers/ports.ts';
import { restClient } from '../helpers/rest.ts';
import { openDatabase, type Database } from '../../src/storage/database.ts';
import { createOpLogWriter } from '../../src/storage/op-log.ts';


/**
 * Two nodes sharing Postgres and Redis (in this process, each with its own connections):
 * clients of one document on both see each other's edits and presence, REST on one reaches
 * sockets on the other, and an update the bus never carried is repaired from the op log.
 */
describe('two nodes on one Redis bus', () => {
  let a: TestNode;
  let b: TestNode;
  let repairing: TestNode;
  let db: Database;
  beforeAll(async () => {
    // a and b check the log only once a minute: what their clients see came over the bus.
    const env = { REDIS_URL: TEST_REDIS_URL, BUS_REPAIR_INTERVAL_MS: '60000' };
    [a, b, repairing] = await Promise.all([
      startTestNode('postgres', { env }),
      startTestNode('postgres', { env }),
      startTestNode('postgres', { env: { REDIS_URL: TEST_REDIS_URL, BUS_REPAIR_INTERVAL_MS: '200' } }),
    ]);
    db = await openDatabase({ kind: 'postgres', url: TEST_DATABASE_URL }, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), repairing?.close()]);
    await db?.close();
  });

  it('a y-websocket client on one node and a Hocuspocus client on the other converge, awareness included', async () => {
    const id = uniqueDocId('two-nodes');
    const y = yWebsocketClient(a.wsUrl, id);
    const h = hocuspocusClient(b.wsUrl, id);
    await Promise.all([whenSynced(y.provider), whenSynced(h.provider)]);
    for (let i = 0; i < 20; i++) {
      y.text.insert(y.text.length, `a${i} `);
      h.text.insert(0, `b${i} `);
    }
    await waitFor(() => y.text.length === h.text.length && y.text.toString() === h.text.toString() && y.text.length > 100, 'both nodes\' clients to converge');
    for (let i = 0; i < 20; i++) {
      expect(y.text.toString().split(`a${i} `)).toHaveLength(2); // each edit once: no duplicated text
      expect(y.text.toString().split(`b${i} `)).toHaveLength(2);
    }
    y.provider.awareness.setLocalStateField('user', { name: 'on node A' });
    await waitFor(
      () => [...h.provider.awareness!.getStates().values()].some((state) => (state.user as { name?: string } | undefined)?.name === 'on node A'),
      'A\'s presence on B',
    );
    // Leaving node A removes the presence on B too.
    const yClientId = y.doc.clientID;
    y.provider.destroy();
    await waitFor(() => !h.provider.awareness!.getStates().has(yClientId), 'A\'s presence gone from B');
    h.provider.destroy();
  });

  it('a REST patch served by one node reaches a socket on the other at once', async () => {
    const id = uniqueDocId('two-nodes-rest');
    expect((await restClient(a.url).post('/v1/documents', { id, content: 'start.' })).status).toBe(201);
    const client = yWebsocketClient(b.wsUrl, id);
    await whenSynced(client.provider);
    expect(client.text.toString()).toBe('start.');
    const patched = await restClient(a.url).patch(`/v1/documents/${id}`, { edits: [{ append: ' from the agent' }] });
    expect(patched.status).toBe(200);
    await waitFor(() => client.text.toString() === 'start. from the agent', 'the patch on node B\'s client', 2000);
    client.provider.destroy();
  });

  it('an update committed but never published (a lost message) reaches the clients from the op log', async () => {
    const id = uniqueDocId('two-nodes-lost');
    const client = yWebsocketClient(repairing.wsUrl, id);
    await whenSynced(client.provider);
    // Another writer appends to the log without telling the bus: as if its message were dropped.
    const other = new Y.Doc();
    other.getText('content').insert(0, 'never published');
    const writer = createOpLogWriter(db.sql, pino({ level: 'silent' }));
    await writer.append(id, Y.encodeStateAsUpdate(other));
    await writer.close();
    await waitFor(() => client.text.toString() === 'never published', 'the repair from the log', 5000);
    client.provider.destroy();
  });
});
