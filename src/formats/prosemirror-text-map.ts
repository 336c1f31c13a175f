import * as Y from 'yjs';
import type { TextMap } from './ports.ts';
import type { BuiltFragment } from './prosemirror-build.ts';
import type { Rendered } from './prosemirror-markdown.ts';

/** A character of the fragment's text: the Y.XmlText it is in and its index there. */
interface Place {
  type: Y.XmlText;
  index: number;
  /** Where it is in the markdown. */
  offset: number;
}

/**
 * Where the characters of a rich-text document's markdown live in its fragment. The markdown
 * holds the text of every rendered Y.XmlText in document order, with markup, escapes and link
 * targets in between (never in another order), so each character is matched with the first
 * equal one after the previous match, within the markdown of its own block. A link target or
 * an image's description that repeats the text right after it can take the match early; an
 * anchor there may then start a few characters off, but it still follows that text through
 * later edits.
 */
export function richTextMap(fragment: Y.XmlFragment, built: BuiltFragment, rendered: Rendered): TextMap {
  const { text: markdown, ranges } = rendered;
  const places: Place[] = [];
  const offsets = new Map<Y.XmlText, Int32Array>();
  let cursor = 0;
  const visit = (type: Y.XmlElement | Y.XmlFragment, block: readonly [number, number] | undefined) => {
    for (const child of type.toArray()) {
      if (child instanceof Y.XmlText) {
        // A text outside any rendered block (directly under the fragment) is not in the markdown.
        if (!block) continue;
        const at = new Int32Array(child.length).fill(-1);
        let index = 0;
        for (const op of child.toDelta() as { insert: unknown }[]) {
          if (typeof op.insert !== 'string') {
            index += 1; // an embedded object: one position in the text, nothing in the markdown
            continue;
          }
          for (const character of op.insert.split('')) {
            const found = markdown.indexOf(character, Math.max(cursor, block[0]));
            if (found !== -1 && found < block[1]) {
              cursor = found + 1;
              at[index] = found;
              places.push({ type: child, index, offset: found });
            }
            index += 1;
          }
        }
        offsets.set(child, at);
      } else if (child instanceof Y.XmlElement) {
        // An element that did not render has no markdown, nor has anything in it.
        const node = built.mapping.get(child);
        const range = node && !Array.isArray(node) ? ranges.get(node) : undefined;
        if (range) visit(child, range);
      }
    }
  };
  visit(fragment, undefined);

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
