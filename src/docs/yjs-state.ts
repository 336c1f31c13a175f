import * as Y from 'yjs';
import type { ContentFormat } from '../formats/ports.ts';

/** Yjs's DeleteSet (its class is not exported under that name). */
export type DeleteSet = Y.Transaction['deleteSet'];

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
 * The clients whose earlier updates `update` builds on but `doc` lacks: structs after a gap,
 * or deletions of items it does not have yet. Yjs would hold such an update aside as pending
 * (and finish it later, inside someone else's transaction), so it must be refused instead of
 * acknowledged.
 */
export function missingDependencies(doc: Y.Doc, update: Uint8Array): number[] {
  const { structs, ds } = Y.decodeUpdate(update);
  // The clocks the update writes, per client (its structs come in clock order per client).
  const from = new Map<number, number>();
  const to = new Map<number, number>();
  for (const struct of structs) {
    if (!from.has(struct.id.client)) from.set(struct.id.client, struct.id.clock);
    to.set(struct.id.client, struct.id.clock + struct.length);
  }
  const have = Y.decodeStateVector(Y.encodeStateVector(doc));
  const missing = new Set([...from].filter(([client, clock]) => (have.get(client) ?? 0) < clock).map(([client]) => client));
  /** Whether the document or the update itself holds the item with this id. */
  const known = (id: { client: number; clock: number }) =>
    id.clock < (have.get(id.client) ?? 0) || (id.clock >= (from.get(id.client) ?? Infinity) && id.clock < (to.get(id.client) ?? 0));
  // Items placed next to, or inside, items that do not exist yet.
  for (const struct of structs) {
    if (!(struct instanceof Y.Item)) continue;
    const parent = struct.parent as unknown;
    const parentId = parent instanceof Y.ID ? parent : null;
    for (const id of [struct.origin, struct.rightOrigin, parentId]) if (id && !known(id)) missing.add(id.client);
  }
  for (const [client, deletions] of ds.clients) {
    const end = Math.max(...deletions.map((deletion) => deletion.clock + deletion.len));
    if (end > Math.max(have.get(client) ?? 0, to.get(client) ?? 0)) missing.add(client);
  }
  return [...missing];
}

/** Whether the whole range [clock, clock + length) of `client` is deleted in `deleted` (sorted and merged, as a struct store's is). */
export function deletedIn(deleted: DeleteSet, client: number, clock: number, length: number): boolean {
  const ranges = deleted.clients.get(client);
  if (!ranges) return false;
  let low = 0;
  let high = ranges.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (ranges[middle]!.clock <= clock) low = middle + 1;
    else high = middle;
  }
  const range = ranges[low - 1];
  return range !== undefined && range.clock + range.len >= clock + length;
}
