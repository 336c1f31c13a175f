import { Fragment, Mark, type Node as ProseMirrorNode, type NodeType, type Schema } from 'prosemirror-model';
import type { updateYFragment } from 'y-prosemirror';
import * as Y from 'yjs';
import { MARKDOWN_ATTRIBUTES } from './prosemirror-schema.ts';

/** y-prosemirror's record of which ProseMirror node each Yjs type stands for. */
export type Mapping = Parameters<typeof updateYFragment>[3]['mapping'];

export interface BuiltFragment {
  /** The fragment as a ProseMirror document: what it reads as. */
  doc: ProseMirrorNode;
  mapping: Mapping;
  /**
   * Elements that rendered without something they hold (a mark or attribute the schema or
   * markdown lacks, an embedded object, marks that exclude each other), with what it is, for
   * a person: rewriting such a block would delete it.
   */
  lossy: Map<Y.XmlElement, string>;
}

/**
 * How deep elements may nest (the fragment's blocks are at depth 1): markdown-it reads no
 * deeper than prosemirror-markdown.ts's MAX_NESTING, so deeper content could be shown but never
 * written back, and a raw client can nest thousands deep. A block holding anything deeper is
 * left out whole, and left alone.
 */
export const MAX_BLOCK_DEPTH = 40;
const TOO_DEEP = Symbol('too deep');

/** y-prosemirror names a mark that overlaps itself `name--<8 characters of hash>`. */
const HASHED_MARK = /--[a-zA-Z0-9+/=]{8}$/;
/** y-prosemirror's own attribute (its change tracking), never content. */
const YCHANGE = 'ychange';

/**
 * The fragment as a ProseMirror document, built as y-prosemirror builds it (each element a
 * node of its name, each text its marks), with one difference: what does not fit is left out
 * here and left alone in the fragment. y-prosemirror deletes from the Yjs document whatever
 * it fails to build (an element the schema lacks, a paragraph inside a paragraph, a list
 * holding text), so rendering with it would make a read or an agent's write delete content
 * some other client wrote. What does not fit:
 * - an element whose name the schema lacks (or is `doc` or `text`), whose content the schema
 *   does not allow there, or whose attributes markdown writes have values markdown cannot
 *   (a heading of level 9): left out with everything in it; no write touches it (but one
 *   that rewrites the text block holding it, which is therefore lossy);
 * - a block holding elements nested deeper than MAX_BLOCK_DEPTH: left out whole;
 * - in a text, a mark the schema lacks or with a value it cannot write (a link without an
 *   address), a mark the others exclude (bold on code), an embedded object: the text renders
 *   without it, and its block is recorded as lossy.
 */
