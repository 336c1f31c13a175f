import * as Y from 'yjs';
import { deletedIn } from './yjs-state.ts';

/**
 * A change made on a rebuild of an older version (the base) merges with what people did
 * since, except where the two meet in a block's structure, which Yjs cannot merge (it has no
 * move: a block moved, split, joined or turned into another kind is deleted and made anew):
 * - the change deletes an element someone edited since: everything in it goes, their typing
 *   too (an agent that moves, joins or re-nests a block deletes its element); or someone
 *   deleted it since: they moved or converted it, and the change would not apply to that;
 * - the change edits an element someone deleted since (they moved, joined or converted the
 *   block): the edit is lost with it;
 * - the change deletes rich text someone deleted since, typed inside of or formatted since
 *   (a split that moves the text into a new block takes their edit's place away), or adds
 *   text inside text someone deleted since (they moved it: the addition would land in the
 *   wrong block).
 * This finds those, so that the write is refused instead. Markdown documents (one Y.Text)
 * have no such structure: none of it applies to them.
 */

type Run = [client: number, clock: number, length: number];

/** Where a change made on the base touches the document's structure: the IDs it checks. */
export interface ChangeFootprint {
  /** Types the change deletes, outermost only (a deleted list's items go with it). */
  deletedTypes: Y.ID[];
  /** Types of the base the change edits (their content or attributes). */
  editedTypes: Y.ID[];
  /** Runs of rich text the change deletes, outside the types it deletes, with the text they are in. */
  deletedText: { text: Y.ID; run: Run }[];
  /** The characters of the base that what the change adds to rich text sits between (left, right; null at an end). */
  insertedBetween: [Y.ID | null, Y.ID | null][];
}

/** A transaction's footprint on the base (collect it in the transaction's afterTransaction). */
export function footprintOf(transaction: Y.Transaction, base: Y.Snapshot): ChangeFootprint {
  const inBase = (id: Y.ID | null) => id !== null && id.clock < (base.sv.get(id.client) ?? 0);
  const footprint: ChangeFootprint = { deletedTypes: [], editedTypes: [], deletedText: [], insertedBetween: [] };
  Y.iterateDeletedStructs(transaction, transaction.deleteSet, (struct) => {
    if (!(struct instanceof Y.Item) || !inBase(struct.id)) return;
    const parent = struct.parent as Y.AbstractType<unknown>;
    if (parent._item && Y.isDeleted(transaction.deleteSet, parent._item.id)) return;
    if (struct.content instanceof Y.ContentType) footprint.deletedTypes.push(struct.id);
    else if (parent instanceof Y.XmlText && parent._item) footprint.deletedText.push({ text: parent._item.id, run: [struct.id.client, struct.id.clock, struct.length] });
  });
  for (const type of transaction.changed.keys()) {
    if (type._item && inBase(type._item.id) && !Y.isDeleted(transaction.deleteSet, type._item.id)) footprint.editedTypes.push(type._item.id);
  }
  // What the change added: this client's structs from the clock the transaction started at.
  const client = transaction.doc.clientID;
  const structs = transaction.doc.store.clients.get(client) ?? [];
  const from = transaction.beforeState.get(client) ?? 0;
  const last = structs.at(-1);
  const firstAdded = last && last.id.clock + last.length > from ? Y.findIndexSS(structs, from) : structs.length;
  for (let index = firstAdded; index < structs.length; index++) {
    const struct = structs[index]!;
    if (!(struct instanceof Y.Item) || !(struct.parent instanceof Y.XmlText)) continue;
    const left = inBase(struct.origin) ? struct.origin : null;
    const right = inBase(struct.rightOrigin) ? struct.rightOrigin : null;
    if (left || right) footprint.insertedBetween.push([left, right]);
  }
  return footprint;
}

/**
 * What merging a change with `footprint` into `live` would lose of what people did after the
 * base: a description for a person, or null when nothing.
 */
export function lostBy(live: Y.Doc, footprint: ChangeFootprint, base: Y.Snapshot): string | null {
  for (const id of footprint.deletedTypes) {
    // (Deleted, its content may already be garbage collected: checked before its content.)
    if (deletedSince(live, id.client, id.clock, 1, base)) return 'it deletes or changes the kind of a block that someone deleted, moved or converted since';
    const item = Y.getItem(live.store, id);
    if (!(item instanceof Y.Item) || item.deleted || !(item.content instanceof Y.ContentType)) continue;
    const type = item.content.type as Y.AbstractType<unknown>;
    if (changedSince(type, base)) return `it deletes, moves or joins ${describe(type)}, which someone edited since`;
  }
  for (const id of footprint.editedTypes) {
    if (deletedSince(live, id.client, id.clock, 1, base)) return 'it edits a block that someone deleted, moved, joined or turned into another kind since';
  }
  for (const { run } of footprint.deletedText) {
    if (deletedSince(live, ...run, base)) return 'it changes text that someone deleted or moved into another block since';
  }
  const typedInside = editedInside(live, footprint.deletedText, base);
  if (typedInside) return typedInside;
  for (const [left, right] of footprint.insertedBetween) {
    const leftGone = left !== null && deletedSince(live, left.client, left.clock, 1, base);
    const rightGone = right !== null && deletedSince(live, right.client, right.clock, 1, base);
    if ((leftGone || left === null) && (rightGone || right === null)) return 'it adds text inside text that someone deleted or moved into another block since';
  }
  return null;
}

