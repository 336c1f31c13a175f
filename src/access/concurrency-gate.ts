import { AppError } from '../errors.ts';

/**
 * At most `concurrency` tasks run at once; later ones wait in arrival order, and when
 * `maxWaiting` already wait, a new one is refused at once with RATE_LIMITED (retry in a
 * second) rather than queued behind a flood it cannot get ahead of.
 */
export function createConcurrencyGate(options: { concurrency: number; maxWaiting: number; busyDetail: string }) {
  let running = 0;
  const waiting: (() => void)[] = [];

  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (running < options.concurrency) running += 1;
      else if (waiting.length >= options.maxWaiting) throw new AppError('RATE_LIMITED', options.busyDetail, { retryAfterSeconds: 1 });
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        // The slot passes straight to the next waiter, so a newcomer cannot jump the queue.
        const next = waiting.shift();
        if (next) next();
        else running -= 1;
      }
    },
    /** For tests and metrics: tasks running and waiting. */
    get load() {
      return { running, waiting: waiting.length };
    },
  };
}
