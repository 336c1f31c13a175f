import type { Node as ProseMirrorNode } from 'prosemirror-model';
import { updateYFragment } from 'y-prosemirror';
import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import { DiffMap, type Range } from './diff-map.ts';
import type { BuiltFragment } from './prosemirror-build.ts';
import { updateTextblock } from './prosemirror-text-update.ts';
import type { Rendered } from './prosemirror-markdown.ts';
import { type DiffBudget, diffBudget, type DiffLimits, textChanges } from './text-diff.ts';

type Meta = Parameters<typeof updateYFragment>[3];

interface Reconciliation {
  doc: Y.Doc;
  meta: Meta;
  built: BuiltFragment;
  before: Rendered;
  after: Rendered;
  /** The old markdown against the new document's rendering: where each old node's markdown went. */
  moved: DiffMap;
  /** The old markdown against the markdown written: which old nodes the writer left as they were. */
  written: DiffMap;
  limits: DiffLimits | undefined;
  budget: DiffBudget;
}

/**
 * Changes the fragment (built as `built`, rendered as `before`) so that it holds `wanted`
 * (rendered as `after`), touching only what the writer changed, so that people typing
 * elsewhere keep typing where they were. Blocks are matched through the markdown, at each
 * level of the tree (a list's items as the document's blocks):
 * - a block whose markdown the writer left as it was (`written`) stays as it is, and the new
 *   blocks its markdown reads as are passed over: it may not read back as itself (a
 *   paragraph ending in a space, an image whose address has a space), and no one asked for
 *   it to change. (If its markdown now reads as part of a block elsewhere, the writer moved
 *   it there: it is matched as any other.)
 * - any other block goes with the first new block of its kind where its markdown went
 *   (`moved`): of two equal paragraphs, the one the writer edited is the one that changes,
 *   and a paragraph added at the top moves nothing below it. The pair is the same block
 *   changed in place: a text block character by character (prosemirror-text-update.ts), a
 *   container one level down. A block with no partner is deleted, a new block with none is
 *   inserted where it stands.
 * Never touched: elements that did not render, and blocks that render as blank (an empty
 * paragraph someone may be about to type into, one of spaces). A block that rendered without something it
 * holds (BuiltFragment.lossy) and would have to be rewritten whole is refused
 * (UNSUPPORTED_CONTENT).
 */
export function reconcileFragment(
  doc: Y.Doc,
  fragment: Y.XmlFragment,
  built: BuiltFragment,
  before: Rendered,
  written: string,
  wanted: ProseMirrorNode,
  after: Rendered,
  limits?: DiffLimits,
): void {
  const meta: Meta = { mapping: built.mapping, isOMark: new Map() };
  // One diff budget for the whole write: the two diffs of the markdown and every text block's.
  const budget = diffBudget(limits);
  const moved = new DiffMap(textChanges(before.text, after.text, limits, budget));
  const writtenMap = written === after.text ? moved : new DiffMap(textChanges(before.text, written, limits, budget));
  reconcileChildren({ doc, meta, built, before, after, moved, written: writtenMap, limits, budget }, fragment, wanted);
}

interface OldBlock {
  element: Y.XmlElement;
  node: ProseMirrorNode;
  range: Range;
}

/** The parent's children that rendered as something to see, with where. */
function renderedBlocks(context: Reconciliation, parent: Y.XmlFragment): OldBlock[] {
  const blocks: OldBlock[] = [];
  for (const child of parent.toArray()) {
    const node = child instanceof Y.XmlElement ? context.built.mapping.get(child) : undefined;
    const range = node && !Array.isArray(node) ? context.before.ranges.get(node) : undefined;
    // One that renders as blank (an empty paragraph, one of spaces) no one writing markdown sees.
    if (range && context.before.text.slice(range[0], range[1]).trim() !== '') blocks.push({ element: child as Y.XmlElement, node: node as ProseMirrorNode, range });
  }
  return blocks;
}

