import type { HocuspocusProvider } from '@hocuspocus/provider';
import { Editor as TiptapEditor } from '@tiptap/core';
import Collaboration from '@tiptap/extension-collaboration';
import CollaborationCaret from '@tiptap/extension-collaboration-caret';
import type * as Y from 'yjs';
import { FRAGMENT, RICH_TEXT_EXTENSIONS } from '../../../src/formats/prosemirror-schema.ts';
import type { Person } from '../identity.ts';
import { safeColour } from './colours.ts';

/**
 * Tiptap for rich-text documents, on the Y.XmlFragment the server reads and writes as
 * markdown, with the server's own list of extensions (so that both agree on the schema),
 * Collaboration (Yjs sync, and an undo that takes back only this person's edits) and other
 * people's carets with their names.
 */
export function createRichEditor(parent: HTMLElement, doc: Y.Doc, provider: HocuspocusProvider, self: Person): { tiptap: TiptapEditor; setWritable(writable: boolean): void } {
  const tiptap = new TiptapEditor({
    element: parent,
    // Read-only until the server says otherwise, so a read link never lets anyone type.
    editable: false,
    extensions: [
      ...RICH_TEXT_EXTENSIONS,
      Collaboration.configure({ document: doc, field: FRAGMENT }),
      CollaborationCaret.configure({
        provider,
        user: self,
        // Others' states are theirs to fill: only a plain colour becomes a style.
        render: (user: Record<string, unknown>) => {
          const colour = safeColour(user['color']);
          const caret = document.createElement('span');
          caret.classList.add('collaboration-carets__caret');
          caret.style.borderColor = colour;
          const label = document.createElement('span');
          label.classList.add('collaboration-carets__label');
          label.style.backgroundColor = colour;
          label.textContent = String(user['name'] ?? '');
          caret.append(label);
          return caret;
        },
      }),
    ],
    editorProps: { attributes: { 'aria-label': 'Document text (rich text)', class: 'rich-text' } },
  });
  return {
    tiptap,
    setWritable: (writable) => tiptap.setEditable(writable),
  };
}
