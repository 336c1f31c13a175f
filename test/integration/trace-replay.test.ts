import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { createDocumentStore } from '../../src/storage/document-store.ts';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startTestNode, TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { type ConcurrentTrace, loadConcurrentTrace, replayConcurrentTrace } from '../helpers/trace-replay.ts';

const TRACE = new URL('../fixtures/traces/friendsforever.json.gz', import.meta.url);

/**
 * A real concurrent editing history (2 people, 26,078 txns) replayed through the server by
 * two stock y-websocket clients: every correct replay ends at the trace's endContent, live,
 * in the op log, and after a restart.
 */
describe('replaying the friendsforever trace', () => {
  let trace: ConcurrentTrace;
  let node: TestNode | undefined;
  let db: Database;

  beforeAll(async () => {
    trace = await loadConcurrentTrace(TRACE);
    node = await startTestNode('postgres');
    db = await openDatabase({ kind: 'postgres', url: TEST_DATABASE_URL }, pino({ level: 'silent' }));
  });
  afterAll(async () => {
    await node?.close();
    await db?.close();
  });

  it('ends at endContent on every client, in the op log, and after a restart', { timeout: 120_000 }, async () => {
    expect(trace.numAgents).toBe(2);
    expect(trace.txns).toHaveLength(26_078);
    const id = uniqueDocId('trace-ff');
    const started = performance.now();

    const { agents, authoringMs, waits } = await replayConcurrentTrace(trace, { wsUrl: node!.wsUrl, documentId: id });
    try {
      await waitFor(
        () => agents.every(({ text }) => text.length === trace.endContent.length && text.toString() === trace.endContent),
        'every client to reach endContent',
        60_000,
      );
      const liveMs = performance.now() - started;
      for (const { doc } of agents) {
        expect(doc.store.pendingStructs).toBeNull();
        expect(doc.store.pendingDs).toBeNull();
      }

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
        `friendsforever replay: ${trace.txns.length} txns authored in ${Math.round(authoringMs)} ms ` +
          `(${waits} waits for the server), every client at endContent after ${Math.round(liveMs)} ms, ` +
          `op log complete after ${Math.round(durableMs)} ms`,
      );
    } finally {
      for (const { provider } of agents) provider.destroy();
    }

    // Restart: the last clients left, so the document unloads (and is snapshotted) on close.
    await node!.close();
    node = undefined;
    const snapshot = await db.prisma.documentSnapshot.findFirst({
      where: { documentId: id },
      orderBy: { seq: 'desc' },
      select: { seq: true },
    });
    expect(snapshot?.seq).toBe(trace.txns.length);
    node = await startTestNode('postgres');
    const fresh = yWebsocketClient(node.wsUrl, id);
    try {
      await whenSynced(fresh.provider);
      expect(fresh.text.toString()).toBe(trace.endContent);
    } finally {
      fresh.provider.destroy();
    }
  });
});
