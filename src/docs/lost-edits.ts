import * as Y from 'yjs';

/** Yjs's delete set (its type is not exported under a name). */
type DeleteSet = Y.Snapshot['ds'];

/**
 * A change made on a rebuild of an older version (the base) merges with what people did
 * since, except where it deletes a Yjs type: deleting an element deletes everything in it,
 * also what others typed into it meanwhile. A rich-text writer that moves, joins or re-nests
 * a block deletes its element (Yjs has no move), so a person typing in that block would lose
 * their typing. This finds that case, so that the write is refused instead.
 */

/**
 * The types that a transaction on the base deletes, outermost only (a deleted list's items go
 * with it): collect them in the transaction's afterTransaction.
 */
export function typesDeletedBy(transaction: Y.Transaction): Y.ID[] {
  const deleted: Y.ID[] = [];
  Y.iterateDeletedStructs(transaction, transaction.deleteSet, (struct) => {
    if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentType)) return;
    const parent = (struct.parent as Y.AbstractType<unknown>)._item;
    if (parent && Y.isDeleted(transaction.deleteSet, parent.id)) return;
    deleted.push(struct.id);
  });
  return deleted;
}

/**
 * The first of `types` (deleted by a change made on the base, whose snapshot `base` is) that `live` still has and that
 * someone changed after the base: anything in it inserted, deleted or formatted since.
 * Undefined when deleting them all loses nothing of anyone's.
 */
export function typeChangedSince(live: Y.Doc, types: readonly Y.ID[], base: Y.Snapshot): Y.AbstractType<unknown> | undefined {
  for (const id of types) {
    const item = Y.getItem(live.store, id);
    if (!(item instanceof Y.Item) || item.deleted || !(item.content instanceof Y.ContentType)) continue;
    const type = item.content.type as Y.AbstractType<unknown>;
    if (changedSince(type, base)) return type;
  }
  return undefined;
}

function changedSince(type: Y.AbstractType<unknown>, base: Y.Snapshot): boolean {
  for (let item = type._start; item; item = item.right) if (itemChangedSince(item, base)) return true;
  // Attributes: the value now and, to its left, those it overwrote.
  for (const last of type._map.values()) {
    for (let item: Y.Item | null = last; item; item = item.left) if (itemChangedSince(item, base)) return true;
  }
  return false;
}

function itemChangedSince(item: Y.Item, base: Y.Snapshot): boolean {
  const { client, clock } = item.id;
  if (clock + item.length > (base.sv.get(client) ?? 0)) return true;
  if (item.deleted) return !deletedIn(base.ds, client, clock, item.length);
  return item.content instanceof Y.ContentType && changedSince(item.content.type as Y.AbstractType<unknown>, base);
}

/** Whether the whole range [clock, clock + length) of `client` is deleted in `deleted` (sorted and merged, as a struct store's is). */
function deletedIn(deleted: DeleteSet, client: number, clock: number, length: number): boolean {
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
