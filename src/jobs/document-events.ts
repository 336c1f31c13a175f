import type { Logger } from 'pino';
import type { SuggestionEvent } from './job-types.ts';
import type { JobPublisher } from './ports.ts';

/** How long a live document's compaction request waits, folding the requests made meanwhile. */
const COMPACT_DELAY_MS = 60_000;

export interface DocumentEvents {
  /** An update of the document was committed at `seq`. */
  committed(documentId: string, seq: number): void;
  /** The document left this node's memory: a good moment to compact it. */
  unloaded(documentId: string): void;
  deleted(documentId: string): void;
  /**
   * A suggestion of the document was made, accepted or rejected. Each happens once to a
   * suggestion, so the event is known by both: a retried accept publishes nothing new.
   */
  suggestion(event: SuggestionEvent, documentId: string, suggestionId: string, data: Record<string, unknown>): void;
  /** Sends the document.updated events still waiting for their window to end. */
  close(): Promise<void>;
}

/**
 * What a node tells the background about documents. document.updated is debounced here, per
 * document, so a burst of keystrokes costs one job, not one Redis call per commit; the
 * dedupe key folds the same burst seen by several nodes into one event. Every
 * `compactEvery`-th seq asks for a compaction (a minute later), so a document that stays
 * loaded for days still gets compacted. Publishing is fire and forget: a lost event is logged, the write stands.
 */
export function createDocumentEvents(jobs: JobPublisher, options: { debounceMs: number; compactEvery: number; logger: Logger }): DocumentEvents {
  const { logger } = options;
  const waiting = new Map<string, { timer: NodeJS.Timeout; version: number }>();
  const send = (what: string, work: Promise<void>) => work.catch((error: unknown) => logger.warn({ err: error, what }, 'could not enqueue background work'));

  const publishUpdated = (documentId: string, version: number) =>
    send('document.updated', jobs.publish('webhook-event', { event: 'document.updated', documentId, data: { version } }, { dedupeKey: `document.updated:${documentId}` }));
  // A document being edited asks at most once per COMPACT_DELAY_MS: each compaction decodes the
  // whole document, which a busy document would otherwise pay every SNAPSHOT_EVERY updates.
  const compactSoon = (documentId: string) =>
    send('compact', jobs.publish('compact', { documentId }, { dedupeKey: `compact:${documentId}`, delayMs: COMPACT_DELAY_MS }));
  // Unloaded: compact now (a separate key, so a delayed one pending for it does not hold this back).
  const compactNow = (documentId: string) => send('compact', jobs.publish('compact', { documentId }, { dedupeKey: `compact-unloaded:${documentId}` }));

  return {
    committed(documentId, seq) {
      if (seq % options.compactEvery === 0) void compactSoon(documentId);
      const pending = waiting.get(documentId);
      if (pending) {
        pending.version = Math.max(pending.version, seq);
        return;
      }
      const entry = {
        version: seq,
        timer: setTimeout(() => {
          waiting.delete(documentId);
          void publishUpdated(documentId, entry.version);
        }, options.debounceMs),
      };
      waiting.set(documentId, entry);
    },
    unloaded: (documentId) => void compactNow(documentId),
    deleted(documentId) {
      void send('document.deleted', jobs.publish('webhook-event', { event: 'document.deleted', documentId }));
    },
    suggestion(event, documentId, suggestionId, data) {
      void send(event, jobs.publish('webhook-event', { event, documentId, data: { suggestionId, ...data }, eventId: `${event}:${suggestionId}` }));
    },
    async close() {
      const flushing = [...waiting].map(([documentId, { timer, version }]) => {
        clearTimeout(timer);
        return publishUpdated(documentId, version);
      });
      waiting.clear();
      await Promise.all(flushing);
    },
  };
}
