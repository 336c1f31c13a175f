import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import type { ContentFormat } from '../formats/ports.ts';
import { DIFF_LIMITS, type DiffLimits } from '../formats/text-diff.ts';
import { type ChangeFootprint, footprintOf, lostBy } from './lost-edits.ts';
import { docFromUpdates } from './yjs-state.ts';

/**
 * A change made on a rebuild of its base, as plain data (it may be worked out in another
 * thread): the update to merge, the base's snapshot, and the types the change deletes there.
 */
export interface BaseChangeData {
  update: Uint8Array;
  baseSnapshot: Uint8Array;
  /** Where the change touches the document's structure (lost-edits.ts), as plain numbers. */
  footprint: { deletedTypes: number[]; editedTypes: number[]; deletedText: number[] };
}

/** A change made on a rebuild of its base: the update to merge, and the check before merging it. */
export interface BaseChange {
  update: Uint8Array;
  /**
   * Refuses (EDIT_CONFLICT) to merge into `live` a change that would lose, with what it does
   * to a block's structure, what someone did to that block after the base (lost-edits.ts).
   */
  requireNothingLost(live: Y.Doc): void;
}

/**
 * The base-version merge: `next` applied to a rebuild of the base (`baseUpdates`, its snapshot
 * and log) by a fresh Yjs client, as the update that merging into the live document takes,
 * or null if it changes nothing. Pure, so that its merge property can be tested on its own.
 */
export function changeAgainstBase(
  format: ContentFormat,
  baseUpdates: readonly Uint8Array[],
  next: (text: string) => string,
  limits: DiffLimits = DIFF_LIMITS,
): BaseChange | null {
  const data = baseChangeData(format, baseUpdates, next, limits);
  return data && baseChangeOf(data);
}

/** changeAgainstBase, as data. */
export function baseChangeData(
  format: ContentFormat,
  baseUpdates: readonly Uint8Array[],
  next: (text: string) => string,
  limits: DiffLimits = DIFF_LIMITS,
): BaseChangeData | null {
  const doc = docFromUpdates(baseUpdates);
  try {
    const before = Y.encodeStateVector(doc);
    const base = Y.snapshot(doc);
    let changed = false;
    let footprint: ChangeFootprint = { deletedTypes: [], editedTypes: [], deletedText: [] };
    doc.once('afterTransaction', (transaction: Y.Transaction) => {
      footprint = footprintOf(transaction, base);
    });
    doc.transact(() => {
      changed = format.replace(doc, next, limits);
    });
    if (!changed) return null;
    return {
      update: Y.encodeStateAsUpdate(doc, before),
      baseSnapshot: Y.encodeSnapshot(base),
      footprint: {
        deletedTypes: footprint.deletedTypes.flatMap((id) => [id.client, id.clock]),
        editedTypes: footprint.editedTypes.flatMap((id) => [id.client, id.clock]),
        deletedText: footprint.deletedText.flat(),
      },
    };
  } finally {
    doc.destroy();
  }
}

export function baseChangeOf(data: BaseChangeData): BaseChange {
  const ids = (pairs: number[]) => Array.from({ length: pairs.length / 2 }, (_, i) => Y.createID(pairs[2 * i]!, pairs[2 * i + 1]!));
  const runs = (triples: number[]) => Array.from({ length: triples.length / 3 }, (_, i) => triples.slice(3 * i, 3 * i + 3) as [number, number, number]);
  return {
    update: data.update,
    requireNothingLost(live) {
      const { deletedTypes, editedTypes, deletedText } = data.footprint;
      if (deletedTypes.length + editedTypes.length + deletedText.length === 0) return;
      const footprint = { deletedTypes: ids(deletedTypes), editedTypes: ids(editedTypes), deletedText: runs(deletedText) };
      const lost = lostBy(live, footprint, Y.decodeSnapshot(data.baseSnapshot));
      if (lost) {
        throw new AppError(
          'EDIT_CONFLICT',
          `The change was made on a version older than the document, and ${lost}: merged, it would undo or misplace their edit, so nothing was applied. Read the document again and send the change against the new version.`,
        );
      }
    },
  };
}