export function buildFragment(fragment: Y.XmlFragment, schema: Schema): BuiltFragment {
  const mapping: Mapping = new Map();
  const lossy = new Map<Y.XmlElement, string>();

  const buildText = (text: Y.XmlText, parent: Y.XmlElement, into: ProseMirrorNode[]) => {
    for (const op of text.toDelta() as { insert: unknown; attributes?: Record<string, unknown> }[]) {
      if (typeof op.insert !== 'string') {
        lossy.set(parent, 'an embedded object');
        continue;
      }
      if (op.insert.length === 0) continue;
      let marks: readonly Mark[] = Mark.none;
      for (const [attribute, value] of Object.entries(op.attributes ?? {})) {
        const name = attribute.replace(HASHED_MARK, '');
        if (name === YCHANGE) continue;
        // y-prosemirror hashes the name of a mark that overlaps itself, which none of this schema's does.
        if (name !== attribute) lossy.set(parent, `the '${name}' mark overlapping itself`);
        const { mark, loss } = markOf(schema, name, value);
        if (loss) lossy.set(parent, loss);
        if (!mark) continue;
        const added = mark.addToSet(marks);
        if (!added.includes(mark) || added.length < marks.length + 1) lossy.set(parent, `the '${name}' mark together with marks it excludes`);
        marks = added;
      }
      into.push(schema.text(op.insert, marks));
    }
  };

  const buildElement = (element: Y.XmlElement, depth: number): ProseMirrorNode | null | typeof TOO_DEEP => {
    if (depth > MAX_BLOCK_DEPTH) return TOO_DEEP;
    const type = schema.nodes[element.nodeName];
    if (!type || type === schema.topNodeType || type.isText) return null;
    const attrs = attributesOf(element, type, lossy);
    if (attrs === null) return null;
    const children: ProseMirrorNode[] = [];
    for (const child of element.toArray()) {
      if (child instanceof Y.XmlElement) {
        const node = buildElement(child, depth + 1);
        if (node === TOO_DEEP) return TOO_DEEP;
        if (node) children.push(node);
        // Rewriting a text block rewrites everything in it: what of it did not render goes with it.
        if (type.isTextblock && !node) lossy.set(element, `a '${child.nodeName}' element it holds`);
        const loss = lossy.get(child);
        if (type.isTextblock && loss) lossy.set(element, loss);
      } else if (child instanceof Y.XmlText) {
        buildText(child, element, children);
      }
    }
    try {
      const node = type.createChecked(attrs, Fragment.fromArray(children));
      mapping.set(element, node);
      return node;
    } catch {
      // Content the schema does not allow there: a paragraph in a paragraph, text in a list.
      return null;
    }
  };

  const blocks: ProseMirrorNode[] = [];
  for (const child of fragment.toArray()) {
    // A text directly under the fragment has no place in the document (only a raw client puts one there).
    if (!(child instanceof Y.XmlElement)) continue;
    const node = buildElement(child, 1);
    if (node && node !== TOO_DEEP) blocks.push(node);
  }
  // As y-prosemirror: a document with no block at all is still a document (empty).
  const doc = schema.topNodeType.create(null, Fragment.fromArray(blocks));
  return { doc, mapping, lossy };
}

/**
 * The element's attributes for its node, or null when one that markdown writes has a value it
 * cannot (the element then does not fit). Attributes markdown has no way to write (Tiptap's
 * image width, a class) are kept on the node, but make the block lossy when they differ from
 * the default, as do attributes the node does not have.
 */
function attributesOf(element: Y.XmlElement, type: NodeType, lossy: Map<Y.XmlElement, string>): Record<string, unknown> | null {
  const given = element.getAttributes() as Record<string, unknown>;
  const specs = type.spec.attrs ?? {};
  const written = MARKDOWN_ATTRIBUTES[type.name] ?? {};
  const attrs: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    // y-prosemirror leaves an attribute out of the element while it is null.
    const value = given[key] === undefined ? spec.default : given[key];
    if (written[key] && !written[key]!(value)) return null;
    if (!written[key] && value !== spec.default) lossy.set(element, `the '${key}' of a '${type.name}', which markdown cannot write`);
    attrs[key] = value;
  }
  const unknown = Object.keys(given).find((key) => key !== YCHANGE && !(key in specs));
  if (unknown) lossy.set(element, `the '${unknown}' attribute on a '${type.name}'`);
  return attrs;
}

/**
 * The mark an attribute of a text stands for (none when it cannot be one), and what of it
 * does not render, as for an element's attributes.
 */
function markOf(schema: Schema, name: string, value: unknown): { mark?: Mark; loss?: string } {
  const type = schema.marks[name];
  if (!type) return { loss: `the '${name}' mark` };
  const given = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const specs = type.spec.attrs ?? {};
  const written = MARKDOWN_ATTRIBUTES[name] ?? {};
  let loss: string | undefined;
  const attrs: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const attr = given[key] === undefined ? spec.default : given[key];
    if (written[key] && !written[key]!(attr)) return { loss: `a '${name}' mark without a valid ${key}` };
    if (!written[key] && attr !== spec.default) loss = `the '${key}' of a '${name}' mark, which markdown cannot write`;
    attrs[key] = attr;
  }
  const unknown = Object.keys(given).find((key) => !(key in specs));
  if (unknown) loss = `the '${unknown}' of a '${name}' mark`;
  return { mark: type.create(attrs), ...(loss ? { loss } : {}) };
}
