import { type Api, ApiError } from '../api.ts';
import { byId, formatTime, h } from '../dom.ts';

interface VersionEntry {
  version: number;
  createdAt: string;
  /** null for kept snapshots and for edits from before authors were kept. */
  author: { kind: 'user' | 'agent' | 'link' | 'key'; id: string; name: string } | null;
  authorKind: string;
  names: string[];
}

interface VersionPage {
  versions: VersionEntry[];
  nextBefore: number | null;
}

/** Every op-log entry is a version: a person typing makes one per keystroke or so. */
interface Run {
  newest: VersionEntry;
  oldest: VersionEntry;
  count: number;
}

/** Entries of one author less than this apart are shown as one run of edits. */
const RUN_GAP_MS = 60_000;

/** For entries with no author: snapshots, and edits from before authors were kept. */
const KIND_LABEL: Record<string, string> = { user: 'Someone', agent: 'An agent', snapshot: 'Kept snapshot' };

const labelOf = (entry: VersionEntry) => entry.author?.name ?? KIND_LABEL[entry.authorKind] ?? entry.authorKind;

/** Who an entry is by, for joining runs: each author apart (people and keys by id, older entries by kind). */
const whoOf = (entry: VersionEntry) => entry.author?.id ?? `kind:${entry.authorKind}`;

/**
 * Consecutive edits by the same person (or link, or key), close in time and unnamed, become
 * one row: their typing. Each agent write is a row of its own, as is each restore.
 */
export function runsOf(versions: VersionEntry[]): Run[] {
  const runs: Run[] = [];
  for (const entry of versions) {
    const last = runs.at(-1);
    const joins =
      last !== undefined &&
      whoOf(last.oldest) === whoOf(entry) &&
      entry.author?.kind !== 'agent' &&
      entry.names.length === 0 &&
      last.oldest.names.length === 0 &&
      Date.parse(last.oldest.createdAt) - Date.parse(entry.createdAt) < RUN_GAP_MS;
    if (last && joins) {
      last.oldest = entry;
      last.count += 1;
    } else runs.push({ newest: entry, oldest: entry, count: 1 });
  }
  return runs;
}

export interface HistoryPanel {
  /** Reloads the list if the panel is showing (called as the document changes). */
  refresh(): void;
}

/** The versions list (newest first), one version's text, and restoring it as a new edit. */
export function createHistoryPanel(options: { api: Api; documentId: string; canWrite: () => boolean; isOpen: () => boolean }): HistoryPanel {
  const { api, documentId } = options;
  const path = `/documents/${encodeURIComponent(documentId)}/versions`;
  const list = byId<HTMLOListElement>('versions');
  const more = byId<HTMLButtonElement>('older-versions');
  const viewer = byId('version-view');
  const message = byId('history-message');
  let loaded: VersionEntry[] = [];
  let nextBefore: number | null = null;
  let loading = false;

  const render = () => {
    list.replaceChildren(
      ...runsOf(loaded).map((run) => {
        const { newest } = run;
        const label = labelOf(newest);
        const kind = newest.author?.kind ?? newest.authorKind;
        const button = h(
          'button',
          { type: 'button', class: 'version', 'aria-label': `View version ${newest.version}, ${label}, ${formatTime(newest.createdAt)}` },
          h('span', { class: `author author-${kind}`, title: newest.author ? `${kind}: ${newest.author.id}` : kind }, label),
          h('span', { class: 'version-number' }, `v${newest.version}`),
          run.count > 1 ? h('span', { class: 'run' }, `${run.count} edits`) : null,
          ...newest.names.map((name) => h('span', { class: 'version-name' }, name)),
          h('time', { datetime: newest.createdAt }, formatTime(newest.createdAt)),
        );
        button.addEventListener('click', () => void view(newest.version));
        return h('li', {}, button);
      }),
    );
    more.hidden = nextBefore === null;
  };

  const load = async (append: boolean) => {
    if (loading) return;
    loading = true;
    try {
      const query = append && nextBefore !== null ? `?before=${nextBefore}` : '';
      const page = (await api<VersionPage>('GET', `${path}${query}`)).body;
      loaded = append ? [...loaded, ...page.versions] : page.versions;
      nextBefore = page.nextBefore;
      message.textContent = loaded.length === 0 ? 'No versions yet.' : '';
      render();
    } catch (error) {
      message.textContent = `Could not load the history: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      loading = false;
    }
  };

  const view = async (version: number) => {
    let content: string;
    try {
      content = (await api<{ content: string }>('GET', `${path}/${version}`)).body.content;
    } catch (error) {
      message.textContent = `Could not read version ${version}: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    const restore = h('button', { type: 'button', class: 'primary' }, 'Restore this version');
    restore.hidden = !options.canWrite();
    const close = h('button', { type: 'button' }, 'Close');
    const status = h('p', { class: 'hint', role: 'status' });
    restore.addEventListener('click', async () => {
      restore.disabled = true;
      try {
        const result = await api<{ version: number }>('POST', `${path}/${version}/restore`);
        // The restore reaches this page (and everyone's) over the socket like any edit.
        status.textContent = `Restored as version ${result.body.version}.`;
        void load(false);
      } catch (error) {
        status.textContent = error instanceof ApiError ? `Not restored: ${error.message}` : String(error);
      } finally {
        restore.disabled = false;
      }
    });
    close.addEventListener('click', () => {
      viewer.hidden = true;
      list.querySelector<HTMLButtonElement>('button')?.focus();
    });
    const heading = h('h3', { tabindex: '-1' }, `Version ${version}`);
    viewer.replaceChildren(heading, h('pre', { class: 'version-text' }, content), h('div', { class: 'actions' }, restore, close), status);
    viewer.hidden = false;
    heading.focus();
  };

  more.addEventListener('click', () => void load(true));

  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    refresh() {
      if (!options.isOpen()) return;
      clearTimeout(timer);
      // Typing makes a version per keystroke: reload once things calm down.
      timer = setTimeout(() => void load(false), 800);
    },
  };
}
