import './styles.css';
import { ApiError, createApi } from './api.ts';
import { byId } from './dom.ts';
import { chooseName, displayName, personFor } from './identity.ts';
import { keyFromFragment } from './links.ts';
import { currentSession, sessionToken } from './session.ts';
import { watchAgentEdits } from './editor/agent-edits.ts';
import { type BlameView, blameTints, createBlameView } from './editor/blame-view.ts';
import { createEditor } from './editor/codemirror.ts';
import { keepColoursSafe } from './editor/colours.ts';
import { connect } from './editor/connection.ts';
import { createHistoryPanel } from './editor/history-panel.ts';
import { setUpPanels } from './editor/panels.ts';
import { announceSelf, reannounceOnReconnect, showPeople } from './editor/presence.ts';
import { attachPreview } from './editor/preview.ts';
import { trackSaving } from './editor/save-status.ts';
import { createSharePanel } from './editor/share-panel.ts';
import { createSuggestionsPanel } from './editor/suggestions-panel.ts';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { EditorView } from '@codemirror/view';

/**
 * The editor page, /d/:id. Its access is the `#key=` of its link (a document key, which the
 * browser never sends anywhere by itself), else the signed-in session.
 */
async function main(): Promise<void> {
  const documentId = decodeURIComponent(location.pathname.replace(/^\/d\//, ''));
  const key = keyFromFragment();
  const api = createApi(async () => key ?? (await sessionToken()));
  const status = byId('save-status');

  type Meta = { title: string; format: string };
  const meta = await api<Meta>('GET', `/documents/${encodeURIComponent(documentId)}`).then(
    (answer): Meta | Error => answer.body,
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  const found = meta instanceof Error ? null : meta;
  const title = found ? found.title : meta;
  if (title instanceof ApiError && (title.status === 401 || title.status === 403)) {
    status.dataset.state = 'denied';
    status.textContent = key ? 'This link does not open this document (wrong, or replaced by new links).' : 'Sign in, or open the document with its link.';
    return;
  }
  // 404: a new id, which the socket creates if this credential may create documents.
  const shownTitle = typeof title === 'string' && title ? title : documentId;
  byId('doc-title').textContent = shownTitle;
  document.title = `${shownTitle} · Tandem`;

  // Tiptap is loaded only for rich text, so that a markdown document's page stays as small as
  // it was; before connecting, since nothing may wait between connecting and listening for
  // what the server grants (the answer would be missed, and the editor stay read-only).
  // Rich text opens in Tiptap, markdown in CodeMirror (a new id is a markdown document).
  const tiptap = found?.format === 'prosemirror' ? await import('./editor/tiptap.ts') : null;
  const connection = connect(documentId, api, key !== null || currentSession() !== null);
  const { provider, doc, text } = connection;
  const awareness = provider.awareness!;
  // Before anything that draws other people's states (the editor's carets above all).
  keepColoursSafe(awareness);

  const nameInput = byId<HTMLInputElement>('your-name');
  const blameOf = (view?: EditorView) =>
    createBlameView({ api, documentId, view, legend: byId('blame-legend'), panelText: byId('blame-text') });
  let blame: BlameView;
  let editor: { setWritable(writable: boolean): void };
  if (tiptap) {
    editor = tiptap.createRichEditor(byId('editor'), doc, provider, personFor(awareness.clientID, displayName()));
    blame = blameOf();
  } else {
    ({ editor, blame } = markdownEditor(text, awareness, provider, blameOf));
  }
  const blameToggle = byId<HTMLInputElement>('blame-toggle');
  blameToggle.addEventListener('change', () => void blame.show(blameToggle.checked));
  doc.on('update', () => blame.changed());
  if (tiptap) byId('preview').textContent = 'A rich-text document: the editor shows it as it reads. Agents read and write it as markdown.';
  nameInput.value = displayName();
  announceSelf(awareness, nameInput.value);
  nameInput.addEventListener('change', () => {
    chooseName(nameInput.value);
    nameInput.value = displayName();
    announceSelf(awareness, nameInput.value);
  });
  showPeople(awareness, byId('people'));
  reannounceOnReconnect(provider, awareness);

  const saving = trackSaving(provider, doc, status);

  let writable = false;
  const share = createSharePanel({ api, documentId, signedIn: currentSession() !== null });
  const panels = setUpPanels(byId('panel-tabs'), (panelId) => {
    if (panelId === 'history-panel') history.refresh();
    if (panelId === 'suggestions-panel') suggestions.refresh();
  });
  const history = createHistoryPanel({ api, documentId, canWrite: () => writable, isOpen: () => panels.current() === 'history-panel' });
  const suggestions = createSuggestionsPanel({ api, documentId, canWrite: () => writable, isOpen: () => panels.current() === 'suggestions-panel' });
  doc.on('update', () => {
    history.refresh();
    suggestions.refresh();
  });

  connection.onAccess((access, reason) => {
    writable = access === 'write';
    editor.setWritable(writable);
    byId('access-badge').hidden = access !== 'read';
    saving.setAccess(access, access === 'denied' ? refusalMessage(reason, key !== null) : undefined);
    if (key && (access === 'read' || access === 'write')) share.learnKey(access, key);
  });
}

/** CodeMirror on the Y.Text, with agents' edits marked as they arrive, authors' tints on demand, and the rendered preview beside it. */
function markdownEditor(
  text: Y.Text,
  awareness: Awareness,
  provider: HocuspocusProvider,
  blameOf: (view: EditorView) => BlameView,
): { editor: { setWritable(writable: boolean): void }; blame: BlameView } {
  const activity = byId('activity');
  const agents = watchAgentEdits(text, awareness, () => provider.isSynced, (message) => {
    activity.textContent = `${message} · ${new Date().toLocaleTimeString()}`;
  });
  const editor = createEditor(byId('editor'), text, awareness, [agents.extension, blameTints]);
  const blame = blameOf(editor.view);
  agents.attach(editor.view);
  attachPreview(text, byId('preview'));
  return { editor, blame };
}

/**
 * What to tell a person whose socket was refused (the reason is Tandem's error code). Their
 * page still shows what they typed; nothing more of it can be stored.
 */
function refusalMessage(reason: string | undefined, withLink: boolean): string {
  switch (reason) {
    case 'UNAUTHORIZED':
    case 'FORBIDDEN':
      if (withLink) return 'This link was replaced or revoked; ask for the new one. Nothing typed here is stored any more.';
      return reason === 'UNAUTHORIZED' ? 'Your session ended; sign in again to keep editing.' : 'You no longer have access to this document.';
    case 'DOC_NOT_FOUND':
      // Also what a document the credential may not see answers: its existence is not told.
      return 'This document was deleted, or it is not shared with you.';
    default:
      return `No access to this document${reason ? ` (${reason})` : ''}`;
  }
}

main().catch((error: unknown) => {
  const status = document.getElementById('save-status');
  if (status) {
    status.dataset.state = 'denied';
    status.textContent = `The editor failed to start: ${error instanceof Error ? error.message : String(error)}`;
  }
  throw error;
});
