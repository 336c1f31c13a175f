import * as Y from 'yjs';
import type { CompactionStore, LogEntry } from '../storage/compaction-repository.ts';

export interface RetentionPolicy {
  /** A new snapshot at the head once the log has grown this many updates past the newest one. */
  snapshotEvery: number;
  /** Every single update stays in the log this long (history, base-version patches). */
  keepRawLogMs: number;
  /** One snapshot per hour of editing stays this long. */
  keepCheckpointsMs: number;
}

export interface CompactionResult {
  /** Snapshots written (the head, the trim point, checkpoints, named versions). */
  snapshots: number[];
  /** The log up to here was deleted (0: nothing trimmed). */
  trimmedTo: number;
  trimmedUpdates: number;
  prunedSnapshots: number;
}

/**
 * Updates read per page of the log, and applied per transaction (and per turn of the event
 * loop), while replaying: a long log is never held in memory at once.
 */
const REPLAY_PAGE = 1000;

const NOTHING: CompactionResult = { snapshots: [], trimmedTo: 0, trimmedUpdates: 0, prunedSnapshots: 0 };

/**
 * Compaction of one document: a snapshot at the head once the log has grown enough (so loads
 * read one row plus a short tail), snapshots at every point the retention keeps (named versions, hourly checkpoints,
 * the trim point), then the log up to the trim point is deleted and snapshots nothing needs
 * any more are pruned. Snapshots are built by replaying the stored log, never from a live
 * document, and only where the replay has no pending structs (updates whose dependencies
 * are missing); the trim point backs off to the last clean seq. Every step is idempotent and
 * only touches seqs at or below the head read at the start, so it is safe to run twice, on
 * two workers at once, and while nodes append.
 */
export async function compactDocument(store: CompactionStore, documentId: string, policy: RetentionPolicy, now = new Date()): Promise<CompactionResult> {
  const head = await store.head(documentId);
  if (!head || head.deleted || head.headSeq === 0) return NOTHING;
  const headSeq = head.headSeq;
  const [existing, named, hourly, rawCutoffSeq] = await Promise.all([
    store.snapshotSeqs(documentId),
    store.namedVersionSeqs(documentId),
    store.hourlyCheckpoints(documentId, new Date(now.getTime() - policy.keepCheckpointsMs)),
    store.lastSeqBefore(documentId, new Date(now.getTime() - policy.keepRawLogMs)),
  ]);
  const newest = existing.at(-1) ?? 0;
  const trimWanted = Math.min(rawCutoffSeq, headSeq);
  const keep = new Set([...named, ...hourly].filter((seq) => seq <= headSeq));
  const have = new Set(existing);
  // Points below the trim point need a snapshot of their own once the log there is gone.
  const needed = [...keep].filter((seq) => seq <= trimWanted && !have.has(seq));
  if (trimWanted > 0 && !have.has(trimWanted)) needed.push(trimWanted);
  // Not on every small change: each snapshot is a whole copy of the document.
  if (headSeq - newest >= policy.snapshotEvery) needed.push(headSeq);
  // Nothing to build and nothing to trim.
  if (needed.length === 0 && (trimWanted === 0 || !have.has(trimWanted))) return NOTHING;
  const built = needed.length > 0 ? await buildSnapshots(store, documentId, existing, needed, headSeq) : new Map<number, { state: Uint8Array; createdAt: Date }>();

  // Trim only to a seq with a snapshot: the wanted one or, when the replay could not build it
  // (pending structs), the highest one below it.
  const withSnapshot = [...have, ...built.keys()].filter((seq) => seq > 0 && seq <= trimWanted);
  const trimTo = withSnapshot.length > 0 ? Math.max(...withSnapshot) : 0;
  const snapshots = [...built.keys()].sort((a, b) => a - b);
  await store.writeSnapshots(documentId, snapshots.map((seq) => ({ seq, ...built.get(seq)! })));
  const trimmedUpdates = trimTo > 0 ? await store.trimLog(documentId, trimTo) : 0;
  // Kept: named versions, the trim point, the newest, and the last snapshot of every hour
  // within the checkpoint window; every other snapshot was superseded.
  const newestNow = Math.max(newest, ...snapshots);
  const keepSeqs = new Set([...named, newestNow, ...(trimTo > 0 ? [trimTo] : [])]);
  const prunedSnapshots = await store.pruneSnapshots(documentId, keepSeqs, new Date(now.getTime() - policy.keepCheckpointsMs));
  return { snapshots, trimmedTo: trimTo, trimmedUpdates, prunedSnapshots };
}

/**
 * Replays the stored log, a page at a time, from the newest snapshot below every seq in
 * `needed` and encodes the state at each of them that the replay reaches with no pending
 * structs. The replay stops at the head read at the start, or at a hole (trimmed meanwhile).
 */
async function buildSnapshots(
  store: CompactionStore,
  documentId: string,
  existing: number[],
  needed: number[],
  headSeq: number,
): Promise<Map<number, { state: Uint8Array; createdAt: Date }>> {
  const lowest = Math.min(...needed);
  const base = existing.filter((seq) => seq <= lowest).at(-1) ?? 0;
  const wanted = new Set(needed);
  const built = new Map<number, { state: Uint8Array; createdAt: Date }>();
  const doc = new Y.Doc({ gc: true });
  try {
    if (base > 0) {
      const baseState = await store.snapshotState(documentId, base);
      // Pruned meanwhile: a replay without it would only reach pending structs.
      if (!baseState) return built;
      Y.applyUpdate(doc, baseState);
    }
    let replayed = base;
    while (replayed < headSeq) {
      const page = await store.logAfter(documentId, replayed, Math.min(REPLAY_PAGE, headSeq - replayed));
      // The contiguous run that continues the replay.
      const run: LogEntry[] = [];
      for (const entry of page) {
        if (entry.seq !== replayed + run.length + 1) break;
        run.push(entry);
      }
      if (run.length === 0) break;
      // One transaction per stretch up to the next wanted seq, far cheaper than one per update.
      let start = 0;
      while (start < run.length) {
        let end = start;
        while (end < run.length - 1 && !wanted.has(run[end]!.seq)) end += 1;
        doc.transact(() => {
          for (let i = start; i <= end; i++) Y.applyUpdate(doc, run[i]!.update);
        });
        const last = run[end]!;
        const clean = doc.store.pendingStructs === null && doc.store.pendingDs === null;
        if (clean && wanted.has(last.seq)) built.set(last.seq, { state: Y.encodeStateAsUpdate(doc), createdAt: last.createdAt });
        start = end + 1;
      }
      replayed += run.length;
      if (run.length < page.length) break;
      // In a node without Redis this runs beside the rooms: they get a turn between pages.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    doc.destroy();
  }
  return built;
}
