import './styles.css';
import { type Api, ApiError, createApi } from './api.ts';
import { byId, formatTime, h } from './dom.ts';
import { editorLink, rememberKeys } from './links.ts';
import { currentSession, register, sessionToken, signIn, signOut } from './session.ts';

interface DocumentMeta {
  id: string;
  title: string;
  updatedAt: string;
}

interface Me {
  workspaces: { id: string; name: string; role: string }[];
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A pasted editor link goes where it points (key included); anything else is an id. */
function openTarget(input: string): string {
  const value = input.trim();
  try {
    const url = new URL(value);
    if (url.origin === location.origin && url.pathname.startsWith('/d/')) return `${url.pathname}${url.hash}`;
  } catch {
    // Not a URL: a document id.
  }
  return `/d/${encodeURIComponent(value)}`;
}

function setUpOpen(): void {
  byId<HTMLFormElement>('open-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = byId<HTMLInputElement>('open-input').value;
    if (value.trim()) location.assign(openTarget(value));
  });
}

function setUpCreate(api: Api): void {
  const message = byId('create-message');
  byId<HTMLFormElement>('create-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const title = byId<HTMLInputElement>('new-title').value.trim();
    const workspaceId = byId<HTMLSelectElement>('new-workspace').value || undefined;
    const format = byId<HTMLSelectElement>('new-format').value;
    try {
      const created = await api<{ id: string; readKey: string | null; writeKey: string | null }>('POST', '/documents', {
        json: { ...(title ? { title } : {}), ...(workspaceId ? { workspaceId } : {}), format, content: title ? `# ${title}\n\n` : '' },
      });
      const { id, readKey, writeKey } = created.body;
      rememberKeys(id, { readKey: readKey ?? undefined, writeKey: writeKey ?? undefined });
      location.assign(editorLink(id, writeKey ?? undefined));
    } catch (error) {
      message.textContent =
        error instanceof ApiError && error.status === 401 ? 'Sign in (below) to create documents.' : `Not created: ${errorText(error)}`;
    }
  });
}

async function listDocuments(api: Api): Promise<void> {
  const list = byId('documents');
  const more = byId<HTMLButtonElement>('more-documents');
  const message = byId('documents-message');
  let cursor: string | null = null;
  const load = async () => {
    try {
      const query: string = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
      const page = (await api<{ documents: DocumentMeta[]; nextCursor: string | null }>('GET', `/documents${query}`)).body;
      list.append(
        ...page.documents.map((doc) =>
          h('li', {}, h('a', { href: editorLink(doc.id) }, doc.title || doc.id), ' ', h('span', { class: 'hint' }, `changed ${formatTime(doc.updatedAt)}`)),
        ),
      );
      if (list.childElementCount === 0) message.textContent = 'No documents yet.';
      cursor = page.nextCursor;
      more.hidden = cursor === null;
    } catch (error) {
      message.textContent = error instanceof ApiError && error.status === 401 ? 'Sign in to see your documents.' : `Could not list documents: ${errorText(error)}`;
    }
  };
  more.addEventListener('click', () => void load());
  await load();
}

async function showWorkspaces(api: Api): Promise<void> {
  const me = (await api<Me>('GET', '/me')).body;
  const select = byId<HTMLSelectElement>('new-workspace');
  const usable = me.workspaces.filter((workspace) => workspace.role !== 'guest');
  select.replaceChildren(...usable.map((workspace) => h('option', { value: workspace.id }, workspace.name)));
  // Most people have just their own workspace: no choice to show then.
  byId('workspace-field').hidden = usable.length < 2;
}

function setUpAccount(): void {
  const session = currentSession();
  byId('account-section').hidden = session !== null;
  byId('signed-in').hidden = session === null;
  if (session) byId('signed-in-as').textContent = session.user.name || session.user.email;
  byId('sign-out').addEventListener('click', async () => {
    await signOut();
    location.reload();
  });

  const form = byId<HTMLFormElement>('account-form');
  const message = byId('account-message');
  const submit = async (action: 'sign-in' | 'register') => {
    const email = byId<HTMLInputElement>('email').value.trim();
    const password = byId<HTMLInputElement>('password').value;
    const name = byId<HTMLInputElement>('name').value.trim();
    try {
      if (action === 'sign-in') await signIn(email, password);
      else await register(email, password, name);
      location.reload();
    } catch (error) {
      message.textContent = errorText(error);
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
    void submit(submitter?.value === 'register' ? 'register' : 'sign-in');
  });
}

async function main(): Promise<void> {
  const api = createApi(sessionToken);
  setUpAccount();
  setUpOpen();
  setUpCreate(api);
  // Without /me the form still works: documents then go to the account's own workspace.
  if (currentSession()) await showWorkspaces(api).catch((error: unknown) => console.warn('workspaces:', error));
  await listDocuments(api);
}

void main();
