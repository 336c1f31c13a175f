import type { Node as ProseMirrorNode } from 'prosemirror-model';
import { updateYFragment, yXmlFragmentToProseMirrorRootNode } from 'y-prosemirror';
import type * as Y from 'yjs';
import { richTextMarkdown } from './prosemirror-markdown.ts';
import { richTextMap } from './prosemirror-text-map.ts';
import { FRAGMENT, richTextSchema } from './prosemirror-schema.ts';
import type { ContentFormat } from './ports.ts';

const schema = richTextSchema();
const markdown = richTextMarkdown(schema);

function proseMirrorDocOf(doc: Y.Doc): ProseMirrorNode {
  return yXmlFragmentToProseMirrorRootNode(doc.getXmlFragment(FRAGMENT), schema);
}

/**
 * Rich-text documents: the Y.XmlFragment Tiptap edits. A write parses the new markdown into a
 * ProseMirror document and reconciles the fragment with it as y-prosemirror does for an
 * editor's own changes (updateYFragment): the unchanged nodes at either end of each level
 * are kept as they are, and only what differs in between is rewritten.
 */
export const prosemirrorFormat: ContentFormat = {
  name: 'prosemirror',
  render: (doc) => markdown.serialize(proseMirrorDocOf(doc)),
  replace(doc, next) {
    const wanted = markdown.parse(next);
    const fragment = doc.getXmlFragment(FRAGMENT);
    if (proseMirrorDocOf(doc).eq(wanted)) return false;
    updateYFragment(doc, fragment, wanted, { mapping: new Map(), isOMark: new Map() });
    return true;
  },
  textMap: (doc) => richTextMap(doc.getXmlFragment(FRAGMENT), markdown.serialize(proseMirrorDocOf(doc))),
};
