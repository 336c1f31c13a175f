import { AppError } from '../errors.ts';
import { type ContentTask, type ContentTaskResult, runContentTask } from './content-work.ts';

/** What comes back from the thread: an AppError crosses as its fields (a clone of an Error keeps only its message). */
export type ThreadAnswer = { result: ContentTaskResult } | { refused: { code: string; message: string; details?: unknown } };

/** The worker thread's entry (content-work-pool.ts): one task, answered as data. */
export default async function contentWorkThread(task: ContentTask): Promise<ThreadAnswer> {
  try {
    return { result: await runContentTask(task) };
  } catch (error) {
    if (error instanceof AppError) return { refused: { code: error.code, message: error.message, details: error.details } };
    throw error;
  }
}
