import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createBullmqQueues } from '../../src/jobs/bullmq-jobs.ts';
import type { JobQueues } from '../../src/jobs/ports.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { createDocumentStore } from '../../src/storage/document-store.ts';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { editHistory, insertLog } from '../helpers/edit-history.ts';
import { TEST_DATABASE_URL, uniqueDocId } from '../helpers/node.ts';
import { TEST_REDIS_URL } from '../helpers/ports.ts';
import {
  killAllServerProcesses,
  type LogLine,
  restartServerProcess,
  type ServerProcess,
  startWorkerProcess,
  startServerProcess,
} from '../helpers/server-process.ts';
import { startPostgresProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * Shutdown with the database away (issue 15): SIGTERM flushes for at most SHUTDOWN_TIMEOUT_MS,
 * then exits 1 naming what it could not commit; nothing acknowledged is lost, and what was not
 * acknowledged comes back from the clients once a server runs again. The real server and worker
 * as child processes, Postgres behind a TCP proxy the test cuts or stalls.
 */
describe('shutdown deadline', () => {
  const DEADLINE_MS = 2_000;
  let proxy: TcpProxy;
  let viaProxy: string;
  let db: Database;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    ({ proxy, url: viaProxy } = await startPostgresProxy());
    // The test's own view of what is stored goes straight to Postgres, past the proxy.
    db = await openDatabase({ kind: 'postgres', url: TEST_DATABASE_URL }, pino({ level: 'silent' }));
  });
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    proxy.restore();
  });
  afterAll(async () => {
    await killAllServerProcesses();
    await proxy?.close();
    await db?.close();
  });

  function yClient(server: ServerProcess, id: string) {
    const client = yWebsocketClient(server.wsUrl, id);
    cleanups.push(() => client.provider.destroy());
    return client;
  }
  function hClient(server: ServerProcess, id: string) {
    const client = hocuspocusClient(server.wsUrl, id);
    cleanups.push(() => client.provider.destroy());
    return client;
  }

  /** Appends `count` markers ("y3;") at the end, one transaction (one update) each. */
  function type(text: Y.Text, who: string, from: number, count: number): void {
    for (let i = from; i < from + count; i++) text.insert(text.length, `${who}${i};`);
  }
  const markers = (text: string) => text.split(';').filter(Boolean);
  const range = (who: string, from: number, count: number) => Array.from({ length: count }, (_, i) => `${who}${from + i}`);

  async function storedText(id: string): Promise<string> {
    const { updates } = await createDocumentStore(db.prisma).load(id);
    const doc = new Y.Doc();
    for (const update of updates) Y.applyUpdate(doc, update);
    return doc.getText('content').toString();
  }

  /** The exit, or a failure naming the process and its log if it has not exited within `ms`. */
  async function exitWithin(process: { exited: ServerProcess['exited']; logs: LogLine[] }, ms: number) {
    let timer: NodeJS.Timeout | undefined;
    const stillRunning = new Promise<'still running'>((resolve) => {
      timer = setTimeout(() => resolve('still running'), ms);
    });
    const outcome = await Promise.race([process.exited, stillRunning]).finally(() => clearTimeout(timer));
    if (outcome === 'still running') {
      const lastLines = process.logs.slice(-15).map((line) => `  ${line.msg}`);
      throw new Error(`still running ${ms} ms after the signal; the last lines of its log:\n${lastLines.join('\n')}`);
    }
    return outcome;
  }

  const reportOf = (logs: LogLine[]) => logs.find((line) => line.msg.startsWith('shutdown gave up'));

  it('SIGTERM with Postgres cut: exits 1 at SHUTDOWN_TIMEOUT_MS naming the unsaved documents; nothing acknowledged is lost and the clients bring the rest back', async () => {
    const server = await startServerProcess({ kind: 'postgres', url: viaProxy }, { env: { SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) } });
    const id = uniqueDocId('deadline-cut');
    const y = yClient(server, id);
    const h = hClient(server, id);
    await Promise.all([whenSynced(y.provider), whenSynced(h.provider)]);

    // Before the outage: typed and seen in the op log, so durable (what an acknowledgement means).
    type(y.text, 'y', 0, 10);
    type(h.text, 'h', 0, 10);
    await waitFor(async () => markers(await storedText(id)).length === 20, 'the first edits to be stored');
    const durable = markers(await storedText(id));

    proxy.cut();
    type(y.text, 'y', 10, 10);
    type(h.text, 'h', 10, 10);
    // Each client sees the other's edits: the room accepted them, but they cannot commit.
    await waitFor(() => markers(y.text.toString()).length === 40 && h.text.toString() === y.text.toString(), 'the clients to see each other’s edits');

    const signalled = Date.now();
    server.kill('SIGTERM');
    const exit = await exitWithin(server, DEADLINE_MS + 15_000);
    const tookMs = Date.now() - signalled;
    expect(exit).toEqual({ code: 1, signal: null });
    // It did try to flush until the deadline, and it gave up not long after.
    expect(tookMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(tookMs).toBeLessThan(DEADLINE_MS + 10_000);

    const report = reportOf(server.logs);
    expect(report, 'the log line naming what was not committed').toBeDefined();
    expect(report!.msg).toContain(`not closed within SHUTDOWN_TIMEOUT_MS=${DEADLINE_MS} ms`);
    expect(report!.msg).toContain(`20 updates to 1 document were never committed: ${id} (20)`);
    expect(report!.msg).toContain('send them again when they reconnect');
    expect(report!.unsavedUpdates).toEqual({ [id]: 20 });
    expect(report!.level).toBe(50); // error
    expect(server.logs.some((line) => line.msg === 'shutdown complete')).toBe(false);

    // Nothing acknowledged is lost: everything durable before the outage is still stored.
    const storedAfterExit = markers(await storedText(id));
    expect(durable.filter((marker) => !storedAfterExit.includes(marker))).toEqual([]);

    // While no server runs, people keep typing; then the database and a server come back on
    // the same port, and the clients reconnect by themselves with everything they hold.
    type(y.text, 'y', 20, 5);
    type(h.text, 'h', 20, 5);
    proxy.restore();
    const next = await restartServerProcess(server, { samePort: true });
    const newcomer = yClient(next, id);
    const everything = [...range('y', 0, 25), ...range('h', 0, 25)].sort();
    await waitFor(
      () =>
        y.provider.synced &&
        h.provider.synced &&
        newcomer.provider.synced &&
        JSON.stringify(markers(newcomer.text.toString()).sort()) === JSON.stringify(everything) &&
        y.text.toString() === newcomer.text.toString() &&
        h.text.toString() === newcomer.text.toString(),
      'both clients and a newcomer to converge on every marker',
      30_000,
    );
    await waitFor(async () => JSON.stringify(markers(await storedText(id)).sort()) === JSON.stringify(everything), 'every marker to be stored', 30_000);

    next.kill('SIGTERM');
    expect(await exitWithin(next, 30_000)).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM with Postgres cut, back before the deadline: the flush completes, every update is stored, exit 0', async () => {
    const server = await startServerProcess({ kind: 'postgres', url: viaProxy }, { env: { SHUTDOWN_TIMEOUT_MS: '30000' } });
    const id = uniqueDocId('deadline-back');
    const y = yClient(server, id);
    await whenSynced(y.provider);
    type(y.text, 'y', 0, 5);
    await waitFor(async () => markers(await storedText(id)).length === 5, 'the first edits to be stored');

    proxy.cut();
    type(y.text, 'y', 5, 10);
    const logsBefore = server.logs.length;
    server.kill('SIGTERM');
    // The commit is failing while the process shuts down...
    await waitFor(() => server.logs.slice(logsBefore).some((line) => line.msg.startsWith('op log commit failed; retrying')), 'a failed commit during shutdown');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(server.logs.some((line) => line.msg === 'shutdown complete')).toBe(false);
    // ...and once the database is back, it completes: the deadline cut nothing short.
    proxy.restore();
    expect(await exitWithin(server, 30_000)).toEqual({ code: 0, signal: null });
    expect(server.logs.some((line) => line.msg === 'shutdown complete')).toBe(true);
    expect(reportOf(server.logs)).toBeUndefined();
    expect(markers(await storedText(id)).sort()).toEqual(range('y', 0, 15).sort());
  });

  it('a second signal while Postgres is stalled gives up at once: exit 1 with the report, and no REST write in flight is acknowledged', async () => {
    const server = await startServerProcess({ kind: 'postgres', url: viaProxy }, { env: { SHUTDOWN_TIMEOUT_MS: '60000' } });
    const id = uniqueDocId('deadline-stall');
    const restId = uniqueDocId('deadline-stall-rest');
    const created = await fetch(`${server.url}/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: restId, content: 'stored before the outage' }),
    });
    expect(created.status).toBe(201);
    const y = yClient(server, id);
    await whenSynced(y.provider);
    type(y.text, 'y', 0, 5);
    await waitFor(async () => markers(await storedText(id)).length === 5, 'the first edits to be stored');

    // A partition: queries neither answer nor fail, so nothing retries either.
    proxy.stall();
    type(y.text, 'y', 5, 3);
    const write = fetch(`${server.url}/v1/documents/${restId}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/markdown' },
      body: 'written during the outage',
    }).then(
      (response) => ({ status: response.status }),
      (error: unknown) => ({ error: String(error) }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    const logsBefore = server.logs.length;
    server.kill('SIGTERM');
    await waitFor(() => server.logs.slice(logsBefore).some((line) => line.msg.startsWith('shutting down')), 'the shutdown to start');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.logs.some((line) => line.msg.startsWith('shutdown gave up'))).toBe(false);
    const signalled = Date.now();
    server.kill('SIGINT');
    expect(await exitWithin(server, 10_000)).toEqual({ code: 1, signal: null });
    expect(Date.now() - signalled).toBeLessThan(10_000);

    const report = reportOf(server.logs);
    expect(report, 'the log line naming what was not committed').toBeDefined();
    expect(report!.reason).toBe('a second SIGINT arrived');
    expect(report!.msg).toContain(id);
    expect((report!.unsavedUpdates as Record<string, number>)[id]).toBe(3);
    // The agent's write was never answered 2xx: the connection ended without a response.
    const answer = await write;
    expect('status' in answer && answer.status < 300, JSON.stringify(answer)).toBe(false);
    expect(markers(await storedText(id)).slice(0, 5)).toEqual(range('y', 0, 5));
  });

  describe('the worker', () => {
    const prefix = `tandem-shutdown-test-${process.pid}-${Date.now().toString(36)}`;
    let queues: JobQueues;
    let sql: pg.Client;
    beforeAll(async () => {
      queues = createBullmqQueues({ redisUrl: TEST_REDIS_URL, prefix, retry: () => ({ attempts: 5, backoffMs: 100 }), logger: pino({ level: 'silent' }) });
      sql = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await sql.connect();
    });
    afterAll(async () => {
      await queues?.close();
      await sql?.end();
    });

    const startWorker = () => startWorkerProcess(prefix, { DATABASE_URL: viaProxy, SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS) });

    it('gives up a job stuck on a stalled database at SHUTDOWN_TIMEOUT_MS, exits 1 naming it, and another worker completes it', async () => {
      const id = uniqueDocId('deadline-worker');
      const { updates, textAt } = editHistory(300, 7, [300]);
      await insertLog(sql, id, updates);
      const first = await startWorker();
      cleanups.push(() => first.child.kill('SIGKILL'));

      // Stalled before the job starts, so it is certainly waiting on the database when the
      // signal comes.
      proxy.stall();
      await queues.publish('compact', { documentId: id });
      await waitFor(async () => (await queues.counts()).compaction.active > 0, 'the compaction to be running');
      const signalled = Date.now();
      first.child.kill('SIGTERM');
      expect(await exitWithin(first, DEADLINE_MS + 15_000)).toEqual({ code: 1, signal: null });
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(DEADLINE_MS - 50);

      const report = reportOf(first.logs);
      expect(report, 'the log line naming the unfinished job').toBeDefined();
      expect(report!.msg).toContain(`not closed within SHUTDOWN_TIMEOUT_MS=${DEADLINE_MS} ms`);
      expect(report!.msg).toMatch(/1 job had not finished: compact \S+\./);
      expect(report!.runningJobs).toEqual([{ name: 'compact', id: expect.any(String) }]);

      // The job was not marked done: once its lock runs out, a worker with a database runs it.
      proxy.restore();
      const second = await startWorker();
      cleanups.push(() => second.child.kill('SIGKILL'));
      await waitFor(async () => {
        const counts = (await queues.counts()).compaction;
        return counts.waiting + counts.active + counts.delayed === 0;
      }, 'the compaction to complete', 30_000);
      const { rows } = await sql.query('SELECT seq, state FROM document_snapshots WHERE document_id = $1 ORDER BY seq DESC LIMIT 1', [id]);
      expect(rows[0].seq).toBe(300);
      const doc = new Y.Doc();
      Y.applyUpdate(doc, new Uint8Array(rows[0].state));
      expect(doc.getText('content').toString()).toBe(textAt(300));
      second.child.kill('SIGTERM');
      expect(await exitWithin(second, 30_000)).toEqual({ code: 0, signal: null });
    });
  });
});
