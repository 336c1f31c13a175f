import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { createDocumentStore } from '../../src/storage/document-store.ts';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { SHIPPED_SOCKET_LIMITS, startTestNode, TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';
import {
  type ConcurrentTrace,
  loadConcurrentTrace,
  type ReplayClient,
  replayConcurrentTrace,
} from '../helpers/trace-replay.ts';

const TRACES = {
  friendsforever: new URL('../fixtures/traces/friendsforever.json.gz', import.meta.url),
  clownschool: new URL('../fixtures/traces/clownschool.json.gz', import.meta.url),
};

/**
 * Real concurrent editing histories (test/fixtures/traces) replayed through the server at full
 * speed by stock clients, one per person, on a node with the limits it ships with: the
 * clients send far faster than SOCKET_MESSAGES_PER_SECOND, so the node reads them more
 * slowly, and must still lose nothing and close nothing. Every correct replay ends at the
 * trace's endContent, live on every client, in the op log, and after a restart.
 *
 * Each trace is replayed twice at once, on two documents: by y-websocket clients and by
 * Hocuspocus clients (the limits are per socket, so the two do not slow each other down).
 */
describe('replaying real editing traces at full speed, with the shipped socket limits', () => {
  let node: TestNode | undefined;
  let db: Database;
  const replayed: { trace: keyof typeof TRACES; client: ReplayClient; id: string; endContent: string; txns: number }[] = [];

  beforeAll(async () => {
    node = await startTestNode('postgres', { env: SHIPPED_SOCKET_LIMITS });
    db = await openDatabase({ kind: 'postgres', url: TEST_DATABASE_URL }, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await node?.close();
    await db?.close();
  });

  async function replay(trace: ConcurrentTrace, name: keyof typeof TRACES, client: ReplayClient): Promise<string> {
    const id = uniqueDocId(`trace-${name}-${client}`);
    const started = performance.now();
    const { agents, authoringMs, waits } = await replayConcurrentTrace(trace, {
      wsUrl: node!.wsUrl,
      documentId: id,
      clientOf: () => client,
      // Held back to the message rate, an agent may wait a while for the other's txns.
      stallTimeoutMs: 60_000,
    });
    try {
      await waitFor(
        () => agents.every(({ text }) => text.length === trace.endContent.length && text.toString() === trace.endContent),
        `every ${client} client to reach endContent`,
        120_000,
      );
      const liveMs = performance.now() - started;
      for (const { doc } of agents) {
        expect(doc.store.pendingStructs).toBeNull();
        expect(doc.store.pendingDs).toBeNull();
      }
      // Slowed, never closed: not by the server, and not by a client's own silence watchdog.
      expect(agents.flatMap(({ closes }) => closes)).toEqual([]);

      // The op log: one row per update the room integrated, i.e. per txn, gapless from 1.
      await waitFor(
        async () =>
          ((await db.prisma.document.findUnique({ where: { id }, select: { headSeq: true } }))?.headSeq ?? 0) >=
          trace.txns.length,
        'the op log to hold every txn',
        60_000,
      );
      const rows = await db.prisma.documentUpdate.findMany({
        where: { documentId: id },
        orderBy: { seq: 'asc' },
        select: { seq: true, update: true },
      });
      expect(rows).toHaveLength(trace.txns.length);
      expect(rows.every((row, index) => row.seq === index + 1)).toBe(true);
      const fromLog = new Y.Doc();
      fromLog.transact(() => {
        for (const row of rows) Y.applyUpdate(fromLog, row.update);
      });
      expect(fromLog.store.pendingStructs).toBeNull();
      expect(fromLog.getText('content').toString()).toBe(trace.endContent);

      const stored = await createDocumentStore(db.prisma).load(id);
      expect(stored.seq).toBe(trace.txns.length);
      const fromStore = new Y.Doc();
      for (const update of stored.updates) Y.applyUpdate(fromStore, update);
      expect(fromStore.getText('content').toString()).toBe(trace.endContent);
      const durableMs = performance.now() - started;

      console.info(
        `${name} replay through ${client}: ${trace.txns.length} txns by ${trace.numAgents} clients authored in ` +
          `${Math.round(authoringMs)} ms (${waits} waits for the server), every client at endContent after ` +
          `${Math.round(liveMs)} ms, op log complete after ${Math.round(durableMs)} ms`,
      );
    } finally {
      for (const { provider } of agents) provider.destroy();
    }
    replayed.push({ trace: name, client, id, endContent: trace.endContent, txns: trace.txns.length });
    return id;
  }

  for (const name of Object.keys(TRACES) as (keyof typeof TRACES)[]) {
    it(`${name}: ends at endContent on every y-websocket and Hocuspocus client and in the op log, none closed`, { timeout: 240_000 }, async () => {
      const trace = await loadConcurrentTrace(TRACES[name]);
      await Promise.all([replay(trace, name, 'y-websocket'), replay(trace, name, 'hocuspocus')]);
    });
  }

  it('after a restart, every replayed document loads at endContent from its snapshot', { timeout: 120_000 }, async () => {
    expect(replayed).toHaveLength(2 * Object.keys(TRACES).length);
    // The last clients left, so the documents unloaded and their compaction (in-process jobs
    // here) snapshots them at their head. A node that closes drops jobs not yet started, so
    // the snapshots are waited for before the restart.
    const newestSnapshot = async (id: string) =>
      (await db.prisma.documentSnapshot.findFirst({ where: { documentId: id }, orderBy: { seq: 'desc' }, select: { seq: true } }))?.seq;
    for (const { id, txns } of replayed) {
      await waitFor(async () => (await newestSnapshot(id)) === txns, `a snapshot of ${id} at its head`, 60_000);
    }
    await node!.close();
    node = undefined;
    node = await startTestNode('postgres', { env: SHIPPED_SOCKET_LIMITS });
    for (const { id, endContent, client } of replayed) {
      const fresh = client === 'y-websocket' ? yWebsocketClient(node.wsUrl, id) : hocuspocusClient(node.wsUrl, id);
      try {
        await whenSynced(fresh.provider);
        expect(fresh.text.toString()).toBe(endContent);
      } finally {
        fresh.provider.destroy();
      }
    }
  });
});
