import * as Y from 'yjs';
import { itemRuns } from '../formats/authorship.ts';
import type { ContentFormat } from '../formats/ports.ts';
import { docFromUpdates } from './yjs-state.ts';

/** An op-log entry as blame reads it. */
export interface LoggedUpdate {
  seq: number;
  update: Uint8Array;
}

/**
 * Markdown [start, end) written with one Yjs client id in one version. `client` is null only
 * for a document with no text at all; `version` is null where the log that wrote it was
 * compacted away.
 */
export interface BlameRun {
  start: number;
  end: number;
  client: number | null;
  version: number | null;
}

interface ClockRange {
  from: number;
  to: number;
  seq: number;
}

/** The clocks each logged update added, per client, in clock order. */
function clockRanges(log: readonly LoggedUpdate[]): Map<number, ClockRange[]> {
  const ranges = new Map<number, ClockRange[]>();
  for (const { seq, update } of log) {
    const { from, to } = Y.parseUpdateMeta(update);
    for (const [client, end] of to) {
      const start = from.get(client) ?? 0;
      if (end <= start) continue;
      const list = ranges.get(client);
      if (list) list.push({ from: start, to: end, seq });
      else ranges.set(client, [{ from: start, to: end, seq }]);
    }
  }
  for (const list of ranges.values()) list.sort((a, b) => a.from - b.from);
  return ranges;
}

/** Index of the last range starting at or before `clock` (-1: none). */
function rangeAt(list: readonly ClockRange[], clock: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (list[middle]!.from <= clock) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/**
 * Who (as a client id) and when (as a version) wrote each character of the markdown of the
 * document `updates` hold, given the log entries still kept (`log`). Markup belongs to no
 * Yjs item; it goes with the text after it (a heading's `## ` with its words), or at the end
 * with the text before it, so the runs cover the markdown without a gap.
 */
export function blameRuns(format: ContentFormat, updates: readonly Uint8Array[], log: readonly LoggedUpdate[]): { markdown: string; runs: BlameRun[] } {
  const doc = docFromUpdates(updates);
  let items;
  try {
    items = itemRuns(format, doc);
  } finally {
    doc.destroy();
  }
  const ranges = clockRanges(log);
  const written: BlameRun[] = [];
  for (const run of items.runs) {
    const list = ranges.get(run.client) ?? [];
    let start = run.start;
    while (start < run.end) {
      const clock = run.clock + (start - run.start);
      const at = rangeAt(list, clock);
      const range = at >= 0 && list[at]!.to > clock ? list[at]! : undefined;
      // Up to where this range ends, or the next one starts.
      const stop = range ? range.to : (list[at + 1]?.from ?? Number.POSITIVE_INFINITY);
      const end = Math.min(run.end, start + (stop - clock));
      written.push({ start, end, client: run.client, version: range?.seq ?? null });
      start = end;
    }
  }
  return { markdown: items.markdown, runs: coverWithout(written, items.markdown.length) };
}

/**
 * Runs that cover [0, length): each gap joins the run after it (the last gap, the run before),
 * and neighbours written by one client in one version become one.
 */
function coverWithout(runs: BlameRun[], length: number): BlameRun[] {
  if (length === 0) return [];
  if (runs.length === 0) return [{ start: 0, end: length, client: null, version: null }];
  const covered: BlameRun[] = [];
  let at = 0;
  for (const run of runs) {
    const last = covered.at(-1);
    if (last && last.client === run.client && last.version === run.version) last.end = run.end;
    else covered.push({ ...run, start: at });
    at = run.end;
  }
  covered.at(-1)!.end = length;
  return covered;
}
