import fastDiff from 'fast-diff';
import type { Mark, Node as ProseMirrorNode } from 'prosemirror-model';
import * as Y from 'yjs';
import { type DiffBudget, type DiffLimits, textChanges } from './text-diff.ts';

/**
 * Changes a text block's Y.XmlTexts from what they hold (`old`, the block as built) to `node`,
 * character by character (text-diff.ts), touching only what differs: text, and marks only
 * where they differ. y-prosemirror's own update replaces everything between the first and the
 * last change of a text, so an agent's two edits in one paragraph, merged from an old version,
 * deleted and re-inserted the words between them: a word a person deleted meanwhile came back,
 * their bold went, their typing moved. Handles a block whose inline nodes (images, hard
 * breaks) are the same before and after, with at most one Y.XmlText between two of them;
 * false (nothing changed) otherwise, for the caller to rewrite the block.
 */
export function updateTextblock(element: Y.XmlElement, old: ProseMirrorNode, node: ProseMirrorNode, limits?: DiffLimits, budget?: DiffBudget): boolean {
  const before = gapsOf(old);
  const after = gapsOf(node);
  if (before.inline.length !== after.inline.length || before.inline.some((inline, i) => !inline.eq(after.inline[i]!))) return false;
  // The element's children in the same shape: a Y.XmlText (or none) in each gap.
  const texts: (Y.XmlText | null)[] = [null];
  for (const child of element.toArray()) {
    if (child instanceof Y.XmlText) {
      if (texts.at(-1)) return false;
      texts[texts.length - 1] = child;
    } else {
      texts.push(null);
    }
  }
  if (texts.length !== after.gaps.length) return false;
  for (let i = 0; i < texts.length; i++) {
    if (!texts[i] && after.gaps[i]!.length > 0) return false;
    if (texts[i] && textOf(before.gaps[i]!) !== plainText(texts[i]!)) return false;
  }
  texts.forEach((text, i) => {
    if (text) updateText(text, before.gaps[i]!, after.gaps[i]!, limits, budget);
  });
  return true;
}

/** A text block's inline content: the text nodes between its other inline nodes, and those nodes. */
function gapsOf(block: ProseMirrorNode): { gaps: ProseMirrorNode[][]; inline: ProseMirrorNode[] } {
  const gaps: ProseMirrorNode[][] = [[]];
  const inline: ProseMirrorNode[] = [];
  block.forEach((child) => {
    if (child.isText) {
      gaps.at(-1)!.push(child);
    } else {
      inline.push(child);
      gaps.push([]);
    }
  });
  return { gaps, inline };
}

const textOf = (nodes: readonly ProseMirrorNode[]) => nodes.map((node) => node.text!).join('');

/** The Y.XmlText's characters, or null when it holds an embedded object. */
function plainText(text: Y.XmlText): string | null {
  let out = '';
  for (const op of text.toDelta() as { insert: unknown }[]) {
    if (typeof op.insert !== 'string') return null;
    out += op.insert;
  }
  return out;
}

/** The marks of each character of a run of text nodes. */
function marksByCharacter(nodes: readonly ProseMirrorNode[]): (readonly Mark[])[] {
  const marks: (readonly Mark[])[] = [];
  for (const node of nodes) for (let i = 0; i < node.text!.length; i++) marks.push(node.marks);
  return marks;
}

const sameMarks = (a: readonly Mark[], b: readonly Mark[]) => a.length === b.length && a.every((mark, i) => mark.eq(b[i]!));

/** The Y.XmlText attributes that give a character `marks`, removing `removed` (mark names). */
function attributesFor(marks: readonly Mark[], removed: Iterable<string>): Record<string, unknown> {
  const attributes: Record<string, unknown> = {};
  for (const name of removed) attributes[name] = null;
  for (const mark of marks) attributes[mark.type.name] = mark.attrs;
  return attributes;
}

/**
 * One delta for the whole text, applied at once: Yjs walks a text from its start to reach an
 * index, so an insert or format call per run of marks made a long paragraph of many marks
 * quadratic (a 220 kB one took minutes), where applyDelta walks it once.
 */
function updateText(text: Y.XmlText, before: readonly ProseMirrorNode[], after: readonly ProseMirrorNode[], limits?: DiffLimits, budget?: DiffBudget): void {
  const oldMarks = marksByCharacter(before);
  const newMarks = marksByCharacter(after);
  const names = new Set<string>();
  for (const node of [...before, ...after]) for (const mark of node.marks) names.add(mark.type.name);
  const delta: { insert?: string; retain?: number; delete?: number; attributes?: Record<string, unknown> }[] = [];
  /** The new characters [from, to) in runs of the same marks: each run `make`s one op. */
  const runs = (from: number, to: number, make: (start: number, end: number, attributes: Record<string, unknown>) => void) => {
    for (let start = from; start < to; ) {
      let end = start + 1;
      while (end < to && sameMarks(newMarks[end]!, newMarks[start]!)) end += 1;
      make(start, end, attributesFor(newMarks[start]!, names));
      start = end;
    }
  };
  const newText = textOf(after);
  let oldAt = 0;
  let newAt = 0;
  // A replacement is inserted before what it replaces is deleted: the new text then sits right
  // after the text before it, and what someone typed right after the replaced text (a person
  // typing at the end of a paragraph whose last word an agent rewrites) stays after it too,
  // instead of being ordered against it by client id.
  let deleting = 0;
  const flushDelete = () => {
    if (deleting > 0) delta.push({ delete: deleting });
    deleting = 0;
  };
  for (const [operation, chunk] of textChanges(textOf(before), newText, limits, budget)) {
    if (operation === fastDiff.DELETE) {
      deleting += chunk.length;
      oldAt += chunk.length;
    } else if (operation === fastDiff.INSERT) {
      // Inserted with exactly the marks of the new text (applyDelta takes nothing from the text before it).
      runs(newAt, newAt + chunk.length, (start, end, attributes) => delta.push({ insert: newText.slice(start, end), attributes }));
      newAt += chunk.length;
    } else {
      flushDelete();
      // Kept text: its marks change only where the new ones differ.
      for (let i = 0; i < chunk.length; ) {
        let end = i + 1;
        const same = sameMarks(oldMarks[oldAt + i]!, newMarks[newAt + i]!);
        while (end < chunk.length && sameMarks(oldMarks[oldAt + end]!, newMarks[newAt + end]!) === same) end += 1;
        if (same) delta.push({ retain: end - i });
        else runs(newAt + i, newAt + end, (start, stop, attributes) => delta.push({ retain: stop - start, attributes }));
        i = end;
      }
      oldAt += chunk.length;
      newAt += chunk.length;
    }
  }
  flushDelete();
  text.applyDelta(delta);
}
