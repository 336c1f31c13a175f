import type { Logger } from 'pino';

/** What a process leaves undone when its shutdown is given up: the one line a person reads. */
export interface Leftovers {
  /** The step of the close it was in ("letting rooms unload"). */
  stage: string;
  /** What was not finished, what that means, and what to do next. */
  summary: string;
  /** The same as log fields, for searching and alerting. */
  details: Record<string, unknown>;
}

/** A node or a worker, as the process around it closes it. */
export interface Closable {
  /** The graceful close, step by step. May never settle while a database or Redis is away. */
  close(): Promise<void>;
  /**
   * Called at most once, synchronously and just before the process exits, when closing is
   * given up: stops whatever could still acknowledge work and says what is left undone.
   */
  abandon(): Leftovers;
}

/** Runs a close one named step at a time, remembering the step for the report if it hangs. */
export function closeSteps(): { run(what: string, work: () => Promise<unknown>): Promise<void>; readonly current: string } {
  let current = 'not closing yet';
  return {
    async run(what, work) {
      current = what;
      await work();
    },
    get current() {
      return current;
    },
  };
}

export interface ShutdownOptions {
  target: Closable;
  /** SHUTDOWN_TIMEOUT_MS: how long the graceful close may take, in all. */
  timeoutMs: number;
  logger: Logger;
  /** Logged when the first signal arrives ("shutting down: …"). */
  stopping: string;
  /** process.exit; a parameter so that tests can watch it. */
  exit: (code: number) => void;
}

/**
 * The handler for SIGTERM and SIGINT. The first signal starts the graceful close; it exits 0
 * once that completes. It exits 1, after logging what was left undone, when the close takes
 * longer than the deadline, fails, or a second signal arrives (a person pressing Ctrl-C again
 * wants out now). Exactly one exit happens, whichever comes first: a close that settles after
 * the process gave up changes nothing.
 */
export function shutdownOnSignal(options: ShutdownOptions): (signal: string) => void {
  const { target, timeoutMs, logger } = options;
  let state: 'running' | 'closing' | 'done' = 'running';
  let deadline: NodeJS.Timeout | undefined;

  function finish(code: number, log: () => void): void {
    if (state === 'done') return;
    state = 'done';
    clearTimeout(deadline);
    try {
      log();
    } finally {
      // Even if logging throws (stdout gone): a half-closed process must not linger.
      options.exit(code);
    }
  }

  function giveUp(why: string, error?: unknown): void {
    finish(1, () => {
      let leftovers: Leftovers;
      try {
        leftovers = target.abandon();
      } catch (abandonError) {
        leftovers = { stage: 'an unknown step', summary: `What was left undone is unknown: ${String(abandonError)}`, details: { abandonError } };
      }
      logger.error(
        { ...leftovers.details, stage: leftovers.stage, reason: why, ...(error === undefined ? {} : { err: error }) },
        `shutdown gave up (${why}) while ${leftovers.stage}; exiting with code 1. ${leftovers.summary}`,
      );
    });
  }

  return (signal) => {
    if (state === 'done') return;
    if (state === 'closing') return giveUp(`a second ${signal} arrived`);
    state = 'closing';
    logger.info({ signal, timeoutMs }, `${options.stopping} (giving up after SHUTDOWN_TIMEOUT_MS=${timeoutMs} ms)`);
    // Not unref'd: this timer is what guarantees an exit when the close waits on something
    // that never answers.
    deadline = setTimeout(() => giveUp(`not closed within SHUTDOWN_TIMEOUT_MS=${timeoutMs} ms`), timeoutMs);
    Promise.resolve()
      .then(() => target.close())
      .then(
        () => finish(0, () => logger.info('shutdown complete')),
        (error: unknown) => giveUp('closing failed', error),
      );
  };
}
