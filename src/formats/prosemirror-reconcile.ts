import type { Node as ProseMirrorNode } from 'prosemirror-model';
import { updateYFragment } from 'y-prosemirror';
import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import { DiffMap, type Range } from './diff-map.ts';
import type { BuiltFragment } from './prosemirror-build.ts';
import { updateTextblock } from './prosemirror-text-update.ts';
import type { Rendered } from './prosemirror-markdown.ts';
import { textChanges, type DiffLimits } from './text-diff.ts';

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
  written: string,
  wanted: ProseMirrorNode,
  after: Rendered,
  limits?: DiffLimits,
): void {
  const meta: Meta = { mapping: built.mapping, isOMark: new Map() };
  const moved = new DiffMap(textChanges(before.text, after.text, limits));
  const writtenMap = written === after.text ? moved : new DiffMap(textChanges(before.text, written, limits));
  reconcileChildren({ doc, meta, built, before, after, moved, written: writtenMap, limits }, fragment, wanted);
}

interface OldBlock {
  element: Y.XmlElement;
  node: ProseMirrorNode;
  /** Its index among all of the parent's children. */
  index: number;
  range: Range;
}

function reconcileChildren(context: Reconciliation, parent: Y.XmlFragment, wanted: ProseMirrorNode): void {
  const old: OldBlock[] = [];
  parent.toArray().forEach((child, index) => {
    const node = child instanceof Y.XmlElement ? context.built.mapping.get(child) : undefined;
    const range = node && !Array.isArray(node) ? context.before.ranges.get(node) : undefined;
    // Blocks that render as nothing are left where they are: no one writing markdown saw them.
    if (range && range[1] > range[0]) old.push({ element: child as Y.XmlElement, node: node as ProseMirrorNode, index, range });
  });
  const next = wanted.content.content as readonly ProseMirrorNode[];

  // A block whose markdown the writer left as it was stays as it is, and the new blocks its
  // markdown reads as at this level are passed over: it may not read back as itself (a
  // paragraph ending in a space, an image whose address has a space), and no one asked for
  // it to change. (If its markdown reads as no block at this level, the writer moved it into
  // another block, and it is not left where it was.) Every
  // other block goes with the first new one of its kind where its markdown went (so of two
  // equal paragraphs, the one the writer edited is the one that changes); the new blocks
  // before that are inserted after the last block passed, and a block with none is deleted.
  // Elements are placed by reference, not by index: Yjs finds an index by walking the list
  // from its start, which made writing a document of many blocks quadratic in their number.
  let added = 0;
  const rangeOf = (node: ProseMirrorNode) => context.after.ranges.get(node)!;
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
    // The new blocks its markdown reads as now: those at this level where its markdown went.
    let first = added;
    while (first < next.length && rangeOf(next[first]!)[1] <= start) first += 1;
    let afterLast = first;
    while (afterLast < next.length && rangeOf(next[afterLast]!)[0] >= start && rangeOf(next[afterLast]!)[1] <= end) afterLast += 1;
    if (afterLast > first && context.written.untouched(block.range)) {
      insertAfter(last, first);
      added = afterLast;
    } else {
      let partner = -1;
      for (let index = added; index < next.length && partner === -1; index++) {
        const range = rangeOf(next[index]!);
        if (range[0] >= end) break;
        if (range[1] > start && next[index]!.type === block.node.type) partner = index;
      }
      if (partner !== -1) {
        insertAfter(last, partner);
        changeInPlace(context, block, next[added]!);
        added += 1;
      } else {
        deleteElement(block.element);
      }
    }
    last = block.element;
  }
  insertAfter(last, next.length);
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
  if (node.isTextblock && updateTextblock(element, block.node, node, context.limits)) {
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