function reconcileChildren(context: Reconciliation, parent: Y.XmlFragment, wanted: ProseMirrorNode): void {
  const old = renderedBlocks(context, parent);
  const next = wanted.content.content as readonly ProseMirrorNode[];
  const rangeOf = (node: ProseMirrorNode) => context.after.ranges.get(node)!;
  /** Where an old block's own markdown starts now. */
  const contentStart = (block: OldBlock) => context.moved.span(ownMarkdown(context.before.text, block.range))[0];

  // New blocks are placed by reference, not by index: Yjs finds an index by walking the list
  // from its start, which made writing a document of many blocks quadratic in their number.
  let added = 0; // new blocks placed (inserted, passed over or paired) so far
  let last: Reference = null; // the last old block passed: new blocks go after it
  const insertUpTo = (until: number) => {
    if (added >= until) return;
    const nodes = next.slice(added, until);
    const elements = nodes.map((node) => new Y.XmlElement(node.type.name));
    parent.insertAfter(last, elements);
    elements.forEach((element, i) => updateYFragment(context.doc, element, nodes[i]!, context.meta));
    added = until;
  };

  old.forEach((block, index) => {
    const [start, end] = context.moved.span(block.range);
    // What its markdown reads as now at this level: the new blocks that start where it went,
    // and end before the next old block's own markdown.
    const following = old[index + 1];
    const nextStart = following ? contentStart(following) : Number.POSITIVE_INFINITY;
    let first = added;
    while (first < next.length && rangeOf(next[first]!)[1] <= start) first += 1;
    let afterLast = first;
    while (afterLast < next.length && rangeOf(next[afterLast]!)[0] >= start && rangeOf(next[afterLast]!)[0] < end && rangeOf(next[afterLast]!)[1] <= nextStart) {
      afterLast += 1;
    }
    if (afterLast > first && context.written.untouched(block.range)) {
      insertUpTo(first);
      added = afterLast;
    } else {
      const partner = partnerOf(context, block, next, added, old[index + 1]);
      if (partner === -1) {
        // Deleted, and what replaces it goes before it, not after: a block a person adds
        // after it meanwhile stays after what replaces it.
        deleteElement(block.element);
        return;
      }
      insertUpTo(partner);
      changeInPlace(context, block, next[partner]!);
      added = partner + 1;
    }
    last = block.element;
  });
  insertUpTo(next.length);
}

/**
 * The new block from `from` on, of the old block's kind, that keeps most of the old block's
 * own markdown (characters the diff kept, now inside its own markdown), if that is more than
 * half of it; -1 otherwise, or if the block after it (`following`) keeps more of itself in
 * that one (a paragraph deleted before one that changed: the changed one is the one that
 * stays). By their own markdown, past the blank line, quote marker or indentation before it:
 * a paragraph added right above another shares that, and would otherwise take its place; and
 * by most of it: two blocks that share a letter or two (an agent moving one and rewriting the
 * other) are not one block changed, or a person's bold on one would end up on the other.
 */
function partnerOf(context: Reconciliation, block: OldBlock, next: readonly ProseMirrorNode[], from: number, following: OldBlock | undefined): number {
  const own = (old: OldBlock) => ownMarkdown(context.before.text, old.range);
  const keptIn = (old: OldBlock, index: number) => context.moved.kept(own(old), ownMarkdown(context.after.text, context.after.ranges.get(next[index]!)!));
  const [, end] = context.moved.span(own(block));
  const [ownStart, ownEnd] = own(block);
  let partner = -1;
  let most = 0;
  for (let index = from; index < next.length; index++) {
    if (ownMarkdown(context.after.text, context.after.ranges.get(next[index]!)!)[0] >= end) break;
    if (next[index]!.type !== block.node.type) continue;
    const kept = keptIn(block, index);
    if (kept > most) {
      partner = index;
      most = kept;
    }
  }
  if (partner === -1 || 2 * most <= ownEnd - ownStart) return -1;
  if (following && following.node.type === block.node.type && keptIn(following, partner) > most) return -1;
  return partner;
}

/** A node's range without the blank line, quote markers or indentation it starts with. */
function ownMarkdown(text: string, [from, to]: Range): Range {
  let at = from;
  while (at < to && /[\s>]/.test(text[at]!)) at += 1;
  return [at, to];
}

type Reference = Parameters<Y.XmlFragment['insertAfter']>[0];

function sameMarkdown(context: Reconciliation, [oldStart, oldEnd]: Range, [newStart, newEnd]: Range): boolean {
  return oldEnd - oldStart === newEnd - newStart && context.before.text.slice(oldStart, oldEnd) === context.after.text.slice(newStart, newEnd);
}

function updateAttributes(element: Y.XmlElement, node: ProseMirrorNode): void {
  const attributes = element.getAttributes() as Record<string, unknown>;
  for (const [key, value] of Object.entries(node.attrs)) {
    if (value === null || value === undefined) {
      if (key in attributes) element.removeAttribute(key);
    } else if (attributes[key] !== value) {
      element.setAttribute(key, value as string);
    }
  }
}

/** Deletes an element from its parent without looking up its index (see reconcileChildren). */
function deleteElement(element: Y.XmlElement): void {
  element.doc!.transact((transaction) => element._item!.delete(transaction));
}

function changeInPlace(context: Reconciliation, block: OldBlock, node: ProseMirrorNode): void {
  // Reads the same: whatever it holds that markdown does not show, the writer did not ask to change.
  if (block.node.eq(node) || sameMarkdown(context, block.range, context.after.ranges.get(node)!)) return;
  const { element } = block;
  // Changed character by character, a text block keeps what it holds that markdown does not
  // show (a mark the schema lacks stays on the words it was on); rewritten whole, or as a
  // container, it would not.
  if (node.isTextblock && updateTextblock(element, block.node, node, context.limits, context.budget)) {
    updateAttributes(element, node);
    return;
  }
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
  updateAttributes(element, node);
  context.meta.mapping.set(element, node);
  reconcileChildren(context, element, node);
}
