import type { HocuspocusProvider } from '@hocuspocus/provider';
import type * as Y from 'yjs';
import type { Access } from './connection.ts';

export type SaveState = 'connecting' | 'offline' | 'syncing' | 'saved' | 'denied';

/** Settle this long after the last change before asking whether everything is stored. */
const QUIET_MS = 300;
/** Between attempts when the durability check itself fails. */
const RETRY_MS = 2_000;

export interface SaveStatus {
  /** What the server granted at the last (re)connection; a refusal is shown until a grant. */
  setAccess(access: Access, reason?: string): void;
}

/**
 * What the indicator claims, and why it may:
 * - offline: the socket is closed (edits stay in this page and go out on reconnection);
 * - syncing: not yet synced, or the server has not acknowledged every local change
 *   (the provider's unsyncedChanges: the server acks each update once its room applied it);
 * - saved: everything acknowledged, and then a REST read of the document answered. A read
 *   waits until every update the node has accepted is committed to the op log, so once it
 *   answers, no acknowledged change of ours is only in memory. Any local change since the
 *   read started makes it count for nothing.
 */
export function trackSaving(
  provider: HocuspocusProvider,
  doc: Y.Doc,
  element: HTMLElement,
  checkDurable: () => Promise<void>,
): SaveStatus {
  let state: SaveState = 'connecting';
  let readOnly = false;
  let online = false;
  let localChanges = 0;
  let storedUpTo = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let checking = false;

  const labels: Record<SaveState, () => string> = {
    connecting: () => 'Connecting…',
    offline: () => (localChanges > storedUpTo ? 'Offline: your changes are kept here until the connection returns' : 'Offline: reconnecting…'),
    syncing: () => (readOnly ? 'Syncing…' : 'Saving…'),
    saved: () => (readOnly ? 'Up to date' : 'All changes stored'),
    denied: () => element.dataset.reason ?? 'No access',
  };

  const show = (next: SaveState) => {
    if (state === 'denied' && next !== 'denied') return;
    state = next;
    element.dataset.state = next;
    element.textContent = labels[next]();
  };

  const settled = () => online && provider.isSynced && provider.unsyncedChanges === 0;

  const check = async () => {
    timer = undefined;
    if (checking || !settled()) return;
    checking = true;
    const upTo = localChanges;
    try {
      await checkDurable();
      if (localChanges === upTo && settled()) {
        storedUpTo = upTo;
        show('saved');
      }
    } catch {
      timer = setTimeout(() => void check(), RETRY_MS);
    } finally {
      checking = false;
      if (state !== 'saved' && settled() && timer === undefined) schedule();
    }
  };

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void check(), QUIET_MS);
  };

  const update = () => {
    if (!online) return show(state === 'connecting' ? 'connecting' : 'offline');
    if (settled() && localChanges <= storedUpTo) return show('saved');
    show('syncing');
    if (settled()) schedule();
  };

  doc.on('update', (_update: Uint8Array, origin: unknown) => {
    if (origin === provider) return; // from the server: not ours to store
    localChanges += 1;
    update();
  });
  provider.on('status', ({ status }: { status: string }) => {
    const wasOnline = online;
    online = status === 'connected';
    if (wasOnline && !online) show('offline');
    update();
  });
  provider.on('synced', () => {
    // A reconnection: whatever we knew to be stored, the server is new; ask again.
    storedUpTo = -1;
    update();
  });
  provider.on('unsyncedChanges', update);
  update();

  return {
    setAccess(access, reason) {
      if (access === 'pending') return;
      if (access === 'denied') {
        element.dataset.reason = reason ?? 'No access';
        show('denied');
        return;
      }
      readOnly = access === 'read';
      if (state === 'denied') state = 'syncing';
      update();
    },
  };
}
