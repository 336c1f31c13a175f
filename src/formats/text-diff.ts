import { diffLines } from 'diff';
import fastDiff from 'fast-diff';
import type * as Y from 'yjs';

/**
 * How much diffing one change may cost. fast-diff (Myers' O(N·D) algorithm, without the
 * time limit diff-match-patch has) takes seconds on texts of tens of kilobytes that differ
 * a lot: 1.7 s for two unrelated 10 kB texts, 3 s for a 58 kB document with a third of its
 * lines rewritten. That would stall every document on the node, so large changes are diffed
 * line by line first, and each changed block of lines character by character while the
 * budget lasts.
 */
export interface DiffLimits {
  /** fast-diff work per change, counted as the sum of old × new lengths it is given (after common ends). */
  charWork: number;
  /** Changed lines the line pass looks for (jsdiff's maxEditLength) before it gives up. */
  lineEdits: number;
}

/** About a third of a second of fast-diff at worst, and as much again for the line pass on 8 MB. */
export const DIFF_LIMITS: DiffLimits = { charWork: 20_000_000, lineEdits: 2_000 };

/**
 * The fast-diff work a change has left. One write that diffs many texts (a rich-text document
 * diffs each paragraph it changes) shares one budget: 200 long paragraphs rewritten took
 * 36 s when each had the whole budget to itself.
 */
export interface DiffBudget {
  charWork: number;
}

export const diffBudget = (limits: DiffLimits = DIFF_LIMITS): DiffBudget => ({ charWork: limits.charWork });

/**
 * Turns `ytext` into `next` with the minimal character diff (fast-diff, the diff-match-patch
 * algorithm), applied as retain/delete/insert. Touching only what changed is what lets a
 * merge keep concurrent edits elsewhere: rewriting the whole text would delete what others
 * typed into it meanwhile and bring back what they deleted. Call it inside the caller's
 * transaction. Returns whether anything changed.
 */
export function replaceText(ytext: Y.Text, next: string, limits: DiffLimits = DIFF_LIMITS): boolean {
  const current = ytext.toString();
  if (current === next) return false;
  let index = 0;
  for (const [operation, chunk] of textChanges(current, next, limits)) {
    if (operation === fastDiff.EQUAL) {
      index += chunk.length;
    } else if (operation === fastDiff.DELETE) {
      ytext.delete(index, chunk.length);
    } else {
      ytext.insert(index, chunk);
      index += chunk.length;
    }
  }
  return true;
}

/**
 * The edit script from `current` to `next`, in UTF-16 code units as Y.Text counts them,
 * never splitting a surrogate pair (fast-diff and the common ends here keep pairs whole; the
 * line pass cuts only at line breaks). Within `limits` it is fast-diff's; beyond them, a
 * block of lines (or, failing the line pass, everything between the common ends) is
 * deleted and inserted whole: correct, only less precise where text changed a lot anyway.
 */
export function textChanges(current: string, next: string, limits: DiffLimits = DIFF_LIMITS, budget: DiffBudget = diffBudget(limits)): fastDiff.Diff[] {
  const characterDiff = (before: string, after: string): fastDiff.Diff[] | undefined => {
    const [prefix, suffix] = commonEnds(before, after);
    const cost = (before.length - prefix - suffix) * (after.length - prefix - suffix);
    if (cost > budget.charWork) return undefined;
    budget.charWork -= cost;
    return codePointDiff(before, after, prefix, suffix);
  };

  const whole = characterDiff(current, next);
  if (whole) return whole;

  const [prefix, suffix] = commonEnds(current, next);
  const before = current.slice(prefix, current.length - suffix);
  const after = next.slice(prefix, next.length - suffix);
  const changes: fastDiff.Diff[] = [[fastDiff.EQUAL, current.slice(0, prefix)]];
  const lines = diffLines(before, after, { maxEditLength: limits.lineEdits });
  if (!lines) {
    changes.push([fastDiff.DELETE, before], [fastDiff.INSERT, after]);
  } else {
    let removed = '';
    let added = '';
    const flush = () => {
      changes.push(...(characterDiff(removed, added) ?? replaced(removed, added)));
      removed = added = '';
    };
    for (const change of lines) {
      if (change.removed) removed += change.value;
      else if (change.added) added += change.value;
      else {
        flush();
        changes.push([fastDiff.EQUAL, change.value]);
      }
    }
    flush();
  }
  changes.push([fastDiff.EQUAL, current.slice(current.length - suffix)]);
  return changes.filter(([, chunk]) => chunk.length > 0);
}

