import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { PermanentJobError } from './job-errors.ts';
import { JOBS, type JobName, QUEUES, type QueueName } from './job-types.ts';
import type { JobQueues, JobSchedule, Processor, Processors, PublishOptions, QueueCounts, RetryPolicy } from './ports.ts';
import { assertPayload, payloadProblem } from './validate-payload.ts';

export interface InProcessJobsOptions {
  processors: Processors;
  retry: (name: JobName) => RetryPolicy;
  schedule: JobSchedule;
  logger: Logger;
}

/**
 * The job system of a single node without Redis: the same processors, retries and schedules
 * as the BullMQ workers, on timers in this process. Jobs live in memory, so a crash forgets
 * the waiting ones; every processor is a sweep or is re-triggered, so nothing is lost for good.
 */
export function createInProcessJobs(options: InProcessJobsOptions): JobQueues {
  const { processors, logger } = options;
  const counts = Object.fromEntries(QUEUES.map((queue) => [queue, { waiting: 0, active: 0, delayed: 0, failed: 0 }])) as Record<QueueName, QueueCounts>;
  const pendingKeys = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let closed = false;

  async function run(name: JobName, payload: unknown, dedupeKey: string | undefined): Promise<void> {
    const queue = counts[JOBS[name].queue];
    queue.active += 1;
    const { attempts, backoffMs } = options.retry(name);
    const problem = payloadProblem(name, payload);
    const processor = processors[name] as Processor<JobName> | undefined;
    try {
      if (problem) throw new PermanentJobError(`bad payload: ${problem}`);
      if (!processor) throw new PermanentJobError(`no processor for ${name}`);
      await pRetry(
        async (attempt) => {
          try {
            await processor(payload as never, { attempt, attempts });
          } catch (error) {
            throw error instanceof PermanentJobError ? new AbortError(error) : error;
          }
        },
        {
          retries: attempts - 1,
          minTimeout: backoffMs,
          factor: 2,
          randomize: false,
          onFailedAttempt: ({ error, attemptNumber }) => logger.warn({ err: error, job: name, attempt: attemptNumber }, 'job attempt failed'),
          shouldRetry: () => !closed,
        },
      );
    } catch (error) {
      queue.failed += 1;
      logger.error({ err: error, job: name, payload }, 'job failed for good');
    } finally {
      queue.active -= 1;
      if (dedupeKey) pendingKeys.delete(dedupeKey);
    }
  }

  function enqueue(name: JobName, payload: unknown, publishOptions: PublishOptions = {}): void {
    if (closed) return;
    const { dedupeKey, delayMs = 0 } = publishOptions;
    if (dedupeKey) {
      if (pendingKeys.has(dedupeKey)) return;
      pendingKeys.add(dedupeKey);
    }
    const queue = counts[JOBS[name].queue];
    const bucket = delayMs > 0 ? 'delayed' : 'waiting';
    queue[bucket] += 1;
    const timer = setTimeout(() => {
      timers.delete(timer);
      queue[bucket] -= 1;
      const job = run(name, payload, dedupeKey);
      running.add(job);
      void job.finally(() => running.delete(job));
    }, delayMs);
    timers.add(timer);
  }

  const every = (name: JobName, ms: number) => {
    if (ms <= 0) return;
    const timer = setInterval(() => enqueue(name, {}, { dedupeKey: `schedule:${name}` }), ms);
    timer.unref();
    timers.add(timer);
  };
  every('compact-sweep', options.schedule.compactSweepMs);
  every('expire-sweep', options.schedule.expireSweepMs);

  return {
    async publish(name, payload, publishOptions) {
      assertPayload(name, payload);
      enqueue(name, payload, publishOptions);
    },
    async counts() {
      return structuredClone(counts);
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // Jobs already running finish (a compaction half done is safe, but finishing is tidier).
      await Promise.allSettled([...running]);
    },
  };
}
