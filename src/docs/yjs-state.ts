import * as Y from 'yjs';
import type { ContentFormat } from '../formats/ports.ts';

/** A Y.Doc holding exactly `updates` (a snapshot and log entries, in order). */
export function docFromUpdates(updates: readonly Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    for (const update of updates) Y.applyUpdate(doc, update);
  });
  return doc;
}

/** The markdown of the document `updates` hold. */
export function markdownOfUpdates(format: ContentFormat, updates: readonly Uint8Array[]): string {
  const doc = docFromUpdates(updates);
  try {
    return format.render(doc);
  } finally {
    doc.destroy();
  }
}

/**
 * The clients whose earlier updates `update` builds on but `doc` lacks. Yjs would hold such
 * an update aside as pending, so it must be refused instead of acknowledged.
 */
export function missingDependencies(doc: Y.Doc, update: Uint8Array): number[] {
  const { from } = Y.parseUpdateMeta(update);
  const have = Y.decodeStateVector(Y.encodeStateVector(doc));
  return [...from].filter(([client, clock]) => (have.get(client) ?? 0) < clock).map(([client]) => client);
}