/**
 * fast-diff by code point. fast-diff compares UTF-16 code units, so emoji that share a high
 * surrogate (😀 and 🚀 both start with U+D83D) can match each other's halves; its repair of
 * the split pair then deletes and re-inserts an emoji that did not change ('f🚀a😀' →
 * 'fX😀!' rewrote the 😀). A merged write would then bring back an emoji someone deleted
 * meanwhile, and two such writes would each add a copy. So each astral code point is diffed
 * as one BMP code unit that neither text contains, and mapped back afterwards.
 */
function codePointDiff(before: string, after: string, prefix: number, suffix: number): fastDiff.Diff[] {
  // Only the middle between the common ends (commonEnds) is diffed, as fast-diff does too, so
  // the mapping costs as much as the diff itself, not a pass over a whole large document.
  const oldMiddle = before.slice(prefix, before.length - suffix);
  const newMiddle = after.slice(prefix, after.length - suffix);
  if (!hasSurrogate(oldMiddle) || !hasSurrogate(newMiddle)) return fastDiff(before, after);
  const used = new Set<number>();
  for (const text of [oldMiddle, newMiddle]) for (let i = 0; i < text.length; i++) used.add(text.charCodeAt(i));
  const toUnit = new Map<string, string>();
  const toPoint = new Map<string, string>();
  let candidate = 0;
  const encode = (text: string): string | null => {
    let out = '';
    for (const point of text) {
      let unit = point.length === 1 ? point : toUnit.get(point);
      if (unit === undefined) {
        while (candidate < FREE_UNITS.length && used.has(FREE_UNITS[candidate]!)) candidate++;
        if (candidate === FREE_UNITS.length) return null;
        unit = String.fromCharCode(FREE_UNITS[candidate++]!);
        toUnit.set(point, unit);
        toPoint.set(unit, point);
      }
      out += unit;
    }
    return out;
  };
  const a = encode(oldMiddle);
  const b = a === null ? null : encode(newMiddle);
  // More distinct astral characters than unused code units: by code unit after all (fast-diff
  // still keeps pairs whole, only less precisely).
  if (a === null || b === null) return fastDiff(before, after);
  const middle = fastDiff(a, b).map(([operation, chunk]): fastDiff.Diff => {
    let out = '';
    for (const unit of chunk) out += toPoint.get(unit) ?? unit;
    return [operation, out];
  });
  const changes: fastDiff.Diff[] = [[fastDiff.EQUAL, before.slice(0, prefix)], ...middle, [fastDiff.EQUAL, before.slice(before.length - suffix)]];
  return changes.filter(([, chunk]) => chunk.length > 0);
}

/** Stand-ins for astral code points: the Private Use Area first, then the rest of the BMP (no surrogates). */
const FREE_UNITS: readonly number[] = (() => {
  const units: number[] = [];
  for (let unit = 0xe000; unit <= 0xf8ff; unit++) units.push(unit);
  for (let unit = 0x100; unit < 0xd800; unit++) units.push(unit);
  for (let unit = 0xf900; unit <= 0xfffd; unit++) units.push(unit);
  return units;
})();

const hasSurrogate = (text: string) => /[\ud800-\udfff]/.test(text);

/** A block replaced whole, except for what it starts and ends with anyway. */
function replaced(before: string, after: string): fastDiff.Diff[] {
  const [prefix, suffix] = commonEnds(before, after);
  return [
    [fastDiff.EQUAL, before.slice(0, prefix)],
    [fastDiff.DELETE, before.slice(prefix, before.length - suffix)],
    [fastDiff.INSERT, after.slice(prefix, after.length - suffix)],
    [fastDiff.EQUAL, before.slice(before.length - suffix)],
  ];
}

/** Lengths of the common prefix and suffix, in code units, neither ending inside a surrogate pair. */
function commonEnds(a: string, b: string): [prefix: number, suffix: number] {
  const max = Math.min(a.length, b.length);
  let prefix = 0;
  while (prefix < max && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  if (prefix > 0 && isHighSurrogate(a.charCodeAt(prefix - 1))) prefix--;
  let suffix = 0;
  while (suffix < max - prefix && a.charCodeAt(a.length - 1 - suffix) === b.charCodeAt(b.length - 1 - suffix)) suffix++;
  if (suffix > 0 && isLowSurrogate(a.charCodeAt(a.length - suffix))) suffix--;
  return [prefix, suffix];
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
