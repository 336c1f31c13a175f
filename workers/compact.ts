import { compactDocument, type RetentionPolicy } from '../src/docs/compaction.ts';
import type { Processor } from '../src/jobs/ports.ts';
import { createCompactionStore } from '../src/storage/compaction-repository.ts';
import type { ProcessorDeps } from './processors.ts';

const HOUR_MS = 3_600_000;

export function retentionOf(config: ProcessorDeps['config']): RetentionPolicy {
  return {
    snapshotEvery: config.snapshotEvery,
    keepRawLogMs: config.compaction.keepRawLogHours * HOUR_MS,
    keepCheckpointsMs: config.compaction.keepCheckpointDays * 24 * HOUR_MS,
  };
}

/** compact: snapshot one document's log and trim what the retention no longer needs. */
export function createCompactProcessor({ prisma, config, logger }: ProcessorDeps): Processor<'compact'> {
  const store = createCompactionStore(prisma);
  return async ({ documentId }) => {
    const result = await compactDocument(store, documentId, retentionOf(config));
    if (result.snapshots.length > 0 || result.trimmedUpdates > 0) logger.info({ documentId, ...result }, 'compacted');
  };
}

/** How many documents one sweep enqueues; the next sweep takes the rest. */
const SWEEP_LIMIT = 1000;

/** compact-sweep: enqueue `compact` for every document whose log grew or outlived its retention. */
export function createCompactSweepProcessor({ prisma, config, jobs }: ProcessorDeps): Processor<'compact-sweep'> {
  const store = createCompactionStore(prisma);
  return async () => {
    const cutoff = new Date(Date.now() - retentionOf(config).keepRawLogMs);
    for (const documentId of await store.due(config.snapshotEvery, cutoff, SWEEP_LIMIT)) {
      await jobs.publish('compact', { documentId }, { dedupeKey: `compact:${documentId}` });
    }
  };
}
