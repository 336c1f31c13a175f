import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import { richTextMarkdown } from './prosemirror-markdown.ts';
import { reconcileFragment, renderFragment } from './prosemirror-reconcile.ts';
import { FRAGMENT, richTextSchema } from './prosemirror-schema.ts';
import { richTextMap } from './prosemirror-text-map.ts';
import { unknownContent, withoutUnknownContent } from './prosemirror-unknown.ts';
import type { ContentFormat } from './ports.ts';

const schema = richTextSchema();
const markdown = richTextMarkdown(schema);

/**
 * The fragment to render for reading. y-prosemirror deletes what it cannot build while it
 * renders (a paragraph with one mark it does not know), so a document holding something the
 * schema lacks is rendered from a copy without it: a read shows the words and never changes
 * the document, and a write then sees the content and refuses (replace).
 */
function readable(doc: Y.Doc): Y.XmlFragment {
  const fragment = doc.getXmlFragment(FRAGMENT);
  if (!unknownContent(fragment, schema)) return fragment;
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  const readableCopy = copy.getXmlFragment(FRAGMENT);
  copy.transact(() => withoutUnknownContent(readableCopy, schema));
  return readableCopy;
}

/**
 * Rich-text documents: the Y.XmlFragment Tiptap edits. A write parses the new markdown into a
 * ProseMirror document and reconciles the fragment with it (prosemirror-reconcile.ts), so
 * that only the blocks that changed are rewritten, each in its own Yjs element.
 */
export const prosemirrorFormat: ContentFormat = {
  name: 'prosemirror',
  render: (doc) => markdown.serialize(renderFragment(readable(doc), schema).doc),
  replace(doc, next) {
    const wanted = markdown.parse(next);
    const fragment = doc.getXmlFragment(FRAGMENT);
    // Refused rather than deleted: people's content stays as it is until it is read as it is.
    const unknown = unknownContent(fragment, schema);
    if (unknown) {
      throw new AppError('UNSUPPORTED_CONTENT', `The document holds ${unknown}, which this server's rich-text schema does not have; a write would delete it, so nothing was applied. Remove it in the editor that made it, or edit the document there.`);
    }
    const rendered = renderFragment(fragment, schema);
    if (rendered.doc.eq(wanted)) return false;
    reconcileFragment(doc, fragment, rendered, wanted);
    return true;
  },
  textMap(doc) {
    // A copy's types have the same ids: anchors made on it resolve in `doc` as well.
    const fragment = readable(doc);
    return richTextMap(fragment, markdown.serialize(renderFragment(fragment, schema).doc));
  },
};
