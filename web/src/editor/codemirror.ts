import { defaultKeymap } from '@codemirror/commands';
import { markdown } from '@codemirror/lang-markdown';
import { defaultHighlightStyle, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { highlightSelectionMatches, search, searchKeymap } from '@codemirror/search';
import { Compartment, EditorState, type Extension } from '@codemirror/state';
import {
  drawSelection,
  dropCursor,
  EditorView,
  highlightActiveLine,
  highlightSpecialChars,
  keymap,
} from '@codemirror/view';
import { yCollab } from 'y-codemirror.next';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';

export interface Editor {
  view: EditorView;
  setWritable(writable: boolean): void;
}

/**
 * What a prose editor needs of CodeMirror's basicSetup, without its code-editing parts
 * (autocompletion, linting, folding) and without CodeMirror's own undo history: undo is
 * y-codemirror's, which takes back only this person's edits, never others' or agents'.
 */
const setup: Extension = [
  highlightSpecialChars(),
  drawSelection(),
  dropCursor(),
  indentOnInput(),
  syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
  highlightActiveLine(),
  highlightSelectionMatches(),
  search({ top: true }),
  // Tab stays a way out of the editor (keyboard users); Ctrl-] / Ctrl-[ indent.
  keymap.of([...defaultKeymap, ...searchKeymap]),
];

/**
 * CodeMirror bound to the document's Y.Text: local edits become Yjs updates, remote ones
 * appear in place, other people's cursors and selections come from awareness.
 */
export function createEditor(parent: HTMLElement, text: Y.Text, awareness: Awareness, extra: Extension[] = []): Editor {
  // Read-only until the server says otherwise, so a read link never lets anyone type.
  const access = new Compartment();
  const accessFor = (writable: boolean) => [EditorState.readOnly.of(!writable), EditorView.editable.of(writable)];
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text.toString(),
      extensions: [
        setup,
        markdown(),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': 'Document text (markdown)' }),
        yCollab(text, awareness, { undoManager: new Y.UndoManager(text) }),
        access.of(accessFor(false)),
        ...extra,
      ],
    }),
  });
  return {
    view,
    setWritable: (writable) => view.dispatch({ effects: access.reconfigure(accessFor(writable)) }),
  };
}
