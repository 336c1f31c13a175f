import { applyPatch, parsePatch, type StructuredPatch } from 'diff';
import { AppError } from '../errors.ts';

/**
 * Applies a unified diff of one file (as `diff -u` or `git diff` write it) to `text`. The
 * context and removed lines must match exactly (jsdiff, fuzz factor 0); a hunk may still
 * apply a few lines away from where it says, as patch(1) allows.
 */
export function applyUnifiedDiff(text: string, diff: string): string {
  let patches: StructuredPatch[];
  try {
    patches = parsePatch(diff);
  } catch (error) {
    throw new AppError('VALIDATION_FAILED', `Not a unified diff: ${(error as Error).message}`);
  }
  const files = patches.filter((patch) => patch.hunks.length > 0);
  if (files.length !== 1 || patches.length !== 1) {
    throw new AppError(
      'VALIDATION_FAILED',
      files.length === 0 ? 'Not a unified diff: no hunk found' : `The diff changes ${patches.length} files; send one`,
    );
  }
  const patch = files[0]!;
  const result = applyPatch(text, patch);
  if (result !== false) return result;
  // jsdiff only says that the patch failed. Each hunk is tried alone against the text to
  // name the first one that does not fit (hunks locate themselves by their own context).
  const failing = patch.hunks.findIndex((hunk) => applyPatch(text, { ...patch, hunks: [hunk] }) === false);
  const index = failing === -1 ? 0 : failing;
  const hunk = patch.hunks[index]!;
  const header = `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`;
  throw new AppError(
    'EDIT_CONFLICT',
    `hunk ${index + 1} (${header}) does not fit the document; read it again and make the diff against that`,
    { details: { hunk: index + 1, header } },
  );
}
