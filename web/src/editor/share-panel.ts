import { type Api, ApiError } from '../api.ts';
import { byId, copyText, h } from '../dom.ts';
import { type DocumentKeys, editorLink, knownKeys, rememberKeys } from '../links.ts';

export interface SharePanel {
  /** The page's own `#key=` turned out to be this document's read or write key. */
  learnKey(kind: 'read' | 'write', key: string): void;
}

/**
 * The document's links: the write link edits, the read link watches. Tandem stores keys only
 * as hashes, so this shows the links this browser has seen; a signed-in admin can make new
 * ones (the old stop working) and share with a person by email instead.
 */
export function createSharePanel(options: { api: Api; documentId: string; signedIn: boolean }): SharePanel {
  const { api, documentId } = options;
  const links = byId('share-links');
  const message = byId('share-message');
  let keys: DocumentKeys = knownKeys(documentId);

  const linkRow = (label: string, id: string, key: string | undefined, hint: string) => {
    if (!key) return h('p', { class: 'hint' }, `${label}: not known in this browser. ${hint}`);
    const input = h('input', { id, type: 'text', readonly: true, value: editorLink(documentId, key) });
    const copy = h('button', { type: 'button' }, 'Copy');
    const copied = h('span', { class: 'hint', role: 'status' });
    copy.addEventListener('click', async () => {
      copied.textContent = (await copyText(input)) ? 'Copied.' : 'Selected: press Ctrl+C (or ⌘C) to copy.';
    });
    return h('div', { class: 'link-row' }, h('label', { for: id }, label), h('div', { class: 'field-row' }, input, copy), copied);
  };

  const render = () => {
    const askOwner = options.signedIn ? 'Make new links below to get one.' : 'Ask whoever created the document.';
    links.replaceChildren(
      linkRow('Write link (anyone with it can edit)', 'write-link', keys.writeKey, askOwner),
      linkRow('Read link (anyone with it can watch)', 'read-link', keys.readKey, askOwner),
    );
  };

  if (options.signedIn) {
    byId('share-admin').hidden = false;
    byId('rotate-keys').addEventListener('click', async () => {
      if (!confirm('Make new links? The current read and write links stop working, for everyone.')) return;
      try {
        const answer = await api<{ readKey: string; writeKey: string }>('POST', `/documents/${encodeURIComponent(documentId)}/keys`);
        keys = rememberKeys(documentId, answer.body);
        message.textContent = 'New links made; the old ones no longer work.';
        render();
      } catch (error) {
        message.textContent = error instanceof ApiError ? `No new links: ${error.message}` : String(error);
      }
    });
    byId<HTMLFormElement>('share-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const email = byId<HTMLInputElement>('share-email').value.trim();
      const permission = byId<HTMLSelectElement>('share-permission').value;
      try {
        const answer = await api('PUT', `/documents/${encodeURIComponent(documentId)}/shares`, { json: { email, permission } });
        const level = permission === 'write' ? 'can edit' : 'can read';
        // 202: no verified account has this address yet; the share waits until one does.
        message.textContent =
          answer.status === 202
            ? `Invited ${email} (${level}): the share takes effect once they have verified this address.`
            : `Shared with ${email} (${level}).`;
      } catch (error) {
        message.textContent = error instanceof ApiError ? `Not shared: ${error.message}` : String(error);
      }
    });
  }

  render();
  return {
    learnKey(kind, key) {
      keys = rememberKeys(documentId, kind === 'write' ? { writeKey: key } : { readKey: key });
      render();
    },
  };
}
