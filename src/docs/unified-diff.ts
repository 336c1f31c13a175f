import { applyPatch, parsePatch, type StructuredPatch, type StructuredPatchHunk } from 'diff';
import { AppError } from '../errors.ts';

/**
 * Applies a unified diff of one file, as `diff -u` or `git diff` write it (file headers
 * optional, `a/`/`b/` prefixes and git's extended headers allowed), to `text`. Context and
 * removed lines must match exactly (jsdiff, fuzz factor 0); like patch(1), a hunk whose
 * line numbers are off still applies where its context is found, later hunks after earlier
 * ones. "\ No newline at end of file" is honoured. Line endings are kept: a diff written
 * with LF applies to a document with CRLF line endings and the other way round (jsdiff
 * converts the diff when the document uses one style throughout), and CR characters are
 * otherwise part of the lines they end.
 *
 * 400 VALIDATION_FAILED: not a diff, no hunk, or several files (a document is one file),
 * including hunks whose line counts disagree with their headers, which jsdiff refuses
 * rather than guess. 409 EDIT_CONFLICT: a hunk does not fit; `details` names the first one.
 */
export function applyUnifiedDiff(text: string, diff: string): string {
  const patch = onePatch(diff);
  const result = applyPatch(text, patch, { fuzzFactor: 0 });
  if (result !== false) return result;
  const index = firstFailingHunk(text, patch);
  const header = headerOf(patch.hunks[index]!);
  throw new AppError(
    'EDIT_CONFLICT',
    `hunk ${index + 1} of ${patch.hunks.length} (${header}) does not fit the document: its context and removed ` +
      'lines are not there as written. Read the document again and make the diff against that text, ' +
      'or send the version you read as the base.',
    { details: { hunk: index + 1, header } },
  );
}

function onePatch(diff: string): StructuredPatch {
  let patches: StructuredPatch[];
  try {
    patches = parsePatch(diff);
  } catch (error) {
    throw invalid(`Not a unified diff: ${(error as Error).message}`);
  }
  if (!patches.some((patch) => patch.hunks.length > 0)) {
    throw invalid('Not a unified diff: no hunk ("@@ -start,count +start,count @@") found');
  }
  if (patches.length !== 1) throw invalid(`The diff is of ${patches.length} files; send a diff of the document alone`);
  const patch = patches[0]!;
  patch.hunks.forEach((hunk, index) => {
    const numbers = [hunk.oldStart, hunk.oldLines, hunk.newStart, hunk.newLines];
    if (!numbers.every(Number.isInteger)) throw invalid(`Not a unified diff: hunk ${index + 1} has no line numbers`);
    const previous = patch.hunks[index - 1];
    // jsdiff tries a hunk first at the line its header gives without checking that this is
    // past the previous hunk, so a hunk reaching back into the previous one's changes is
    // applied over lines already replaced: "-1,3" and "-2,2" both changing line 2 give both
    // new lines and no conflict. diff and git never write such hunks; an agent might.
    if (previous && hunk.oldStart < previous.oldStart + previous.oldLines - trailingContext(previous)) {
      throw invalid(`Hunk ${index + 1} (${headerOf(hunk)}) overlaps hunk ${index} or comes before it; hunks must be in order`);
    }
  });
  return patch;
}

/** Context lines at the end of a hunk (an empty line counts as context, as jsdiff reads it). */
function trailingContext(hunk: StructuredPatchHunk): number {
  let count = 0;
  for (const line of hunk.lines.toReversed()) {
    if (line.startsWith('\\')) continue;
    if (line !== '' && !line.startsWith(' ')) break;
    count++;
  }
  return count;
}

function invalid(message: string): AppError {
  return new AppError('VALIDATION_FAILED', message, { details: [{ path: '', message }] });
}

/**
 * jsdiff says only that the patch failed. It places hunks first to last, each after the one
 * before, so a prefix of the hunks fails exactly when it includes the first hunk that could
 * not be placed; the failures are monotonic in the prefix length, hence a binary search
 * (a long diff would otherwise be applied once per hunk).
 */
function firstFailingHunk(text: string, patch: StructuredPatch): number {
  let low = 0;
  let high = patch.hunks.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    const prefix = { ...patch, hunks: patch.hunks.slice(0, middle + 1) };
    if (applyPatch(text, prefix, { fuzzFactor: 0 }) === false) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** The hunk's header as the diff wrote it, counts included (jsdiff adds one to the start of an empty side). */
function headerOf(hunk: StructuredPatchHunk): string {
  const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart;
  const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart;
  return `@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@`;
}
