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
  footprint: { deletedTypes: number[]; editedTypes: number[]; deletedText: number[]; insertedBetween: number[] };
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
    let footprint: ChangeFootprint = { deletedTypes: [], editedTypes: [], deletedText: [], insertedBetween: [] };
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
      footprint: encodeFootprint(footprint),
    };
  } finally {
    doc.destroy();
  }
}

export function baseChangeOf(data: BaseChangeData): BaseChange {
  return {
    update: data.update,
    requireNothingLost(live) {
      const footprint = decodeFootprint(data.footprint);
      const touches = footprint.deletedTypes.length + footprint.editedTypes.length + footprint.deletedText.length + footprint.insertedBetween.length;
      if (touches === 0) return;
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

/** A footprint as numbers, to cross to another thread: IDs as client and clock, -1 for none. */
function encodeFootprint(footprint: ChangeFootprint): BaseChangeData['footprint'] {
  const id = (value: Y.ID | null) => (value ? [value.client, value.clock] : [-1, -1]);
  return {
    deletedTypes: footprint.deletedTypes.flatMap(id),
    editedTypes: footprint.editedTypes.flatMap(id),
    deletedText: footprint.deletedText.flatMap(({ text, run }) => [...id(text), ...run]),
    insertedBetween: footprint.insertedBetween.flatMap(([left, right]) => [...id(left), ...id(right)]),
  };
}

function decodeFootprint(numbers: BaseChangeData['footprint']): ChangeFootprint {
  const id = (values: number[], at: number) => (values[at] === -1 ? null : Y.createID(values[at]!, values[at + 1]!));
  const groups = (values: number[], size: number) => Array.from({ length: values.length / size }, (_, i) => i * size);
  return {
    deletedTypes: groups(numbers.deletedTypes, 2).map((at) => id(numbers.deletedTypes, at)!),
    editedTypes: groups(numbers.editedTypes, 2).map((at) => id(numbers.editedTypes, at)!),
    deletedText: groups(numbers.deletedText, 5).map((at) => ({
      text: id(numbers.deletedText, at)!,
      run: numbers.deletedText.slice(at + 2, at + 5) as [number, number, number],
    })),
    insertedBetween: groups(numbers.insertedBetween, 4).map((at) => [id(numbers.insertedBetween, at), id(numbers.insertedBetween, at + 2)]),
  };
}
