import diff from 'fast-diff';
import type * as Y from 'yjs';

/**
 * Turns `ytext` into `next` with the minimal character diff (fast-diff, the diff-match-patch
 * algorithm), applied as retain/delete/insert. Touching only what changed is what lets a
 * merge keep concurrent edits elsewhere: replacing the whole text would delete them. Call it
 * inside the caller's transaction. Returns whether anything changed.
 */
export function replaceText(ytext: Y.Text, next: string): boolean {
  const current = ytext.toString();
  if (current === next) return false;
  let index = 0;
  // Both fast-diff and Y.Text count UTF-16 code units; fast-diff keeps surrogate pairs whole.
  for (const [operation, chunk] of diff(current, next)) {
    if (operation === diff.EQUAL) {
      index += chunk.length;
    } else if (operation === diff.DELETE) {
      ytext.delete(index, chunk.length);
    } else {
      ytext.insert(index, chunk);
      index += chunk.length;
    }
  }
  return true;
}
