import { type Logger, pino } from 'pino';
import { createBullmqQueues } from '../../src/jobs/bullmq-jobs.ts';
import { startBullmqWorkers } from '../../src/jobs/bullmq-workers.ts';
import { createInProcessJobs } from '../../src/jobs/in-process-jobs.ts';
import { JOBS, type JobName, type JobPayload } from '../../src/jobs/job-types.ts';
import type { JobPublisher, JobQueues, Processors, RetryPolicy } from '../../src/jobs/ports.ts';
import { TEST_REDIS_URL } from './ports.ts';

/**
 * The two ways processors run: in this process on timers (a node without Redis) and as
 * BullMQ workers on real Redis (what `npm run worker` runs). Processor tests run against both
 * with `describe.each(RUNNER_KINDS)`; each BullMQ runner has a key prefix of its own.
 */
export const RUNNER_KINDS = ['in-process', 'bullmq'] as const;
export type RunnerKind = (typeof RUNNER_KINDS)[number];

export interface TestJobRunner {
  kind: RunnerKind;
  jobs: JobQueues;
  /** The BullMQ key prefix (bullmq runners only). */
  prefix?: string;
  close(): Promise<void>;
}

let counter = 0;

export async function startJobRunner(
  kind: RunnerKind,
  options: {
    /** Built with the runner's own publisher, so processors can chain jobs. */
    processors: (jobs: JobPublisher) => Processors;
    retry?: (name: JobName) => RetryPolicy;
    /** The runner's own log (failed attempts), for a test that reads what it logs. */
    logger?: Logger;
  },
): Promise<TestJobRunner> {
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const retry = options.retry ?? (() => ({ attempts: 3, backoffMs: 20 }));
  let jobs: JobQueues | undefined;
  const publisher: JobPublisher = { publish: (name, payload, publishOptions) => jobs!.publish(name, payload, publishOptions) };
  const processors = options.processors(publisher);
  const schedule = { compactSweepMs: 0, expireSweepMs: 0 };
  if (kind === 'in-process') {
    jobs = createInProcessJobs({ processors, retry, schedule, logger });
    return { kind, jobs, close: () => jobs!.close() };
  }
  counter += 1;
  const prefix = `tandem-test-${process.pid}-${Date.now().toString(36)}-${counter}`;
  jobs = createBullmqQueues({ redisUrl: TEST_REDIS_URL, prefix, retry, logger });
  const workers = startBullmqWorkers({ redisUrl: TEST_REDIS_URL, prefix, processors, concurrency: 4, lockMs: 5000, logger });
  return {
    kind,
    jobs,
    prefix,
    async close() {
      await workers.close();
      await jobs!.close();
    },
  };
}

/** Publishes `name` and waits until its queue has nothing waiting, delayed or running. */
export async function runToCompletion<N extends JobName>(jobs: JobQueues, name: N, payload: JobPayload<N>): Promise<void> {
  await jobs.publish(name, payload);
  const queue = JOBS[name].queue;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const counts = (await jobs.counts())[queue];
    if (counts.waiting + counts.delayed + counts.active === 0) return;
    if (Date.now() > deadline) throw new Error(`${name} did not finish within 20 s: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
