import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import type { ContentFormat } from '../formats/ports.ts';
import { DIFF_LIMITS, type DiffLimits } from '../formats/text-diff.ts';
import { typeChangedSince, typesDeletedBy } from './lost-edits.ts';
import { docFromUpdates } from './yjs-state.ts';

/**
 * A change made on a rebuild of its base, as plain data (it may be worked out in another
 * thread): the update to merge, the base's snapshot, and the types the change deletes there.
 */
export interface BaseChangeData {
  update: Uint8Array;
  baseSnapshot: Uint8Array;
  /** Client and clock of each deleted type, in pairs. */
  deletedTypes: number[];
}

/** A change made on a rebuild of its base: the update to merge, and the check before merging it. */
export interface BaseChange {
  update: Uint8Array;
  /**
   * Refuses (EDIT_CONFLICT) to merge into `live` a change that deletes a block someone changed
   * after the base (lost-edits.ts): merging would delete their change with it.
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
    const baseSnapshot = Y.encodeSnapshot(Y.snapshot(doc));
    let changed = false;
    const deletedTypes: number[] = [];
    doc.once('afterTransaction', (transaction: Y.Transaction) => {
      for (const id of typesDeletedBy(transaction)) deletedTypes.push(id.client, id.clock);
    });
    doc.transact(() => {
      changed = format.replace(doc, next, limits);
    });
    return changed ? { update: Y.encodeStateAsUpdate(doc, before), baseSnapshot, deletedTypes } : null;
  } finally {
    doc.destroy();
  }
}

export function baseChangeOf(data: BaseChangeData): BaseChange {
  return {
    update: data.update,
    requireNothingLost(live) {
      if (data.deletedTypes.length === 0) return;
      const types: Y.ID[] = [];
      for (let i = 0; i < data.deletedTypes.length; i += 2) types.push(Y.createID(data.deletedTypes[i]!, data.deletedTypes[i + 1]!));
      const lost = typeChangedSince(live, types, Y.decodeSnapshot(data.baseSnapshot));
      if (lost) {
        throw new AppError(
          'EDIT_CONFLICT',
          `The change deletes, moves or joins a block that someone edited after the version it was made on (${describe(lost)}); merging it would delete their edit, so nothing was applied. Read the document again and send the change against the new version.`,
        );
      }
    },
  };
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
