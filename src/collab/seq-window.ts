/**
 * Which op-log seqs of one document a room holds. Seqs are gapless per document, so the
 * room holds every seq up to `known`; seqs that arrived out of order wait in `ahead` until the
 * gap below them closes (by the missing message, or by reading the log). Pure state: the room
 * sync decides when to read the log.
 */
export interface SeqWindow {
  /** Every seq up to this one is in the room. */
  readonly known: number;
  /** True while some seq above `known` arrived before one below it. */
  readonly hasGap: boolean;
  /**
   * An update with this seq arrived (from the bus, or committed here). False when the room
   * already holds it: a duplicate need not be applied again.
   */
  see(seq: number): boolean;
  /** The room read the log up to `seq` (which holds everything up to it). */
  caughtUp(seq: number): void;
}

export function createSeqWindow(start: number): SeqWindow {
  let known = start;
  const ahead = new Set<number>();

  const close = () => {
    for (const seq of ahead) if (seq <= known) ahead.delete(seq);
    while (ahead.delete(known + 1)) known += 1;
  };

  return {
    get known() {
      return known;
    },
    get hasGap() {
      return ahead.size > 0;
    },
    see(seq) {
      if (seq <= known || ahead.has(seq)) return false;
      ahead.add(seq);
      close();
      return true;
    },
    caughtUp(seq) {
      if (seq > known) known = seq;
      close();
    },
  };
}