/** Runs by client, sorted by clock, to find an ID among them by binary search. */
function runIndex(runs: readonly Run[]): (id: Y.ID | null) => boolean {
  const byClient = new Map<number, Run[]>();
  for (const run of runs) {
    const list = byClient.get(run[0]);
    if (list) list.push(run);
    else byClient.set(run[0], [run]);
  }
  for (const list of byClient.values()) list.sort((a, b) => a[1] - b[1]);
  return (id) => {
    const list = id && byClient.get(id.client);
    if (!list) return false;
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (list[middle]![1] <= id!.clock) low = middle + 1;
      else high = middle;
    }
    const run = list[low - 1];
    return run !== undefined && id!.clock < run[1] + run[2];
  };
}

/**
 * Whether someone, since the base, typed or formatted inside text the change deletes: text of
 * theirs between two deleted characters, or a mark of theirs that starts or ends on one.
 */
function editedInside(live: Y.Doc, deletedText: ChangeFootprint['deletedText'], base: Y.Snapshot): string | null {
  const runsByText = new Map<string, { text: Y.ID; runs: Run[] }>();
  for (const { text, run } of deletedText) {
    const key = `${text.client}:${text.clock}`;
    const entry = runsByText.get(key) ?? { text, runs: [] };
    entry.runs.push(run);
    runsByText.set(key, entry);
  }
  for (const { text, runs } of runsByText.values()) {
    const item = Y.getItem(live.store, text);
    if (!(item instanceof Y.Item) || item.deleted || !(item.content instanceof Y.ContentType)) continue;
    const deletedByChange = runIndex(runs);
    for (let child = (item.content.type as Y.AbstractType<unknown>)._start; child; child = child.right) {
      if (child.id.clock < (base.sv.get(child.id.client) ?? 0)) continue;
      // Typing strictly inside the deleted text; a mark that starts or ends on it (bold on a word the change replaces).
      const formatting = child.content instanceof Y.ContentFormat;
      const inside = formatting ? deletedByChange(child.origin) || deletedByChange(child.rightOrigin) : deletedByChange(child.origin) && deletedByChange(child.rightOrigin);
      if (inside) return 'it deletes or moves text that someone typed into or formatted since';
    }
  }
  return null;
}

/** Whether some of [clock, clock + length) of `client` is deleted in `live` but was not in the base. */
function deletedSince(live: Y.Doc, client: number, clock: number, length: number, base: Y.Snapshot): boolean {
  const structs = live.store.clients.get(client);
  if (!structs) return false;
  const end = clock + length;
  for (let index = Y.findIndexSS(structs, clock); index < structs.length; index++) {
    const struct = structs[index]!;
    if (struct.id.clock >= end) break;
    const deleted = struct instanceof Y.Item ? struct.deleted : true;
    if (!deleted) continue;
    const from = Math.max(clock, struct.id.clock);
    const to = Math.min(end, struct.id.clock + struct.length);
    if (!deletedIn(base.ds, client, from, to - from)) return true;
  }
  return false;
}

/** A block, for a person: its kind and how it starts. */
function describe(type: Y.AbstractType<unknown>): string {
  if (!(type instanceof Y.XmlElement)) return 'a part of the document';
  const words = textOf(type).trim().slice(0, 40);
  return `the ${type.nodeName}${words ? ` that starts "${words}"` : ''}`;
}

function textOf(type: Y.XmlElement): string {
  return type
    .toArray()
    .map((child) =>
      child instanceof Y.XmlText
        ? (child.toDelta() as { insert: unknown }[]).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('')
        : child instanceof Y.XmlElement
          ? ` ${textOf(child)}`
          : '',
    )
    .join('');
}

/** Whether anything in `type` (its content, attributes and types within, however deep) changed after the base. */
function changedSince(type: Y.AbstractType<unknown>, base: Y.Snapshot): boolean {
  // A stack, not recursion: a raw client can nest types thousands deep.
  const types = [type];
  for (let next = types.pop(); next; next = types.pop()) {
    const items: Y.Item[] = [];
    for (let item = next._start; item; item = item.right) items.push(item);
    // Attributes: the value now and, to its left, those it overwrote.
    for (const last of next._map.values()) for (let item: Y.Item | null = last; item; item = item.left) items.push(item);
    for (const item of items) {
      const { client, clock } = item.id;
      if (clock + item.length > (base.sv.get(client) ?? 0)) return true;
      if (item.deleted) {
        if (!deletedIn(base.ds, client, clock, item.length)) return true;
      } else if (item.content instanceof Y.ContentType) {
        types.push(item.content.type as Y.AbstractType<unknown>);
      }
    }
  }
  return false;
}
