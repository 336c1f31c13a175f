import { type Extension, StateEffect, StateField } from '@codemirror/state';
import { Decoration, type DecorationSet, EditorView } from '@codemirror/view';
import type { Api } from '../api.ts';
import { h } from '../dom.ts';

interface BlameSpan {
  start: number;
  end: number;
  author: { kind: string; id: string; name: string } | null;
  version: number | null;
}

const setTints = StateEffect.define<DecorationSet>();

/** The tints over the markdown editor's text; they follow edits until the next refresh. */
const tints = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, transaction) {
    let next = value.map(transaction.changes);
    for (const effect of transaction.effects) if (effect.is(setTints)) next = effect.value;
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** A light colour of its own for each author, the same on every page (a hash of their id). */
function tintOf(authorId: string): string {
  let hash = 0;
  for (const character of authorId) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 70% 85%)`;
}

const nameOf = (span: BlameSpan) => span.author?.name ?? 'Written before authors were kept';
const kindOf = (span: BlameSpan) => (span.author ? ` (${span.author.kind})` : '');

/** The CodeMirror extension that draws the tints (markdown documents). */
export const blameTints: Extension = tints;

export interface BlameView {
  /** Tints the text by author (or stops); the checkbox calls it. */
  show(on: boolean): Promise<void>;
  /** The document changed: redraw soon, if showing. */
  changed(): void;
}

/**
 * "Who wrote what": GET /blame, drawn as a tint per author over the markdown editor's text,
 * or, for rich text (whose blame is cut on its markdown), over the markdown in the panel;
 * with a legend of the authors either way.
 */
export function createBlameView(options: { api: Api; documentId: string; legend: HTMLElement; view?: EditorView; panelText: HTMLElement }): BlameView {
  const { api, documentId, legend, view, panelText } = options;
  let showing = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const draw = async () => {
    const { spans } = (await api<{ version: number; spans: BlameSpan[] }>('GET', `/documents/${encodeURIComponent(documentId)}/blame`)).body;
    const markdown = (await api<{ content: string }>('GET', `/documents/${encodeURIComponent(documentId)}`)).body.content;
    if (!showing) return;
    const authors = new Map<string, BlameSpan>();
    for (const span of spans) authors.set(span.author?.id ?? '', span);
    legend.replaceChildren(
      ...[...authors].map(([id, span]) => {
        const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
        swatch.style.background = tintOf(id);
        return h('li', { class: 'blame-author' }, swatch, `${nameOf(span)}${kindOf(span)}`);
      }),
    );
    // The editor's text may have moved on since the server read it: tint only a text that matches.
    if (view && view.state.doc.toString() === markdown) {
      const ranges = spans
        .filter((span) => span.end > span.start)
        .map((span) => Decoration.mark({ attributes: { style: `background: ${tintOf(span.author?.id ?? '')}`, title: `${nameOf(span)}, version ${span.version ?? '?'}` } }).range(span.start, span.end));
      view.dispatch({ effects: setTints.of(Decoration.set(ranges)) });
    }
    if (!view) {
      panelText.replaceChildren(
        ...spans.map((span) => {
          const part = h('span', { title: `${nameOf(span)}, version ${span.version ?? '?'}` }, markdown.slice(span.start, span.end));
          part.style.background = tintOf(span.author?.id ?? '');
          return part;
        }),
      );
      panelText.hidden = false;
    }
  };

  return {
    async show(on) {
      showing = on;
      if (on) return draw();
      legend.replaceChildren();
      panelText.hidden = true;
      view?.dispatch({ effects: setTints.of(Decoration.none) });
    },
    changed() {
      if (!showing) return;
      clearTimeout(timer);
      // Typing changes the text at every keystroke: redraw once it calms down.
      timer = setTimeout(() => void draw().catch(() => undefined), 800);
    },
  };
}
