import type { Leftovers } from './shutdown.ts';

/** Documents (or jobs) named in the message itself; the log fields have all of them. */
const NAMED_IN_MESSAGE = 20;

/**
 * A node gave up closing: which documents still held updates the op log never committed.
 * `stage` is the step of the close it was in.
 */
export function unsavedUpdatesReport(held: ReadonlyMap<string, number>, stage: string): Leftovers {
  const total = [...held.values()].reduce((sum, count) => sum + count, 0);
  if (total === 0) {
    return {
      stage,
      summary:
        'Every accepted update had been committed, so no edit is lost. ' +
        'Check what that step waits on (the database, Redis), or raise SHUTDOWN_TIMEOUT_MS.',
      details: { unsavedUpdates: {}, unsavedDocuments: 0, unsavedTotal: 0 },
    };
  }
  const largestFirst = [...held].sort(([, a], [, b]) => b - a);
  const named = listed(largestFirst.map(([id, count]) => `${id} (${count})`));
  return {
    stage,
    summary:
      `${plural(total, 'update')} to ${plural(held.size, 'document')} ${total === 1 ? 'was' : 'were'} never committed: ${named}. ` +
      'None was acknowledged, so nothing acknowledged is lost: the clients that sent them still hold them and send them again ' +
      'when they reconnect (a REST write among them got no 2xx; retry it, with its Idempotency-Key). ' +
      'Check that the database answers (DATABASE_URL), then start Tandem again; raise SHUTDOWN_TIMEOUT_MS if committing only needed longer.',
    details: { unsavedUpdates: Object.fromEntries(largestFirst), unsavedDocuments: held.size, unsavedTotal: total },
  };
}

export interface RunningJob {
  name: string;
  id: string | undefined;
}

/** A worker gave up closing: which jobs were still running (BullMQ hands them on later). */
export function runningJobsReport(jobs: readonly RunningJob[], stage: string): Leftovers {
  if (jobs.length === 0) {
    return {
      stage,
      summary: 'No job was running, so none is left half done. Check what that step waits on (Redis, the database), or raise SHUTDOWN_TIMEOUT_MS.',
      details: { runningJobs: [] },
    };
  }
  const one = jobs.length === 1;
  return {
    stage,
    summary:
      `${plural(jobs.length, 'job')} had not finished: ${listed(jobs.map((job) => `${job.name} ${job.id ?? '(no id)'}`))}. ` +
      `${one ? 'It is' : 'They are'} not marked done: once ${one ? 'its' : 'their'} lock expires (WORKER_LOCK_MS), another worker runs ${one ? 'it' : 'them'} again (jobs are safe to repeat). ` +
      'Check that the database and Redis answer, then start the worker again; raise SHUTDOWN_TIMEOUT_MS if the jobs only needed longer.',
    details: { runningJobs: jobs },
  };
}

function listed(items: string[]): string {
  const shown = items.slice(0, NAMED_IN_MESSAGE);
  if (items.length > NAMED_IN_MESSAGE) shown.push(`and ${items.length - NAMED_IN_MESSAGE} more`);
  return shown.join(', ');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
