import type { Schema } from 'prosemirror-model';
import * as Y from 'yjs';

/** y-prosemirror names a mark that overlaps itself `name--<8 characters of hash>`. */
const HASHED_MARK = /--[a-zA-Z0-9+/=]{8}$/;

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
        for (const attribute of Object.keys(op.attributes ?? {})) {
          const mark = attribute.replace(HASHED_MARK, '');
          if (mark !== 'ychange' && !schema.marks[mark]) return `the '${mark}' mark`;
        }
      }
    }
  }
  return null;
}
