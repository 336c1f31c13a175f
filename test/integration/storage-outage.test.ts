import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { createDocumentStore } from '../../src/storage/document-store.ts';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startTestNode, TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { startPostgresProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

/** failure-modes.md, Lifecycle: "Postgres down must lose nothing". */
describe('database outage', () => {
  let proxy: TcpProxy;
  let node: TestNode;
  let db: Database;

  beforeAll(async () => {
    let url: string;
    ({ proxy, url } = await startPostgresProxy());
    node = await startTestNode('postgres', { env: { DATABASE_URL: url } });
    db = await openDatabase({ kind: 'postgres', url: TEST_DATABASE_URL }, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    proxy.restore();
    await node.close();
    await proxy.close();
    await db.close();
  });

  const metricsText = async () => (await fetch(`${node.url}/metrics`)).text();

  async function storedText(id: string): Promise<string> {
    const { updates } = await createDocumentStore(db.prisma).load(id);
    const doc = new Y.Doc();
    for (const update of updates) Y.applyUpdate(doc, update);
    return doc.getText('content').toString();
  }

  it('keeps editing live, keeps the document loaded, and stores every update once the database is back', async () => {
    const id = uniqueDocId('outage');
    const writer = yWebsocketClient(node.wsUrl, id);
    const reader = yWebsocketClient(node.wsUrl, id);
    await Promise.all([whenSynced(writer.provider), whenSynced(reader.provider)]);
    writer.text.insert(0, 'before;');
    await waitFor(async () => (await storedText(id)) === 'before;', 'the first edit to be stored');

    proxy.cut();
    for (let i = 0; i < 20; i++) writer.text.insert(writer.text.length, `during${i};`);
    const expected = writer.text.toString();
    // Live collaboration does not wait for the database.
    await waitFor(() => reader.text.toString() === expected, 'the reader to see edits made during the outage');

    // Everyone leaves while the database is still down: the document must stay in memory.
    writer.provider.destroy();
    reader.provider.destroy();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await metricsText()).toMatch(/^tandem_documents_loaded 1$/m);
    expect(await storedText(id)).toBe('before;');

    proxy.restore();
    await waitFor(async () => (await storedText(id)) === expected, 'the stored document to hold every edit', 30_000);
    // Durable now, so the document unloads.
    await waitFor(async () => /^tandem_documents_loaded 0$/m.test(await metricsText()), 'the document to unload');
  });

  it('acknowledges nothing to a Hocuspocus client while its updates cannot be stored, and everything once they are', async () => {
    const id = uniqueDocId('outage-ack');
    const writer = hocuspocusClient(node.wsUrl, id);
    const reader = hocuspocusClient(node.wsUrl, id);
    try {
      await Promise.all([whenSynced(writer.provider), whenSynced(reader.provider)]);
      await waitFor(() => writer.provider.unsyncedChanges === 0, 'the first sync to be acknowledged');

      proxy.cut();
      for (let i = 0; i < 10; i++) writer.text.insert(writer.text.length, `during${i};`);
      const expected = writer.text.toString();
      await waitFor(() => reader.text.toString() === expected, 'the reader to see edits made during the outage');
      // Barrier: the reader's edit reaches the writer through the server after the server
      // handled every one of the writer's updates, so any acknowledgement it sent for them
      // would have arrived by now (one socket, in order).
      reader.text.insert(0, '>');
      await waitFor(() => writer.text.toString() === `>${expected}`, 'the reader\'s edit to reach the writer');
      expect(writer.provider.unsyncedChanges).toBeGreaterThan(0);
      expect(await storedText(id)).toBe('');

      // Whatever the writer is told is stored must be stored at that moment.
      const storedWhenAcknowledged = new Promise<string>((resolve) => {
        writer.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
          if (number === 0) resolve(storedText(id));
        });
      });
      proxy.restore();
      expect(await storedWhenAcknowledged).toContain(expected);
      await waitFor(async () => (await storedText(id)) === `>${expected}`, 'every edit to be stored');
    } finally {
      writer.provider.destroy();
      reader.provider.destroy();
    }
  });
});
