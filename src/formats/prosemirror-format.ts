import type * as Y from 'yjs';
import { buildFragment } from './prosemirror-build.ts';
import { richTextMarkdown } from './prosemirror-markdown.ts';
import { reconcileFragment } from './prosemirror-reconcile.ts';
import { FRAGMENT, richTextSchema } from './prosemirror-schema.ts';
import { richTextMap } from './prosemirror-text-map.ts';
import type { ContentFormat } from './ports.ts';

const schema = richTextSchema();
const markdown = richTextMarkdown(schema);

/** The fragment as it reads: built without changing it (prosemirror-build.ts), and rendered. */
function rendering(doc: Y.Doc) {
  const fragment = doc.getXmlFragment(FRAGMENT);
  const built = buildFragment(fragment, schema);
  return { fragment, built, rendered: markdown.serialize(built.doc) };
}

/**
 * Rich-text documents: the Y.XmlFragment Tiptap edits. A write parses the new markdown into a
 * ProseMirror document and reconciles the fragment with it (prosemirror-reconcile.ts), so
 * that only the blocks that changed are rewritten, each in its own Yjs element.
 */
export const prosemirrorFormat: ContentFormat = {
  name: 'prosemirror',
  render: (doc) => rendering(doc).rendered.text,
  replace(doc, next, limits) {
    // Rendered once: the text handed to `next` is the rendering reconciled against.
    const { fragment, built, rendered } = rendering(doc);
    const written = next(rendered.text);
    // Its own rendering written back changes nothing, even where that does not read back as the document.
    if (written === rendered.text) return false;
    const wanted = markdown.parse(written);
    if (wanted.rendered.text === rendered.text) return false;
    reconcileFragment(doc, fragment, built, rendered, written, wanted.doc, wanted.rendered, limits);
    return true;
  },
  textMap(doc) {
    const { fragment, built, rendered } = rendering(doc);
    return richTextMap(fragment, built, rendered);
  },
};
