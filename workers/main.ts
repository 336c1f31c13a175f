import type { Logger } from 'pino';
import { type Config, ConfigError } from '../src/config.ts';
import { runIfMain } from '../src/entry-point.ts';
import { type Closable, closeSteps } from '../src/shutdown.ts';
import { runningJobsReport } from '../src/shutdown-report.ts';
import { createBullmqQueues } from '../src/jobs/bullmq-jobs.ts';
import { startBullmqWorkers } from '../src/jobs/bullmq-workers.ts';
import { retryPolicy } from '../src/jobs/retry-policy.ts';
import { openDatabase } from '../src/storage/database.ts';
import { migrate } from '../src/storage/migrate.ts';
import { createProcessors } from './processors.ts';

export type RunningWorker = Closable;

/**
 * The worker process (npm run worker): BullMQ workers for every queue, on the same database
 * as the nodes. Any number of them may run; each job runs on one of them at a time, and the
 * jobs of a worker that dies are taken over once their lock expires (WORKER_LOCK_MS).
 */
export async function startWorker(config: Readonly<Config>, logger: Logger): Promise<RunningWorker> {
  if (!config.redisUrl) throw new ConfigError(['REDIS_URL: required by npm run worker (without Redis, npm start runs the jobs itself)']);
  const db = await openDatabase(config.storage, logger);
  await migrate(db);
  const queues = createBullmqQueues({ redisUrl: config.redisUrl, prefix: config.jobs.prefix, retry: retryPolicy(config), logger });
  await queues.schedule({ compactSweepMs: config.compaction.sweepMs, expireSweepMs: config.expiry.sweepMs });
  const workers = startBullmqWorkers({
    redisUrl: config.redisUrl,
    prefix: config.jobs.prefix,
    processors: createProcessors({ prisma: db.prisma, sql: db.sql, jobs: queues, config, logger }),
    concurrency: config.jobs.workerConcurrency,
    lockMs: config.jobs.workerLockMs,
    logger,
  });
  logger.info(
    { storage: db.kind, concurrency: config.jobs.workerConcurrency, prefix: config.jobs.prefix },
    `Tandem worker running · storage: ${db.kind === 'postgres' ? 'Postgres' : 'embedded PGlite'} · queues on Redis (prefix ${config.jobs.prefix})`,
  );
  const steps = closeSteps();
  return {
    async close() {
      // Running jobs finish first; then nothing uses the queues or the database. A job stuck
      // on a database that does not answer holds this up until SHUTDOWN_TIMEOUT_MS.
      await steps.run('letting running jobs finish', () => workers.close());
      await steps.run('closing the queues', () => queues.close());
      await steps.run('closing the database', () => db.close());
    },
    // A job left running is not marked done in Redis: its lock expires and another worker
    // takes it over, as after kill -9.
    abandon: () => runningJobsReport(workers.running(), steps.current),
  };
}

runIfMain({ moduleUrl: import.meta.url, name: 'Tandem worker', stopping: 'worker shutting down: letting running jobs finish', start: startWorker });
