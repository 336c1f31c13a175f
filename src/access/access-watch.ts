import type { Logger } from 'pino';
import type { AccessStore } from './ports.ts';

/**
 * Polls the access epoch (one row, bumped by every change that takes access away, on any
 * node) and calls `onChange` when it moves: live sockets are then re-checked within about
 * one interval, whichever node the change was made on.
 */
export function watchAccessChanges(options: {
  store: Pick<AccessStore, 'epoch'>;
  intervalMs: number;
  logger: Logger;
  onChange: () => Promise<void>;
}): { close(): Promise<void> } {
  let seen: bigint | null = null;
  let running: Promise<void> | null = null;

  const tick = async () => {
    try {
      const now = await options.store.epoch();
      if (seen !== null && now !== seen) await options.onChange();
      seen = now;
    } catch (error) {
      options.logger.warn({ err: error }, 'could not check for access changes; will try again');
    }
  };
  // A slow database must not pile up checks: skip a beat while one is still running.
  const start = () => {
    running ??= tick().finally(() => {
      running = null;
    });
  };
  const timer = setInterval(start, options.intervalMs);
  timer.unref();
  start();

  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
