import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { PermanentJobError } from './job-errors.ts';
import { JOBS, type JobName, type QueueName } from './job-types.ts';
import type { Processor, Processors } from './ports.ts';
import { payloadProblem } from './validate-payload.ts';

export interface BullmqWorkersOptions {
  redisUrl: string;
  prefix: string;
  processors: Processors;
  /** Jobs of one queue run at once in this process. */
  concurrency: number;
  /**
   * How long a job's lock lasts without renewal. A worker that dies (kill -9) holds its jobs
   * this long; then another worker finds them stalled and runs them again.
   */
  lockMs: number;
  logger: Logger;
}

/** The BullMQ side of `npm run worker`: one Worker per queue that has processors. */
export function startBullmqWorkers(options: BullmqWorkersOptions): { close(): Promise<void>; running(): { name: string; id: string | undefined }[] } {
  const { processors, logger } = options;
  // For the shutdown report: what would be left half done if the process gave up now.
  const active = new Set<{ name: string; id: string | undefined }>();
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null, connectionName: 'tandem-worker' });
  connection.on('error', (error) => logger.warn({ err: error }, 'Redis (worker) does not answer; jobs wait until it is back'));
  const queues = new Set((Object.keys(processors) as JobName[]).map((name) => JOBS[name].queue as QueueName));

  const workers = [...queues].map((queue) => {
    const worker = new Worker(
      queue,
      async (job) => {
        const problem = payloadProblem(job.name, job.data);
        if (problem) throw new UnrecoverableError(`bad payload: ${problem}`);
        const processor = processors[job.name as JobName] as Processor<JobName> | undefined;
        if (!processor) throw new UnrecoverableError(`no processor for ${job.name}`);
        const entry = { name: job.name, id: job.id };
        active.add(entry);
        try {
          await processor(job.data as never, { attempt: job.attemptsMade + 1, attempts: job.opts.attempts ?? 1 });
        } catch (error) {
          if (error instanceof PermanentJobError) throw new UnrecoverableError(error.message);
          throw error;
        } finally {
          active.delete(entry);
        }
      },
      {
        connection,
        prefix: options.prefix,
        concurrency: options.concurrency,
        lockDuration: options.lockMs,
        stalledInterval: Math.max(500, Math.floor(options.lockMs / 2)),
        // A job whose worker died counts as stalled once; a busy (not dead) worker can miss a lock
        // renewal too, so allow a few before BullMQ gives the job up as failed.
        maxStalledCount: 3,
      },
    );
    worker.on('failed', (job, error) =>
      logger.warn({ err: error, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade }, job && job.attemptsMade < (job.opts.attempts ?? 1) ? 'job attempt failed; retrying' : 'job failed for good'),
    );
    worker.on('error', (error) => logger.warn({ err: error, queue }, 'worker error'));
    return worker;
  });

  return {
    /** Graceful: running jobs finish, no new ones start. */
    async close() {
      await Promise.all(workers.map((worker) => worker.close()));
      await connection.quit().catch(() => connection.disconnect());
    },
    running: () => [...active].map((job) => ({ ...job })),
  };
}
