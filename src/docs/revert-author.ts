import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import type { ContentFormat } from '../formats/ports.ts';
import { type DeleteSet, deletedIn, docFromUpdates } from './yjs-state.ts';

/** An op-log entry after the version a revert starts from, and whether the reverted author wrote it. */
export interface RevertedEntry {
  seq: number;
  update: Uint8Array;
  byAuthor: boolean;
  /** When it is an earlier revert of the same author: the version that revert started from. */
  revertedSince: number | null;
}

const THEIRS = Symbol('the reverted author');

/** Whether every item `deletions` names is one of `theirs`. */
function within(deletions: DeleteSet, theirs: DeleteSet): boolean {
  return [...deletions.clients].every(([client, ranges]) => ranges.every(({ clock, len }) => deletedIn(theirs, client, clock, len)));
}
const OTHERS = Symbol('everyone else');

/**
 * One update that undoes what one author changed after the version `baseUpdates` hold, given
 * every logged update since in order (`log`): their insertions are deleted and the text they
 * deleted comes back, while whatever anyone else wrote stays, text typed inside a span they
 * wrote included (it is other Yjs items). Yjs's UndoManager does the work, tracking only the
 * author's updates. Null when they changed nothing since.
 *
 * What an earlier revert of the same author undid is theirs no longer: when the replay passes
 * it, the changes it covered leave the undo stack, so that reverting again neither restores
 * their deletions a second time nor touches what that revert brought back.
 */
export function revertUpdate(format: ContentFormat, since: number, baseUpdates: readonly Uint8Array[], log: readonly RevertedEntry[]): Uint8Array | null {
  const doc = docFromUpdates(baseUpdates);
  try {
    const scope = format.name === 'markdown' ? doc.getText('content') : doc.getXmlFragment('default');
    // One stack item for everything they did: every tracked change joins the one before it.
    const undo = new Y.UndoManager(scope, { trackedOrigins: new Set([THEIRS]), captureTimeout: Number.POSITIVE_INFINITY });
    // Where earlier reverts started: the stack is cut there, so its length then is kept.
    const starts = new Set(log.flatMap((entry) => (entry.revertedSince === null ? [] : [entry.revertedSince])));
    const stackAt = new Map<number, number>();
    for (const entry of log) {
      if (entry.revertedSince === null) {
        Y.applyUpdate(doc, entry.update, entry.byAuthor ? THEIRS : OTHERS);
      } else {
        Y.applyUpdate(doc, entry.update, OTHERS);
        undo.undoStack.splice(entry.revertedSince <= since ? 0 : (stackAt.get(entry.revertedSince) ?? undo.undoStack.length));
        undo.stopCapturing();
      }
      if (starts.has(entry.seq)) {
        undo.stopCapturing();
        stackAt.set(entry.seq, undo.undoStack.length);
      }
    }
    const theirs = Y.mergeDeleteSets(undo.undoStack.map((item) => item.insertions));
    const made: Uint8Array[] = [];
    const collect = (update: Uint8Array, origin: unknown) => {
      if (origin === undo) made.push(update);
    };
    const deleted: DeleteSet[] = [];
    const watch = (transaction: Y.Transaction) => {
      if (transaction.origin === undo) deleted.push(transaction.deleteSet);
    };
    doc.on('update', collect);
    doc.on('afterTransaction', watch);
    while (undo.canUndo()) undo.undo();
    doc.off('update', collect);
    doc.off('afterTransaction', watch);
    undo.destroy();
    // Taking away a block they added takes what is in it: refused when someone else wrote there.
    if (deleted.some((deletions) => !within(deletions, theirs))) {
      throw new AppError('EDIT_CONFLICT', 'Reverting this author would delete what someone else wrote inside what they added (in rich text, a block they made); nothing was changed', {
        details: { reason: 'OTHERS_INSIDE' },
      });
    }
    return made.length === 0 ? null : Y.mergeUpdates(made);
  } finally {
    doc.destroy();
  }
}
