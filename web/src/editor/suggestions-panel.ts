import { diffWordsWithSpace } from 'diff';
import { type Api, ApiError } from '../api.ts';
import { byId, formatTime, h } from '../dom.ts';

interface Suggestion {
  id: string;
  base: number;
  status: string;
  author: { kind: string; id: string; name: string } | null;
  /** The document as it would read if accepted now. */
  markdown: string;
  /** Set when it would not apply now: the error code accepting would answer. */
  conflict: string | null;
  createdAt: string;
}

export interface SuggestionsPanel {
  /** Reloads the list if the panel is showing (called as the document changes). */
  refresh(): void;
}

/**
 * Open suggestions (agents' proposed changes, stored, not applied): each as a diff of the
 * document now against the document once accepted, with Accept (merged against its base,
 * like a PATCH) and Reject for those who may write.
 */
export function createSuggestionsPanel(options: { api: Api; documentId: string; canWrite: () => boolean; isOpen: () => boolean }): SuggestionsPanel {
  const { api, documentId } = options;
  const path = `/documents/${encodeURIComponent(documentId)}`;
  const list = byId('suggestions');
  const message = byId('suggestions-message');
  const count = byId('suggestions-count');
  let loading = false;

  const diffOf = (current: string, proposed: string) =>
    h(
      'pre',
      { class: 'version-text suggestion-diff' },
      ...diffWordsWithSpace(current, proposed).map((part) =>
        part.added ? h('ins', {}, part.value) : part.removed ? h('del', {}, part.value) : part.value,
      ),
    );

  const decide = async (suggestion: Suggestion, verdict: 'accept' | 'reject', status: HTMLElement, buttons: HTMLButtonElement[]) => {
    for (const button of buttons) button.disabled = true;
    try {
      const answer = await api<{ version?: number }>('POST', `${path}/suggestions/${encodeURIComponent(suggestion.id)}/${verdict}`);
      status.textContent = verdict === 'accept' ? `Accepted as version ${answer.body.version}.` : 'Rejected.';
      void load();
    } catch (error) {
      status.textContent = error instanceof ApiError ? `Not ${verdict}ed: ${error.message}` : String(error);
      for (const button of buttons) button.disabled = false;
    }
  };

  const load = async () => {
    if (loading) return;
    loading = true;
    try {
      const [open, current] = await Promise.all([
        api<{ suggestions: Suggestion[] }>('GET', `${path}/suggestions?status=open`),
        api<{ content: string }>('GET', path),
      ]);
      const suggestions = open.body.suggestions;
      count.textContent = suggestions.length > 0 ? ` (${suggestions.length})` : '';
      message.textContent = suggestions.length === 0 ? 'No open suggestions.' : '';
      list.replaceChildren(
        ...suggestions.map((suggestion) => {
          const accept = h('button', { type: 'button', class: 'primary' }, 'Accept');
          const reject = h('button', { type: 'button' }, 'Reject');
          const status = h('p', { class: 'hint', role: 'status' });
          accept.hidden = reject.hidden = !options.canWrite();
          accept.disabled = suggestion.conflict !== null;
          accept.addEventListener('click', () => void decide(suggestion, 'accept', status, [accept, reject]));
          reject.addEventListener('click', () => void decide(suggestion, 'reject', status, [accept, reject]));
          const who = suggestion.author ? `${suggestion.author.name} (${suggestion.author.kind})` : 'Someone';
          return h(
            'li',
            { class: 'suggestion' },
            h('p', {}, h('strong', {}, who), ` suggests, on version ${suggestion.base}, `, h('time', { datetime: suggestion.createdAt }, formatTime(suggestion.createdAt))),
            suggestion.conflict
              ? h('p', { class: 'message' }, `It no longer applies (${suggestion.conflict}): the text it changes was changed since. Reject it, or ask for a new one.`)
              : diffOf(current.body.content, suggestion.markdown),
            h('div', { class: 'actions' }, accept, reject),
            status,
          );
        }),
      );
    } catch (error) {
      message.textContent = `Could not load the suggestions: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      loading = false;
    }
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  void load();
  return {
    refresh() {
      clearTimeout(timer);
      // The count in the tab stays current; the diffs are redrawn once typing calms down.
      timer = setTimeout(() => void load(), options.isOpen() ? 800 : 5_000);
    },
  };
}
