import { contentFormat } from '../formats/formats.ts';
import type { DocumentFormat } from '../formats/ports.ts';
import { type BlameRun, blameRuns, type LoggedUpdate } from './blame-runs.ts';
import { type RevertedEntry, revertUpdate } from './revert-author.ts';
import { type BaseChange, baseChangeData, type BaseChangeData, baseChangeOf } from './base-change.ts';
import { changedText, type TextChange } from './text-change.ts';
import { markdownOfUpdates } from './yjs-state.ts';

/**
 * The CPU-heavy part of reading and writing content: rendering stored updates as markdown and
 * making a text change on a rebuild of its base. Both are pure functions of their inputs, so
 * that they can run in another thread: for rich text they cost a second per megabyte
 * (markdown parsed and read back, trees built and diffed), which on the event loop would
 * stall every socket and request of the node (content-work-pool.ts).
 */
export interface ContentWork {
  /** The markdown that `updates` (a snapshot and log entries) hold. */
  markdownOf(format: DocumentFormat, updates: readonly Uint8Array[]): Promise<string>;
  /** `change` made on the base `baseUpdates` hold (changeAgainstBase), or null when it changes nothing. */
  changeOn(format: DocumentFormat, baseUpdates: readonly Uint8Array[], change: TextChange, maxBytes: number): Promise<BaseChange | null>;
  /** Who wrote each part of the markdown `updates` hold, as client ids and versions (blame-runs.ts). */
  blameOf(format: DocumentFormat, updates: readonly Uint8Array[], log: readonly LoggedUpdate[]): Promise<{ markdown: string; runs: BlameRun[] }>;
  /** The update that undoes one author's part of `log` (revert-author.ts), or null. */
  revertOf(format: DocumentFormat, since: number, baseUpdates: readonly Uint8Array[], log: readonly RevertedEntry[]): Promise<Uint8Array | null>;
}

/** One piece of content work, as plain data: what crosses to a worker thread. */
export type ContentTask =
  | { kind: 'markdown'; format: DocumentFormat; updates: readonly Uint8Array[] }
  | { kind: 'change'; format: DocumentFormat; updates: readonly Uint8Array[]; change: TextChange; maxBytes: number }
  | { kind: 'blame'; format: DocumentFormat; updates: readonly Uint8Array[]; log: readonly LoggedUpdate[] }
  | { kind: 'revert'; format: DocumentFormat; since: number; updates: readonly Uint8Array[]; log: readonly RevertedEntry[] };

export type ContentTaskResult = { markdown: string } | { change: BaseChangeData | null } | { blame: { markdown: string; runs: BlameRun[] } } | { revert: Uint8Array | null };

/** Does a task in this thread. */
export async function runContentTask(task: ContentTask): Promise<ContentTaskResult> {
  const format = await contentFormat(task.format);
  if (task.kind === 'markdown') return { markdown: markdownOfUpdates(format, task.updates) };
  if (task.kind === 'blame') return { blame: blameRuns(format, task.updates, task.log) };
  if (task.kind === 'revert') return { revert: revertUpdate(format, task.since, task.updates, task.log) };
  return { change: baseChangeData(format, task.updates, (text) => changedText(task.change, text, task.maxBytes)) };
}

/** ContentWork that does its tasks with `run` (in this thread, or in another). */
export function contentWorkWith(run: (task: ContentTask) => Promise<ContentTaskResult>): ContentWork {
  return {
    async markdownOf(format, updates) {
      return ((await run({ kind: 'markdown', format, updates })) as { markdown: string }).markdown;
    },
    async changeOn(format, updates, change, maxBytes) {
      const { change: data } = (await run({ kind: 'change', format, updates, change, maxBytes })) as { change: BaseChangeData | null };
      return data && baseChangeOf(data);
    },
    async blameOf(format, updates, log) {
      return ((await run({ kind: 'blame', format, updates, log })) as { blame: { markdown: string; runs: BlameRun[] } }).blame;
    },
    async revertOf(format, since, updates, log) {
      return ((await run({ kind: 'revert', format, since, updates, log })) as { revert: Uint8Array | null }).revert;
    },
  };
}

/** Content work in the calling thread (for markdown documents, whose work is bounded and small). */
export const inlineContentWork: ContentWork = contentWorkWith(runContentTask);
