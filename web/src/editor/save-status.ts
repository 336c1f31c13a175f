import type { HocuspocusProvider } from '@hocuspocus/provider';
import type * as Y from 'yjs';
import type { Access } from './connection.ts';

export type SaveState = 'connecting' | 'offline' | 'syncing' | 'saved' | 'denied';

export interface SaveStatus {
  /** What the server granted at the last (re)connection; a refusal is shown until a grant. */
  setAccess(access: Access, reason?: string): void;
}

/**
 * What the indicator claims, and why it may:
 * - offline: the socket is closed (edits stay in this page and go out on reconnection);
 * - syncing: not yet synced, or the server has not acknowledged every local change;
 * - saved: synced, and every local change acknowledged. Tandem acknowledges an update (the
 *   provider's unsyncedChanges) only once it is committed to the op log, so nothing counted
 *   as saved lives only in the server's memory.
 */
export function trackSaving(provider: HocuspocusProvider, doc: Y.Doc, element: HTMLElement): SaveStatus {
  let state: SaveState = 'connecting';
  let readOnly = false;
  let online = false;

  const labels: Record<SaveState, () => string> = {
    connecting: () => 'Connecting…',
    offline: () =>
      provider.unsyncedChanges > 0 ? 'Offline: your changes are kept here until the connection returns' : 'Offline: reconnecting…',
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

  const update = () => {
    if (!online) return show(state === 'connecting' ? 'connecting' : 'offline');
    show(provider.isSynced && provider.unsyncedChanges === 0 ? 'saved' : 'syncing');
  };

  doc.on('update', (_update: Uint8Array, origin: unknown) => {
    if (origin === provider) return; // from the server: not ours to store
    update();
  });
  provider.on('status', ({ status }: { status: string }) => {
    online = status === 'connected';
    update();
  });
  provider.on('synced', update);
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
