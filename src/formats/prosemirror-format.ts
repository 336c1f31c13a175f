import type * as Y from 'yjs';
import { richTextMarkdown } from './prosemirror-markdown.ts';
import { reconcileFragment, renderFragment } from './prosemirror-reconcile.ts';
import { FRAGMENT, richTextSchema } from './prosemirror-schema.ts';
import { richTextMap } from './prosemirror-text-map.ts';
import type { ContentFormat } from './ports.ts';

const schema = richTextSchema();
const markdown = richTextMarkdown(schema);

/**
 * Rich-text documents: the Y.XmlFragment Tiptap edits. A write parses the new markdown into a
 * ProseMirror document and reconciles the fragment with it (prosemirror-reconcile.ts), so
 * that only the blocks that changed are rewritten, each in its own Yjs element.
 */
export const prosemirrorFormat: ContentFormat = {
  name: 'prosemirror',
  render: (doc) => markdown.serialize(renderFragment(doc.getXmlFragment(FRAGMENT), schema).doc),
  replace(doc, next) {
    const wanted = markdown.parse(next);
    const fragment = doc.getXmlFragment(FRAGMENT);
    const rendered = renderFragment(fragment, schema);
    if (rendered.doc.eq(wanted)) return false;
    reconcileFragment(doc, fragment, rendered, wanted);
    return true;
  },
  textMap(doc) {
    const fragment = doc.getXmlFragment(FRAGMENT);
    return richTextMap(fragment, markdown.serialize(renderFragment(fragment, schema).doc));
  },
};
