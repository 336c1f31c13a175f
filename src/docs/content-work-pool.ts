import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { AppError, isErrorCode } from '../errors.ts';
import { type ContentTask, type ContentTaskResult, type ContentWork, contentWorkWith, runContentTask } from './content-work.ts';
import type { ThreadAnswer } from './content-work-thread.ts';

export interface ContentWorkPool extends ContentWork {
  close(): Promise<void>;
}

/** The thread's module beside this one: TypeScript when run from the sources (tests), JavaScript once built. */
const THREAD = new URL(`./content-work-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * Rich-text content work on a worker thread (Piscina), so that the event loop keeps serving
 * sockets and requests while a large document is parsed and diffed; markdown documents'
 * work, small and bounded (text-diff.ts), stays in this thread. Threads start on the first
 * rich-text task and stop when idle for a minute, so a node without rich text pays nothing.
 */
export function createContentWorkPool(options: { threads: number }): ContentWorkPool {
  const pool = new Piscina<ContentTask, ThreadAnswer>({
    filename: fileURLToPath(THREAD),
    minThreads: 0,
    maxThreads: options.threads,
    idleTimeout: 60_000,
  });

  async function run(task: ContentTask): Promise<ContentTaskResult> {
    const answer = await pool.run(task);
    if ('refused' in answer) {
      const { code, message, details } = answer.refused;
      throw isErrorCode(code) ? new AppError(code, message, { details }) : new Error(message);
    }
    return answer.result;
  }

  return {
    ...contentWorkWith((task) => (task.format === 'markdown' ? runContentTask(task) : run(task))),
    close: () => pool.destroy(),
  };
}
