import * as Y from 'yjs';
import type { ContentFormat, TextMap } from './ports.ts';
import { replaceText } from './text-diff.ts';

/** The name of the Y.Text holding a markdown document (INTERFACE.md, "Documents"). */
export const CONTENT = 'content';

/** Markdown documents: the markdown is the Y.Text itself, changed by a character diff. */
export const markdownFormat: ContentFormat = {
  name: 'markdown',
  render: (doc: Y.Doc) => doc.getText(CONTENT).toString(),
  replace(doc, next, limits) {
    const text = doc.getText(CONTENT);
    return replaceText(text, next(text.toString()), limits);
  },
  textMap(doc): TextMap {
    const text = doc.getText(CONTENT);
    return {
      markdown: text.toString(),
      anchor: (from, to) => ({
        start: Y.createRelativePositionFromTypeIndex(text, from, 0),
        end: Y.createRelativePositionFromTypeIndex(text, to, -1),
      }),
      offsetOf: (position) => (position.type === text ? position.index : null),
    };
  },
};
