import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createBullmqQueues } from '../../src/jobs/bullmq-jobs.ts';
import type { JobQueues } from '../../src/jobs/ports.ts';
import { waitFor } from '../helpers/clients.ts';
import { editHistory, insertLog } from '../helpers/edit-history.ts';
import { TEST_DATABASE_URL, uniqueDocId } from '../helpers/node.ts';
import { TEST_REDIS_URL } from '../helpers/ports.ts';
import { type LoggedProcess, startWorkerProcess } from '../helpers/server-process.ts';

/**
 * `npm run worker` as a real process: kill -9 it in the middle of compactions, start another,
 * and every job completes with nothing lost (BullMQ hands a dead worker's job to another once
 * its lock, WORKER_LOCK_MS, runs out).
 */
describe('the worker process', () => {
  const prefix = `tandem-worker-test-${process.pid}-${Date.now().toString(36)}`;
  const startWorker = () => startWorkerProcess(prefix);
  let queues: JobQueues;
  let sql: pg.Client;
  const workers: LoggedProcess[] = [];
  beforeAll(async () => {
    queues = createBullmqQueues({ redisUrl: TEST_REDIS_URL, prefix, retry: () => ({ attempts: 5, backoffMs: 100 }), logger: pino({ level: 'silent' }) });
    sql = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await sql.connect();
  });
  afterAll(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await queues?.close();
    await sql?.end();
  });

  it('refuses to start without REDIS_URL', async () => {
    await expect(startWorkerProcess(prefix, { REDIS_URL: '' })).rejects.toThrow(/REDIS_URL: required by npm run worker/);
  });

  it('killed with -9 mid-compaction, its job is retried by another worker and completes with nothing lost', async () => {
    const documents = Array.from({ length: 4 }, (_, i) => ({ id: uniqueDocId('worker-kill'), ...editHistory(15_000, 100 + i, [15_000]) }));
    for (const { id, updates } of documents) await insertLog(sql, id, updates);
    const first = await startWorker();
    workers.push(first);
    for (const { id } of documents) await queues.publish('compact', { documentId: id });
    await waitFor(async () => (await queues.counts()).compaction.active > 0, 'a compaction to be running', 20_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const untrimmed = await Promise.all(documents.map(async ({ id }) => Number((await sql.query('SELECT count(*) FROM document_updates WHERE document_id = $1', [id])).rows[0].count)));
    expect(untrimmed.some((rows) => rows === 15_000)).toBe(true); // it really died mid-way

    const second = await startWorker();
    workers.push(second);
    await waitFor(async () => {
      const counts = (await queues.counts()).compaction;
      return counts.waiting + counts.active + counts.delayed === 0;
    }, 'every compaction to complete', 60_000);
    for (const { id, textAt } of documents) {
      const { rows: snapshots } = await sql.query('SELECT seq, state FROM document_snapshots WHERE document_id = $1 ORDER BY seq DESC LIMIT 1', [id]);
      expect(snapshots[0].seq).toBe(15_000);
      const { rows: log } = await sql.query('SELECT count(*) FROM document_updates WHERE document_id = $1', [id]);
      expect(Number(log[0].count)).toBe(0);
      const doc = new Y.Doc();
      Y.applyUpdate(doc, new Uint8Array(snapshots[0].state));
      expect(doc.getText('content').toString()).toBe(textAt(15_000));
    }
    expect((await queues.counts()).compaction.failed).toBe(0);
    second.child.kill('SIGTERM');
    expect(await second.exited).toMatchObject({ code: 0 });
  });
});
