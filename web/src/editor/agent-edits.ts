import { type Extension, StateEffect, StateField } from '@codemirror/state';
import { Decoration, type DecorationSet, EditorView } from '@codemirror/view';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';

/** How long text written by an agent stays marked. */
const MARK_MS = 6_000;

const addMarks = StateEffect.define<{ batch: number; ranges: [number, number][] }>();
const dropMarks = StateEffect.define<number>();

const agentMark = (batch: number) =>
  Decoration.mark({ class: 'cm-agentEdit', attributes: { title: 'Written by an agent' }, batch });

const marks = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, transaction) {
    let next = value.map(transaction.changes);
    for (const effect of transaction.effects) {
      if (effect.is(addMarks)) {
        const { batch, ranges } = effect.value;
        next = next.update({ add: ranges.map(([from, to]) => agentMark(batch).range(from, to)), sort: true });
      } else if (effect.is(dropMarks)) {
        next = next.update({ filter: (_from, _to, mark) => mark.spec.batch !== effect.value });
      }
    }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/**
 * Marks text inserted by a Yjs client that never had a person's presence on this page. People's
 * editors announce themselves through awareness before they type; Tandem applies REST writes
 * (an agent's patch, a restore) with client ids of their own, shown in awareness only as
 * agents. So "no person's presence" is "an agent or a script", and the page says so, live,
 * for a few seconds.
 */
export function watchAgentEdits(
  text: Y.Text,
  awareness: Awareness,
  isLive: () => boolean,
  announce: (message: string) => void,
): { extension: Extension; attach(view: EditorView): void } {
  const withPresence = new Set<number>();
  // People only: an agent is in awareness too while it writes, and its edits are still marked.
  const remember = () =>
    awareness.getStates().forEach((state, clientId) => {
      if ((state as { user?: { kind?: unknown } }).user?.kind !== 'agent') withPresence.add(clientId);
    });
  awareness.on('change', remember);
  remember();
  let batches = 0;

  const attach = (view: EditorView) => {
    text.observe((event, transaction) => {
      // Ours, or the initial load (everything ever written arrives then): nothing to show.
      if (transaction.local || !isLive()) return;
      // The writers are the clients whose clocks this transaction advanced (a YTextEvent's
      // `changes` does not list its items).
      const writers = [...transaction.afterState].filter(([client, clock]) => clock > (transaction.beforeState.get(client) ?? 0));
      if (!writers.some(([client]) => !withPresence.has(client))) return;
      const ranges: [number, number][] = [];
      let position = 0;
      for (const change of event.delta) {
        if (change.retain) position += change.retain;
        else if (typeof change.insert === 'string') {
          ranges.push([position, position + change.insert.length]);
          position += change.insert.length;
        }
      }
      announce('An agent edited the document');
      // y-codemirror has applied this change to the editor already (its observer comes
      // first); if the two disagree, an unmarked edit is better than a misplaced mark.
      if (ranges.length === 0 || view.state.doc.length !== text.length) return;
      const batch = ++batches;
      view.dispatch({ effects: addMarks.of({ batch, ranges }) });
      setTimeout(() => view.dispatch({ effects: dropMarks.of(batch) }), MARK_MS);
    });
  };

  return { extension: marks, attach };
}
