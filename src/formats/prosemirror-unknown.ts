import type { Schema } from 'prosemirror-model';
import * as Y from 'yjs';

/** y-prosemirror names a mark that overlaps itself `name--<8 characters of hash>`. */
const HASHED_MARK = /--[a-zA-Z0-9+/=]{8}$/;

const markOf = (attribute: string) => attribute.replace(HASHED_MARK, '');

/** A text attribute that stands for a mark the schema lacks (`ychange` is y-prosemirror's own). */
function isUnknownMark(attribute: string, schema: Schema): boolean {
  const mark = markOf(attribute);
  return mark !== 'ychange' && !schema.marks[mark];
}

/**
 * The first thing in the fragment the schema has no name for (an element or a mark a client
 * with other extensions wrote, such as a stock Tiptap's underline), described for a person;
 * null when there is none. y-prosemirror deletes what it cannot build as soon as it renders
 * the document, so a write must not render a document that holds any.
 */
export function unknownContent(fragment: Y.XmlFragment, schema: Schema): string | null {
  for (const child of fragment.toArray()) {
    if (child instanceof Y.XmlElement) {
      if (!schema.nodes[child.nodeName]) return `a '${child.nodeName}' element`;
      const inside = unknownContent(child, schema);
      if (inside) return inside;
    } else if (child instanceof Y.XmlText) {
      for (const op of child.toDelta() as { attributes?: Record<string, unknown> }[]) {
        const unknown = Object.keys(op.attributes ?? {}).find((attribute) => isUnknownMark(attribute, schema));
        if (unknown) return `the '${markOf(unknown)}' mark`;
      }
    }
  }
  return null;
}

/**
 * Makes `fragment` (a copy's) readable by the schema: marks it lacks are taken off the text
 * (the words stay), elements it lacks are removed. Never for a document people edit: it is
 * for rendering a copy, since y-prosemirror would otherwise leave out the whole block.
 */
export function withoutUnknownContent(fragment: Y.XmlFragment, schema: Schema): void {
  for (const child of fragment.toArray()) {
    if (child instanceof Y.XmlElement) {
      if (schema.nodes[child.nodeName]) withoutUnknownContent(child, schema);
      else fragment.delete(fragment.toArray().indexOf(child), 1);
    } else if (child instanceof Y.XmlText) {
      let index = 0;
      for (const op of child.toDelta() as { insert: string | object; attributes?: Record<string, unknown> }[]) {
        const length = typeof op.insert === 'string' ? op.insert.length : 1;
        const unknown = Object.keys(op.attributes ?? {}).filter((attribute) => isUnknownMark(attribute, schema));
        if (unknown.length > 0) child.format(index, length, Object.fromEntries(unknown.map((attribute) => [attribute, null])));
        index += length;
      }
    }
  }
}
