import fastDiff from 'fast-diff';

/** A range of a text: [start, end). */
export type Range = readonly [start: number, end: number];

/**
 * What comes right after a block that can still change how it reads: the blank line that
 * separates it from the next (text inserted there can continue a list or make a paragraph a
 * heading).
 */
const FOLLOWING = 2;

/** The stretches a character diff left equal: where positions and ranges of the old text are in the new one. */
export class DiffMap {
  private readonly oldStarts: number[] = [];
  private readonly oldEnds: number[] = [];
  private readonly newStarts: number[] = [];
  private readonly oldLength: number;
  private readonly newLength: number;

  constructor(changes: readonly fastDiff.Diff[]) {
    let before = 0;
    let after = 0;
    for (const [operation, chunk] of changes) {
      if (operation === fastDiff.EQUAL) {
        const last = this.oldEnds.length - 1;
        const joinsLast = last >= 0 && this.oldEnds[last] === before && this.newStarts[last]! + (before - this.oldStarts[last]!) === after;
        if (joinsLast) {
          this.oldEnds[last] = before + chunk.length;
        } else {
          this.oldStarts.push(before);
          this.oldEnds.push(before + chunk.length);
          this.newStarts.push(after);
        }
      }
      if (operation !== fastDiff.INSERT) before += chunk.length;
      if (operation !== fastDiff.DELETE) after += chunk.length;
    }
    this.oldLength = before;
    this.newLength = after;
  }

  /** The last equal stretch starting at or before `position`, or -1. */
  private segmentAt(position: number): number {
    let low = 0;
    let high = this.oldStarts.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (this.oldStarts[middle]! <= position) low = middle + 1;
      else high = middle;
    }
    return low - 1;
  }

  private newEnd(segment: number): number {
    return this.newStarts[segment]! + this.oldEnds[segment]! - this.oldStarts[segment]!;
  }

  /** Where [start, end) of the old text went, widened over whatever replaced any part of it that changed. */
  span([start, end]: Range): Range {
    const first = this.segmentAt(start);
    const mappedStart = first < 0 ? 0 : start <= this.oldEnds[first]! ? this.newStarts[first]! + start - this.oldStarts[first]! : this.newEnd(first);
    const last = this.segmentAt(end);
    const mappedEnd =
      last >= 0 && end <= this.oldEnds[last]! ? this.newStarts[last]! + end - this.oldStarts[last]! : last + 1 < this.oldStarts.length ? this.newStarts[last + 1]! : this.newLength;
    return [mappedStart, Math.max(mappedStart, mappedEnd)];
  }

  /**
   * Whether no change touches [start, end) of the old text, nor what follows it (FOLLOWING):
   * what was written there is what was there. A change right before it (at the end of the
   * block before, ahead of its separator) does not count.
   */
  untouched([start, end]: Range): boolean {
    const segment = this.segmentAt(start);
    if (segment < 0) return false;
    const startsClear = start > this.oldStarts[segment]! || (start === 0 && this.newStarts[segment] === 0);
    const segmentEnd = this.oldEnds[segment]!;
    const reachesBothEnds = segmentEnd === this.oldLength && this.newEnd(segment) === this.newLength;
    return startsClear && (end + FOLLOWING <= segmentEnd || (reachesBothEnds && end <= segmentEnd));
  }

  /** How many characters of [start, end) of the old text the diff kept, and where they now stand inside [newStart, newEnd). */
  kept([start, end]: Range, [newStart, newEnd]: Range): number {
    let count = 0;
    for (let segment = Math.max(0, this.segmentAt(start)); segment < this.oldStarts.length && this.oldStarts[segment]! < end; segment++) {
      const from = Math.max(start, this.oldStarts[segment]!);
      const to = Math.min(end, this.oldEnds[segment]!);
      if (to <= from) continue;
      const offset = this.newStarts[segment]! - this.oldStarts[segment]!;
      count += Math.max(0, Math.min(to + offset, newEnd) - Math.max(from + offset, newStart));
    }
    return count;
  }
}
