import { diffArrays } from 'diff';
import type { Node as ProseMirrorNode, Schema } from 'prosemirror-model';
import { initProseMirrorDoc, updateYFragment } from 'y-prosemirror';
import * as Y from 'yjs';

/** y-prosemirror's record of which ProseMirror node each Yjs type stands for. */
type Meta = Parameters<typeof updateYFragment>[3];
type Mapping = Meta['mapping'];

/** The element children of a fragment or element: a text directly in it is no block, and left alone. */
function elementsOf(parent: Y.XmlFragment): Y.XmlElement[] {
  return parent.toArray().filter((child): child is Y.XmlElement => child instanceof Y.XmlElement);
}

/**
 * The fragment as a ProseMirror document, with which Yjs element each node came from. Only
 * elements count at the top (y-prosemirror would fail on a text there, which a raw update can
 * put). What does not fit the schema, y-prosemirror leaves out (and deletes, as Tiptap does
 * when it opens the document).
 */
export function renderFragment(fragment: Y.XmlFragment, schema: Schema): { doc: ProseMirrorNode; mapping: Mapping } {
  const elements = { toArray: () => elementsOf(fragment) } as unknown as Y.XmlFragment;
  const { doc, mapping } = initProseMirrorDoc(elements, schema);
  return { doc, mapping };
}

/**
 * Changes the fragment so that it holds `wanted`, matching blocks by their content rather
 * than by their position: a paragraph added at the top moves nothing below it into another
 * paragraph's Yjs element, so people typing further down keep typing where they were.
 * Blocks that stay are left alone; a block changed in place keeps its element (a container,
 * such as a list, is reconciled the same way one level down; a text block is updated by
 * y-prosemirror's updateYFragment, which changes only what differs in its text); anything else
 * is deleted or inserted. Elements that did not render are never touched.
 */
export function reconcileFragment(doc: Y.Doc, fragment: Y.XmlFragment, rendered: { mapping: Mapping }, wanted: ProseMirrorNode): void {
  const meta: Meta = { mapping: rendered.mapping, isOMark: new Map() };
  reconcileChildren(doc, fragment, meta, wanted);
}

/**
 * Blocks added and removed at one level beyond which a change is matched by position
 * (y-prosemirror's way) instead: jsdiff's cost grows with the blocks times the edits.
 */
const MAX_BLOCK_EDITS = 1_000;

function reconcileChildren(doc: Y.Doc, parent: Y.XmlFragment, meta: Meta, wanted: ProseMirrorNode): void {
  // The blocks that rendered, in order, and where each one stands among all of parent's children.
  const all = parent.toArray();
  const old: { element: Y.XmlElement; node: ProseMirrorNode; index: number }[] = [];
  all.forEach((child, index) => {
    const node = child instanceof Y.XmlElement ? meta.mapping.get(child) : undefined;
    if (node && !Array.isArray(node)) old.push({ element: child as Y.XmlElement, node, index });
  });
  const next = wanted.content.content;
  const changes = diffArrays<ProseMirrorNode>(
    old.map(({ node }) => node),
    next as ProseMirrorNode[],
    { comparator: (a, b) => a.eq(b), maxEditLength: MAX_BLOCK_EDITS },
  );
  if (!changes) {
    // Rewritten almost entirely: matching blocks by content would cost more than it saves.
    updateYFragment(doc, parent, wanted, meta);
    return;
  }
  /** Elements inserted minus deleted so far: what to add to an old index to find the element now. */
  let shift = 0;
  /** Where the next inserted element goes: just after the last old block passed. */
  let insertAt = 0;
  let oldAt = 0;
  const insert = (node: ProseMirrorNode) => {
    const element = new Y.XmlElement(node.type.name);
    parent.insert(insertAt, [element]);
    updateYFragment(doc, element, node, meta);
    insertAt += 1;
    shift += 1;
  };
  for (let c = 0; c < changes.length; c++) {
    const change = changes[c]!;
    if (!change.added && !change.removed) {
      oldAt += change.count ?? change.value.length;
      insertAt = old[oldAt - 1]!.index + shift + 1;
      continue;
    }
    if (change.removed) {
      const removed = old.slice(oldAt, oldAt + change.value.length);
      oldAt += removed.length;
      const following = changes[c + 1];
      const added = following?.added ? following.value : [];
      if (following?.added) c += 1;
      // Pairs of a removed and an added block of the same kind: the same block, changed in place.
      removed.forEach((block, i) => {
        const replacement = added[i];
        const at = block.index + shift;
        if (replacement && replacement.type === block.node.type) {
          changeInPlace(doc, block.element, replacement, meta);
          insertAt = at + 1;
        } else {
          parent.delete(at, 1);
          shift -= 1;
          insertAt = at;
          if (replacement) insert(replacement);
        }
      });
      for (const node of added.slice(removed.length)) insert(node);
      continue;
    }
    for (const node of change.value) insert(node);
  }
}

function changeInPlace(doc: Y.Doc, element: Y.XmlElement, node: ProseMirrorNode, meta: Meta): void {
  if (node.isTextblock || node.isLeaf) {
    updateYFragment(doc, element, node, meta);
    return;
  }
  // A container (list, item, quote): its own attributes, then its blocks by content.
  const attributes = element.getAttributes() as Record<string, unknown>;
  for (const [key, value] of Object.entries(node.attrs)) {
    if (value === null || value === undefined) {
      if (key in attributes) element.removeAttribute(key);
    } else if (attributes[key] !== value) {
      element.setAttribute(key, value as string);
    }
  }
  for (const key of Object.keys(attributes)) if (!(key in node.attrs)) element.removeAttribute(key);
  meta.mapping.set(element, node);
  reconcileChildren(doc, element, meta, node);
}
