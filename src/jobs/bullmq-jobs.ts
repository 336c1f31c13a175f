import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { JOBS, type JobName, QUEUES, type QueueName } from './job-types.ts';
import type { JobQueues, JobSchedule, QueueCounts, RetryPolicy } from './ports.ts';
import { assertPayload } from './validate-payload.ts';

export interface BullmqOptions {
  redisUrl: string;
  /** Prefix of every BullMQ key: tests use their own, so that their queues never meet. */
  prefix: string;
  retry: (name: JobName) => RetryPolicy;
  logger: Logger;
}

/** Failed jobs kept for inspection (and counted in /metrics) before BullMQ drops the oldest. */
const KEEP_FAILED = 1000;

/**
 * Publishing to BullMQ and reading its queue depths; the processing happens in worker
 * processes (npm run worker, bullmq-workers.ts). Publishing waits for Redis to take the job,
 * so a REST write that enqueues work learns when Redis is away.
 */
export function createBullmqQueues(options: BullmqOptions): JobQueues & { schedule(schedule: JobSchedule): Promise<void> } {
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: 1, connectionName: 'tandem-jobs' });
  connection.on('error', (error) => options.logger.warn({ err: error }, 'Redis (jobs) does not answer'));
  const queues = new Map<QueueName, Queue>(QUEUES.map((name) => [name, new Queue(name, { connection, prefix: options.prefix })]));
  // Without a listener BullMQ prints each error of its shared connection to stderr, once per
  // queue; the connection's own listener above already says that Redis does not answer.
  for (const queue of queues.values()) queue.on('error', (error) => options.logger.debug({ err: error, queue: queue.name }, 'job queue error'));
  const queueOf = (name: JobName) => queues.get(JOBS[name].queue)!;

  return {
    async publish(name, payload, publishOptions = {}) {
      assertPayload(name, payload);
      const { attempts, backoffMs } = options.retry(name);
      await queueOf(name).add(name, payload, {
        attempts,
        backoff: { type: 'exponential', delay: backoffMs },
        ...(publishOptions.delayMs ? { delay: publishOptions.delayMs } : {}),
        ...(publishOptions.dedupeKey ? { deduplication: { id: publishOptions.dedupeKey } } : {}),
        removeOnComplete: true,
        removeOnFail: { count: KEEP_FAILED },
      });
    },

    async counts() {
      const entries = await Promise.all(
        [...queues].map(async ([name, queue]) => {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
          return [name, { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0 }] as const;
        }),
      );
      return Object.fromEntries(entries) as Record<QueueName, QueueCounts>;
    },

    /** Registers the recurring jobs (idempotent: every worker may do it at start). */
    async schedule(schedule) {
      for (const [name, every] of [['compact-sweep', schedule.compactSweepMs], ['expire-sweep', schedule.expireSweepMs]] as const) {
        const queue = queueOf(name);
        if (every > 0) await queue.upsertJobScheduler(name, { every }, { name, data: {}, opts: { removeOnComplete: true, removeOnFail: { count: KEEP_FAILED } } });
        else await queue.removeJobScheduler(name);
      }
    },

    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
