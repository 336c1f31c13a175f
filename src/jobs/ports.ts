import type { JobName, JobPayload, QueueName } from './job-types.ts';

export interface PublishOptions {
  /** Run no sooner than this. */
  delayMs?: number;
  /**
   * While a job with this key waits (or runs), publishing another with the same key does
   * nothing: many triggers, one job (compaction of a document, a debounced webhook).
   */
  dedupeKey?: string;
}

/** Used by nodes, REST and processors to hand work to the background. */
export interface JobPublisher {
  publish<N extends JobName>(name: N, payload: JobPayload<N>, options?: PublishOptions): Promise<void>;
}

export interface JobContext {
  /** 1 for the first try. */
  attempt: number;
  /** How many tries the job has in all. */
  attempts: number;
}

export type Processor<N extends JobName> = (payload: JobPayload<N>, context: JobContext) => Promise<void>;
/** The processors a runner runs; a runner refuses jobs whose processor is missing. */
export type Processors = { [N in JobName]?: Processor<N> };

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/** A job system: publishes, and reports how deep its queues are (for /metrics). */
export interface JobQueues extends JobPublisher {
  counts(): Promise<Record<QueueName, QueueCounts>>;
  close(): Promise<void>;
}

/** How often the recurring jobs run; 0 turns one off. */
export interface JobSchedule {
  compactSweepMs: number;
  expireSweepMs: number;
}

/** Retry policy: tries in all, and the first backoff (doubled each time). */
export interface RetryPolicy {
  attempts: number;
  backoffMs: number;
}
