import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { PermanentJobError } from '../../src/jobs/job-errors.ts';
import type { Processors } from '../../src/jobs/ports.ts';
import { waitFor } from '../helpers/clients.ts';
import { RUNNER_KINDS, startJobRunner, type TestJobRunner } from '../helpers/job-runners.ts';
import { TEST_REDIS_URL } from '../helpers/ports.ts';

/** The job system's promises, the same on both runners: retries, permanent failures, bad payloads, dedupe. */
describe.each(RUNNER_KINDS)('jobs on the %s runner', (kind) => {
  let runner: TestJobRunner | undefined;
  afterEach(async () => {
    await runner?.close();
    runner = undefined;
  });

  async function start(processors: Processors) {
    runner = await startJobRunner(kind, { processors: () => processors });
    return runner.jobs;
  }

  it('retries a failing job with backoff until it succeeds', async () => {
    const attempts: number[] = [];
    const jobs = await start({
      'notify-mentions': async (_payload, { attempt }) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error('not yet');
      },
    });
    await jobs.publish('notify-mentions', { commentId: 'c1' });
    await waitFor(() => attempts.length === 3, 'three attempts');
    expect(attempts).toEqual([1, 2, 3]);
    await waitFor(async () => (await jobs.counts()).notifications.active === 0, 'the job to finish');
    expect((await jobs.counts()).notifications.failed).toBe(0);
  });

  it('a permanent failure is not retried, and is counted as failed', async () => {
    let runs = 0;
    const jobs = await start({
      'notify-mentions': async () => {
        runs += 1;
        throw new PermanentJobError('the comment is gone');
      },
    });
    await jobs.publish('notify-mentions', { commentId: 'gone' });
    await waitFor(async () => (await jobs.counts()).notifications.failed === 1, 'the job to fail');
    await new Promise((resolve) => setTimeout(resolve, 200)); // room for a wrong retry to show
    expect(runs).toBe(1);
  });

  it('refuses to publish a payload that does not fit the schema', async () => {
    const jobs = await start({});
    await expect(jobs.publish('compact', { documentId: '' })).rejects.toThrow(/bad payload/);
    await expect(jobs.publish('compact', { documentId: 'x', extra: 1 } as never)).rejects.toThrow(/bad payload/);
  });

  it('many publishes with one dedupe key run the job once while it waits', async () => {
    let runs = 0;
    const jobs = await start({
      compact: async () => {
        runs += 1;
      },
    });
    for (let i = 0; i < 5; i++) await jobs.publish('compact', { documentId: 'doc' }, { dedupeKey: 'compact:doc', delayMs: 200 });
    await waitFor(() => runs === 1, 'the job to run');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runs).toBe(1);
  });
});

describe('BullMQ workers', () => {
  it('fail a job with a bad payload once, without retrying, whoever put it on the queue', async () => {
    let runs = 0;
    const runner = await startJobRunner('bullmq', {
      processors: () => ({
        compact: async () => {
          runs += 1;
        },
      }),
    });
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    // Straight into Redis, past the publisher's own check: as another program (or an older version) might.
    const queue = new Queue('compaction', { connection, prefix: runner.prefix });
    try {
      await queue.add('compact', { documentId: 42 }, { attempts: 5, backoff: { type: 'fixed', delay: 10 } });
      await waitFor(async () => (await runner.jobs.counts()).compaction.failed === 1, 'the job to fail');
      const [failed] = await queue.getFailed();
      expect(failed?.attemptsMade).toBe(1);
      expect(failed?.failedReason).toMatch(/bad payload/);
      expect(runs).toBe(0);
    } finally {
      await queue.close();
      connection.disconnect();
      await runner.close();
    }
  });
});
