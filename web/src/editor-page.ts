import './styles.css';
import { ApiError, createApi } from './api.ts';
import { byId } from './dom.ts';
import { chooseName, displayName } from './identity.ts';
import { keyFromFragment } from './links.ts';
import { currentSession, sessionToken } from './session.ts';
import { watchAgentEdits } from './editor/agent-edits.ts';
import { createEditor } from './editor/codemirror.ts';
import { keepColoursSafe } from './editor/colours.ts';
import { connect } from './editor/connection.ts';
import { createHistoryPanel } from './editor/history-panel.ts';
import { setUpPanels } from './editor/panels.ts';
import { announceSelf, reannounceOnReconnect, showPeople } from './editor/presence.ts';
import { attachPreview } from './editor/preview.ts';
import { trackSaving } from './editor/save-status.ts';
import { createSharePanel } from './editor/share-panel.ts';

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
  if (found?.format === 'prosemirror') {
    // CodeMirror edits the markdown documents' Y.Text: typing there would go where no one reads it.
    status.dataset.state = 'denied';
    status.textContent = 'This is a rich-text document: this page cannot edit rich text yet. Tiptap clients and agents (REST, MCP) can.';
    byId('doc-title').textContent = found.title || documentId;
    return;
  }
  // 404: a new id, which the socket creates if this credential may create documents.
  const shownTitle = typeof title === 'string' && title ? title : documentId;
  byId('doc-title').textContent = shownTitle;
  document.title = `${shownTitle} · Tandem`;

  const connection = connect(documentId, api, key !== null || currentSession() !== null);
  const { provider, doc, text } = connection;
  const awareness = provider.awareness!;
  // Before anything that draws other people's states (the editor's carets above all).
  keepColoursSafe(awareness);

  const activity = byId('activity');
  const agents = watchAgentEdits(text, awareness, () => provider.isSynced, (message) => {
    activity.textContent = `${message} · ${new Date().toLocaleTimeString()}`;
  });
  const editor = createEditor(byId('editor'), text, awareness, [agents.extension]);
  agents.attach(editor.view);
  attachPreview(text, byId('preview'));

  const nameInput = byId<HTMLInputElement>('your-name');
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
  });
  const history = createHistoryPanel({ api, documentId, canWrite: () => writable, isOpen: () => panels.current() === 'history-panel' });
  text.observe(() => history.refresh());

  connection.onAccess((access, reason) => {
    writable = access === 'write';
    editor.setWritable(writable);
    byId('access-badge').hidden = access !== 'read';
    saving.setAccess(access, access === 'denied' ? refusalMessage(reason, key !== null) : undefined);
    if (key && (access === 'read' || access === 'write')) share.learnKey(access, key);
  });
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
