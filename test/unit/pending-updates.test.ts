import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { pendingStoreOf } from '../../src/collab/hocuspocus-adapter.ts';
import { createPendingGuard, isIntegrated, PendingDroppedError } from '../../src/collab/pending-updates.ts';

/** Two updates of one client, the second building on the first. */
function dependentUpdates(size = 5): { first: Uint8Array; second: Uint8Array } {
  const author = new Y.Doc();
  const text = author.getText('content');
  text.insert(0, 'a'.repeat(size));
  const before = Y.encodeStateVector(author);
  const first = Y.encodeStateAsUpdate(author);
  text.insert(size, 'b'.repeat(size));
  return { first, second: Y.encodeStateAsUpdate(author, before) };
}

const settled = async (promise: Promise<unknown>) => {
  let state = 'pending';
  promise.then(
    () => (state = 'resolved'),
    () => (state = 'rejected'),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return state;
};

describe('createPendingGuard', () => {
  it('asks the client for what is missing once per new pending state, not on every message', () => {
    const doc = new Y.Doc();
    const guard = createPendingGuard(pendingStoreOf(doc), 1_000_000);
    expect(guard.afterMessage()).toBe('none');
    const { second } = dependentUpdates();
    Y.applyUpdate(doc, second);
    expect(guard.waiting()).toBe(true);
    // Another client's message handled meanwhile (no update in it) does not take the question.
    expect(guard.afterMessage(false)).toBe('none');
    expect(guard.afterMessage()).toBe('ask-for-missing');
    expect(guard.afterMessage()).toBe('none');
    expect(doc.getText('content').toString()).toBe('');
  });

  it('lets whoever waits go on once the missing dependency arrives, from any source', async () => {
    const doc = new Y.Doc();
    const guard = createPendingGuard(pendingStoreOf(doc), 1_000_000);
    doc.on('afterTransaction', () => guard.afterTransaction());
    const { first, second } = dependentUpdates();
    Y.applyUpdate(doc, second);
    const integrated = guard.whenIntegrated();
    expect(await settled(integrated)).toBe('pending');
    Y.applyUpdate(doc, first); // e.g. from another node over the bus: no client message follows
    expect(await settled(integrated)).toBe('resolved');
    expect(doc.getText('content').toString()).toBe('aaaaabbbbb');
    expect(guard.waiting()).toBe(false);
  });

  it('resolves at once when nothing waits', async () => {
    const guard = createPendingGuard(pendingStoreOf(new Y.Doc()), 10);
    expect(await settled(guard.whenIntegrated())).toBe('resolved');
  });

  it('drops what waits past the cap and tells the waiters it will never integrate', async () => {
    const doc = new Y.Doc();
    const guard = createPendingGuard(pendingStoreOf(doc), 100);
    const { first, second } = dependentUpdates(500);
    Y.applyUpdate(doc, second);
    const integrated = guard.whenIntegrated();
    expect(guard.afterMessage()).toBe('dropped');
    await expect(integrated).rejects.toBeInstanceOf(PendingDroppedError);
    expect(guard.waiting()).toBe(false);
    // Dropped for good: the dependency arriving later brings only itself.
    Y.applyUpdate(doc, first);
    expect(doc.getText('content').toString()).toBe('a'.repeat(500));
  });

  it('rejects the waiters when the document unloads', async () => {
    const doc = new Y.Doc();
    const guard = createPendingGuard(pendingStoreOf(doc), 1_000_000);
    Y.applyUpdate(doc, dependentUpdates().second);
    const integrated = guard.whenIntegrated();
    guard.close();
    await expect(integrated).rejects.toBeInstanceOf(PendingDroppedError);
  });
});

describe('an acknowledgement waits for its own update, not for everyone\'s', () => {
  it('isIntegrated: structs and deletions in the document, or not (yet)', () => {
    const doc = new Y.Doc();
    const { first, second } = dependentUpdates();
    expect(isIntegrated(doc, first)).toBe(false);
    Y.applyUpdate(doc, second);
    expect(isIntegrated(doc, second)).toBe(false); // waits for `first`
    Y.applyUpdate(doc, first);
    expect([isIntegrated(doc, first), isIntegrated(doc, second)]).toEqual([true, true]);

    // A deletion of items the document lacks waits too.
    const author = new Y.Doc();
    Y.applyUpdate(author, first);
    Y.applyUpdate(author, second);
    const before = Y.encodeStateVector(author);
    author.getText('content').delete(0, 3);
    const deletion = Y.encodeStateAsUpdate(author, before);
    const fresh = new Y.Doc();
    Y.applyUpdate(fresh, deletion);
    expect(isIntegrated(fresh, deletion)).toBe(false);
    Y.applyUpdate(doc, deletion);
    expect(isIntegrated(doc, deletion)).toBe(true);
  });

  it("resolves a waiter whose update is in while another client's orphan still waits", async () => {
    const doc = new Y.Doc();
    const guard = createPendingGuard(pendingStoreOf(doc), 1_000_000);
    const orphan = dependentUpdates().second;
    Y.applyUpdate(doc, orphan);
    guard.afterMessage();
    expect(guard.waiting()).toBe(true);

    const other = new Y.Doc();
    other.getText('content').insert(0, 'mine');
    const mine = Y.encodeStateAsUpdate(other);
    Y.applyUpdate(doc, mine);
    const ack = guard.whenIntegrated(() => isIntegrated(doc, mine));
    expect(await settled(ack)).toBe('resolved');
    // Without its own update to go by, a waiter still waits for everything.
    const whole = guard.whenIntegrated();
    guard.afterTransaction();
    expect(await settled(whole)).toBe('pending');
  });
});
