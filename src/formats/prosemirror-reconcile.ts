import fastDiff from 'fast-diff';
import type { Node as ProseMirrorNode } from 'prosemirror-model';
import { updateYFragment } from 'y-prosemirror';
import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import type { BuiltFragment } from './prosemirror-build.ts';
import type { Rendered } from './prosemirror-markdown.ts';
import { textChanges, type DiffLimits } from './text-diff.ts';

type Meta = Parameters<typeof updateYFragment>[3];
type Range = readonly [start: number, end: number];

/** The stretches a character diff left equal: where positions and ranges of the old text are in the new one. */
class DiffMap {
  private readonly oldStarts: number[] = [];
  private readonly oldEnds: number[] = [];
  private readonly newStarts: number[] = [];
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
}

interface Reconciliation {
  doc: Y.Doc;
  meta: Meta;
  built: BuiltFragment;
  before: Rendered;
  after: Rendered;
  /** The old markdown against the new: where each old node's markdown went. */
  moved: DiffMap;
}

/**
 * Changes the fragment (built as `built`, rendered as `before`) so that it holds `wanted`
 * (rendered as `after`), touching only what the writer changed, so that people typing
 * elsewhere keep typing where they were. Blocks are matched through the markdown: a diff of
 * the old rendering and the new says where each old block's markdown went, and the block is
 * paired with the first new block of its kind there (so of two equal paragraphs, the one
 * the writer edited is the one that changes, and a paragraph added at the top moves nothing
 * below it). A pair is the same block changed in place (a container, such as a list, is
 * reconciled the same way one level down; a text block is updated by y-prosemirror's
 * updateYFragment, which changes only what differs in its text); anything
 * else is deleted or inserted. Never touched: elements that did not render, blocks that
 * render as nothing (an empty paragraph someone may be about to type into). A block that rendered without something it
 * holds (BuiltFragment.lossy) is refused (UNSUPPORTED_CONTENT) rather than rewritten.
 */
export function reconcileFragment(
  doc: Y.Doc,
  fragment: Y.XmlFragment,
  built: BuiltFragment,
  before: Rendered,
  wanted: ProseMirrorNode,
  after: Rendered,
  limits?: DiffLimits,
): void {
  const meta: Meta = { mapping: built.mapping, isOMark: new Map() };
  const moved = new DiffMap(textChanges(before.text, after.text, limits));
  reconcileChildren({ doc, meta, built, before, after, moved }, fragment, wanted);
}

interface OldBlock {
  element: Y.XmlElement;
  node: ProseMirrorNode;
  /** Its index among all of the parent's children. */
  index: number;
  range: Range;
}

function reconcileChildren(context: Reconciliation, parent: Y.XmlFragment, wanted: ProseMirrorNode): void {
  const children = parent.toArray();
  const old: OldBlock[] = [];
  children.forEach((child, index) => {
    const node = child instanceof Y.XmlElement ? context.built.mapping.get(child) : undefined;
    const range = node && !Array.isArray(node) ? context.before.ranges.get(node) : undefined;
    // Blocks that render as nothing are left where they are: no one writing markdown saw them.
    if (range && range[1] > range[0]) old.push({ element: child as Y.XmlElement, node: node as ProseMirrorNode, index, range });
  });
  const next = wanted.content.content as readonly ProseMirrorNode[];

  // Each old block goes with the first new one of its kind where its markdown went (so of two
  // equal paragraphs, the one the writer edited is the one that changes); the new blocks
  // before that are inserted, and an old block with none is deleted. Elements are placed by
  // reference, not by index: Yjs finds an index by walking the list from its start, which
  // made writing a document of many blocks take time quadratic in their number.
  let added = 0;
  type Reference = Parameters<Y.XmlFragment['insertAfter']>[0];
  const insertAfter = (reference: Reference, until: number) => {
    if (added >= until) return;
    const nodes = next.slice(added, until);
    const elements = nodes.map((node) => new Y.XmlElement(node.type.name));
    parent.insertAfter(reference, elements);
    elements.forEach((element, i) => updateYFragment(context.doc, element, nodes[i]!, context.meta));
    added = until;
  };
  let last: Reference = null;
  for (const block of old) {
    const [start, end] = context.moved.span(block.range);
    let partner = -1;
    for (let index = added; index < next.length && partner === -1; index++) {
      const range = context.after.ranges.get(next[index]!)!;
      if (range[0] >= end) break;
      if (range[1] > start && next[index]!.type === block.node.type) partner = index;
    }
    if (partner !== -1) {
      // Right before the block (after whatever did not render between it and the one before).
      insertAfter((children[block.index - 1] ?? null) as Reference, partner);
      changeInPlace(context, block, next[added]!);
      added += 1;
    } else {
      deleteElement(block.element);
    }
    last = block.element;
  }
  insertAfter(last, next.length);
}

/** Deletes an element from its parent without looking up its index (see reconcileChildren). */
function deleteElement(element: Y.XmlElement): void {
  element.doc!.transact((transaction) => element._item!.delete(transaction));
}

function changeInPlace(context: Reconciliation, block: OldBlock, node: ProseMirrorNode): void {
  if (block.node.eq(node)) return;
  const { element } = block;
  const loss = context.built.lossy.get(element);
  if (loss) {
    throw new AppError(
      'UNSUPPORTED_CONTENT',
      `The change rewrites a block holding ${loss}, which markdown cannot show; rewriting it would delete that, so nothing was applied. Change that block in the editor that made it, or leave it as it is.`,
    );
  }
  if (node.isTextblock || node.isLeaf) {
    updateYFragment(context.doc, element, node, context.meta);
    return;
  }
  // A container (list, item, quote): its own attributes, then its blocks.
  const attributes = element.getAttributes() as Record<string, unknown>;
  for (const [key, value] of Object.entries(node.attrs)) {
    if (value === null || value === undefined) {
      if (key in attributes) element.removeAttribute(key);
    } else if (attributes[key] !== value) {
      element.setAttribute(key, value as string);
    }
  }
  context.meta.mapping.set(element, node);
  reconcileChildren(context, element, node);
}
