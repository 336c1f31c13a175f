import * as Y from 'yjs';
import type { TextMap } from './ports.ts';

/** A character of the fragment's text: the Y.XmlText it is in and its index there. */
interface Place {
  type: Y.XmlText;
  index: number;
  /** Where it is in the markdown. */
  offset: number;
}

/**
 * Where the characters of a rich-text document's markdown live in its fragment. The markdown
 * holds the text of every Y.XmlText in document order, with markup, escapes and link targets
 * in between (never in another order), so each character is matched with the first equal one
 * after the previous match. A link target or an image's description that repeats the text
 * right after it can take the match early; an anchor there may then start a few characters
 * off, but it still follows that text through later edits.
 */
export function richTextMap(fragment: Y.XmlFragment, markdown: string): TextMap {
  const places: Place[] = [];
  const offsets = new Map<Y.XmlText, Int32Array>();
  let cursor = 0;
  const visit = (type: Y.XmlElement | Y.XmlFragment) => {
    for (const child of type.toArray()) {
      if (child instanceof Y.XmlText) {
        const text = (child.toDelta() as { insert: unknown }[]).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
        const at = new Int32Array(text.length).fill(-1);
        for (let index = 0; index < text.length; index++) {
          const found = markdown.indexOf(text[index]!, cursor);
          if (found === -1) continue; // not rendered (an element the schema has no place for)
          cursor = found + 1;
          at[index] = found;
          places.push({ type: child, index, offset: found });
        }
        offsets.set(child, at);
      } else if (child instanceof Y.XmlElement) {
        visit(child);
      }
    }
  };
  visit(fragment);

  /** The first place at or after `offset` (places are in markdown order). */
  const firstFrom = (offset: number) => {
    let low = 0;
    let high = places.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (places[middle]!.offset < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  };

  return {
    markdown,
    anchor(from, to) {
      const first = firstFrom(from);
      const last = firstFrom(to) - 1;
      if (first > last) return null;
      const start = places[first]!;
      const end = places[last]!;
      return {
        start: Y.createRelativePositionFromTypeIndex(start.type, start.index, 0),
        end: Y.createRelativePositionFromTypeIndex(end.type, end.index + 1, -1),
      };
    },
    offsetOf(given, edge) {
      // A position in another replica of the document (the map may be made on a copy): the same place here.
      const position =
        given.type.doc === fragment.doc || !fragment.doc
          ? given
          : Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromTypeIndex(given.type, given.index), fragment.doc);
      if (!position || !(position.type instanceof Y.XmlText)) return null;
      const at = offsets.get(position.type);
      const offset = edge === 'start' ? at?.[position.index] : at?.[position.index - 1];
      if (offset === undefined || offset === -1) return null;
      return edge === 'start' ? offset : offset + 1;
    },
  };
}
