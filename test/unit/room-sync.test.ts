import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as Y from 'yjs';
import type { BusMessage, RoomStorage, UpdateBus } from '../../src/collab/ports.ts';
import { createRoomSync, GAP_GRACE_MS } from '../../src/collab/room-sync.ts';
import { createSeqWindow } from '../../src/collab/seq-window.ts';

describe('createSeqWindow', () => {
  it('moves up through seqs in order and tells duplicates apart', () => {
    const seqs = createSeqWindow(3);
    expect(seqs.see(4)).toBe(true);
    expect(seqs.see(4)).toBe(false);
    expect(seqs.see(2)).toBe(false);
    expect(seqs.known).toBe(4);
    expect(seqs.hasGap).toBe(false);
  });

  it('holds seqs that arrive early until the gap below them closes', () => {
    const seqs = createSeqWindow(0);
    expect(seqs.see(3)).toBe(true);
    expect(seqs.see(2)).toBe(true);
    expect([seqs.known, seqs.hasGap]).toEqual([0, true]);
    expect(seqs.see(3)).toBe(false); // already applied while waiting
    expect(seqs.see(1)).toBe(true);
    expect([seqs.known, seqs.hasGap]).toEqual([3, false]);
  });

  it('after a catch-up from the log, counts seqs that arrived above it too', () => {
    const seqs = createSeqWindow(5);
    seqs.see(7);
    seqs.see(9);
    seqs.caughtUp(6); // the log had 6 when it was read; 7 had already come over the bus
    expect([seqs.known, seqs.hasGap]).toEqual([7, true]);
    seqs.caughtUp(9);
    expect([seqs.known, seqs.hasGap]).toEqual([9, false]);
    seqs.caughtUp(4); // an older read finishing late changes nothing
    expect(seqs.known).toBe(9);
  });
});

/**
 * Another node of the cluster, in memory: it commits to a shared log (gapless seqs per
 * document) and publishes on a bus whose deliveries the test controls: dropped, held back and
 * released in any order, or lost in a reconnect.
 */
function cluster() {
  const log = new Map<string, Uint8Array[]>();
  const handlers = new Map<string, Set<(message: BusMessage) => void>>();
  const reconnectListeners: (() => void)[] = [];
  const held: { documentId: string; message: BusMessage }[] = [];
  let mode: 'deliver' | 'drop' | 'hold' = 'deliver';
  const reads: { documentId: string; after: number }[] = [];

  const deliver = (documentId: string, message: BusMessage) => {
    for (const handler of handlers.get(documentId) ?? []) handler(message);
  };
  const bus: UpdateBus = {
    distributed: true,
    async subscribe(documentId, handler) {
      const set = handlers.get(documentId) ?? new Set();
      set.add(handler);
      handlers.set(documentId, set);
      return async () => void set.delete(handler);
    },
    publish(documentId, message) {
      if (mode === 'deliver') deliver(documentId, message);
      else if (mode === 'hold') held.push({ documentId, message });
    },
    onReconnect: (listener) => void reconnectListeners.push(listener),
  };
  const storage: Pick<RoomStorage, 'loadAfter' | 'heads'> = {
    async loadAfter(documentId, after) {
      reads.push({ documentId, after });
      const updates = log.get(documentId) ?? [];
      return { seq: updates.length, updates: updates.slice(after) };
    },
    async heads(ids) {
      return new Map(ids.filter((id) => log.has(id)).map((id) => [id, log.get(id)!.length]));
    },
  };

  const writer = new Y.Doc();
  let lastLocal = 0;
  /** The other node types `text` at the end and publishes the update at once, as it accepts it. */
  const accept = (documentId: string, text: string) => {
    const before = Y.encodeStateVector(writer);
    writer.getText('content').insert(writer.getText('content').length, text);
    const update = Y.encodeStateAsUpdate(writer, before);
    const local = ++lastLocal;
    let seq = 0;
    bus.publish(documentId, { kind: 'update', origin: 'other-node', local, payload: update });
    return {
      update,
      /** Its commit: in the log, then confirmed on the bus. */
      commit(options: { confirm?: boolean } = {}): void {
        const updates = log.get(documentId) ?? [];
        updates.push(update);
        log.set(documentId, updates);
        seq = updates.length;
        if (options.confirm !== false) this.confirm();
      },
      /** The confirmation of its commit, on the bus. */
      confirm(): void {
        bus.publish(documentId, { kind: 'committed', origin: 'other-node', commits: [{ local, seq }] });
      },
    };
  };
  return {
    bus,
    storage,
    reads,
    held,
    setMode: (next: typeof mode) => void (mode = next),
    accept,
    /** The other node types `text`, publishes it and commits it: two messages, each per the mode. */
    commit(documentId: string, text: string): void {
      accept(documentId, text).commit();
    },
    release(order: number[]): void {
      const messages = held.splice(0);
      for (const index of order) deliver(messages[index]!.documentId, messages[index]!.message);
    },
    reconnect: () => reconnectListeners.forEach((listener) => listener()),
    send: deliver,
  };
}

describe('createRoomSync', () => {
  let world: ReturnType<typeof cluster>;
  let sync: ReturnType<typeof createRoomSync>;
  const logger = pino({ level: 'silent' });

  let adopted: { documentId: string; update: Uint8Array; finish: (error?: Error) => void }[];

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance'] });
    world = cluster();
    adopted = [];
    const adopt = (documentId: string, update: Uint8Array) =>
      new Promise<number>((resolve, reject) => {
        adopted.push({ documentId, update, finish: (error) => (error ? reject(error) : resolve(0)) });
      });
    sync = createRoomSync({ bus: world.bus, storage: world.storage, logger, nodeId: 'this-node', repairIntervalMs: 1000, adopt });
  });
  afterEach(() => {
    sync.close();
    vi.useRealTimers();
  });

  /** A room on this node, opened and loaded from the log as it is now. */
  async function loadRoom(documentId: string) {
    const doc = new Y.Doc();
    const awareness = new awarenessProtocol.Awareness(doc);
    await sync.open(documentId);
    const { seq, updates } = await world.storage.loadAfter(documentId, 0);
    for (const update of updates) Y.applyUpdate(doc, update);
    sync.loaded({ name: documentId, doc, awareness }, seq);
    world.reads.length = 0;
    let applied = 0;
    doc.on('update', () => void (applied += 1));
    return { doc, awareness, text: () => doc.getText('content').toString(), applied: () => applied };
  }

  it('applies what other nodes commit, as it comes', async () => {
    const room = await loadRoom('d');
    world.commit('d', 'a');
    world.commit('d', 'b');
    expect(room.text()).toBe('ab');
    expect(sync.knownSeq('d')).toBe(2);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(world.reads).toEqual([]); // nothing missing, so the log was never read
  });

  it('takes messages in any order without reading the log when the gap closes in time', async () => {
    const room = await loadRoom('d');
    world.setMode('hold');
    for (const letter of 'abcd') world.commit('d', letter);
    // Each letter is two messages, its update and then its commit: one node's messages keep
    // their order, so the updates come out of order among themselves, and the commits after.
    world.release([4, 0, 6, 2, 5, 1, 7, 3]);
    expect(room.text()).toBe('abcd');
    expect(sync.knownSeq('d')).toBe(4);
    await vi.advanceTimersByTimeAsync(GAP_GRACE_MS * 10);
    expect(world.reads).toEqual([]);
  });

  it('shows another node\'s update before its commit, and counts its seq only once the commit is confirmed', async () => {
    const room = await loadRoom('d');
    const accepted = world.accept('d', 'typed elsewhere');
    expect(room.text()).toBe('typed elsewhere');
    expect(sync.knownSeq('d')).toBe(0);
    accepted.commit();
    expect(sync.knownSeq('d')).toBe(1);
  });

  it('changes nothing on a repeated update or commit', async () => {
    const room = await loadRoom('d');
    const accepted = world.accept('d', 'a');
    accepted.commit();
    world.send('d', { kind: 'update', origin: 'other-node', local: 1, payload: accepted.update });
    world.send('d', { kind: 'committed', origin: 'other-node', commits: [{ local: 1, seq: 1 }] });
    expect(room.text()).toBe('a');
    expect(room.applied()).toBe(1);
    await vi.advanceTimersByTimeAsync(GAP_GRACE_MS * 10);
    expect(world.reads).toEqual([]);
    expect(adopted).toEqual([]);
  });

  it('reads the log at once for a commit whose update never came', async () => {
    const room = await loadRoom('d');
    world.setMode('drop');
    const lost = world.accept('d', 'lost on the way');
    world.setMode('deliver');
    lost.commit();
    await vi.advanceTimersByTimeAsync(0);
    expect(world.reads).toEqual([{ documentId: 'd', after: 0 }]);
    expect(room.text()).toBe('lost on the way');
    expect(sync.knownSeq('d')).toBe(1);
  });

  it('reads a seq lost between two delivered ones from the log once the grace period is over', async () => {
    const room = await loadRoom('d');
    world.commit('d', 'a');
    world.setMode('drop');
    world.commit('d', 'b');
    world.setMode('deliver');
    world.commit('d', 'c');
    expect(room.text()).toBe('a'); // 'c' builds on 'b': Yjs holds it back
    expect(room.doc.store.pendingStructs).not.toBeNull();
    await vi.advanceTimersByTimeAsync(GAP_GRACE_MS - 1);
    expect(world.reads).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(world.reads).toEqual([{ documentId: 'd', after: 1 }]);
    expect(room.text()).toBe('abc');
    expect(sync.knownSeq('d')).toBe(3);
  });

  it('reads the log after a bus reconnect, when what was lost left no gap behind', async () => {
    const room = await loadRoom('d');
    world.setMode('drop');
    world.commit('d', 'lost while disconnected');
    world.setMode('deliver');
    world.reconnect();
    await vi.advanceTimersByTimeAsync(0);
    expect(room.text()).toBe('lost while disconnected');
    expect(world.reads).toEqual([{ documentId: 'd', after: 0 }]);
  });

  it('finds the lost last message of a burst by comparing with the log\'s heads', async () => {
    const room = await loadRoom('d');
    world.commit('d', 'a');
    world.setMode('drop');
    world.commit('d', 'b');
    await vi.advanceTimersByTimeAsync(1000);
    // The log is ahead, but a confirmation this recent may still be on its way.
    expect(room.text()).toBe('a');
    await vi.advanceTimersByTimeAsync(GAP_GRACE_MS);
    expect(room.text()).toBe('ab');
    expect(world.reads).toEqual([{ documentId: 'd', after: 1 }]);
  });

  it('reads nothing when the heads check sees a commit whose confirmation arrives within the grace', async () => {
    const room = await loadRoom('d');
    const accepted = world.accept('d', 'x');
    accepted.commit({ confirm: false });
    // The confirmation arrives a moment after the heads check read the log's heads.
    const heads = world.storage.heads;
    world.storage.heads = async (ids) => {
      const result = await heads(ids);
      setTimeout(() => accepted.confirm(), 2);
      return result;
    };
    await vi.advanceTimersByTimeAsync(1000 + GAP_GRACE_MS * 10);
    expect(room.text()).toBe('x');
    expect(world.reads).toEqual([]);
  });

  it('applies what arrived while the room was loading, and ignores its own node\'s messages', async () => {
    const doc = new Y.Doc();
    await sync.open('d');
    world.commit('d', 'during the load');
    world.send('d', { kind: 'update', origin: 'this-node', local: 1, payload: new Uint8Array([1, 2, 3]) });
    world.send('d', { kind: 'committed', origin: 'this-node', commits: [{ local: 1, seq: 2 }] });
    sync.loaded({ name: 'd', doc, awareness: new awarenessProtocol.Awareness(doc) }, 0);
    expect(doc.getText('content').toString()).toBe('during the load');
    expect(sync.knownSeq('d')).toBe(1);
  });

  it('publishes local presence and applies other nodes\' presence without echoing it', async () => {
    const room = await loadRoom('d');
    const published: BusMessage[] = [];
    const unsubscribe = await world.bus.subscribe('d', (message) => void published.push(message));
    room.awareness.setLocalStateField('user', { name: 'Ada' });
    expect(published.map((message) => message.kind)).toEqual(['awareness']);

    const remoteDoc = new Y.Doc();
    const remote = new awarenessProtocol.Awareness(remoteDoc);
    remote.setLocalStateField('user', { name: 'Grace' });
    const payload = awarenessProtocol.encodeAwarenessUpdate(remote, [remoteDoc.clientID]);
    world.send('d', { kind: 'awareness', origin: 'other-node', payload });
    expect(room.awareness.getStates().get(remoteDoc.clientID)).toEqual({ user: { name: 'Grace' } });
    expect(published).toHaveLength(2); // the remote one itself, not an echo of it
    await unsubscribe();
  });

  it('stops applying and publishing once the room is closed', async () => {
    const room = await loadRoom('d');
    await sync.closed('d');
    world.commit('d', 'after');
    world.reconnect();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(room.text()).toBe('');
    expect(world.reads).toEqual([]);
    expect(sync.knownSeq('d')).toBeNull();
  });

  it('keeps a catch-up that failed for the next trigger', async () => {
    const room = await loadRoom('d');
    const loadAfter = world.storage.loadAfter;
    world.storage.loadAfter = async () => {
      throw new Error('database away');
    };
    world.setMode('drop');
    world.commit('d', 'a');
    world.reconnect();
    await vi.advanceTimersByTimeAsync(0);
    expect(room.text()).toBe('');
    world.storage.loadAfter = loadAfter;
    await vi.advanceTimersByTimeAsync(1000 + GAP_GRACE_MS); // the heads check, and its grace
    expect(room.text()).toBe('a');
  });

  it('tries a gap again soon when reading the log for it failed', async () => {
    const room = await loadRoom('d');
    const loadAfter = world.storage.loadAfter;
    let failures = 1;
    world.storage.loadAfter = async (...args) => {
      if (failures-- > 0) throw new Error('database away');
      return loadAfter(...args);
    };
    world.setMode('drop');
    world.commit('d', 'a');
    world.setMode('deliver');
    world.commit('d', 'b');
    await vi.advanceTimersByTimeAsync(GAP_GRACE_MS);
    expect(room.text()).toBe('');
    await vi.advanceTimersByTimeAsync(GAP_GRACE_MS); // well before the heads check
    expect(room.text()).toBe('ab');
  });
  describe('what this node acknowledges after another node\'s update', () => {
    /** Whether the promise has settled by now, and how. */
    const state = async (promise: Promise<void>) => {
      let outcome = 'pending';
      promise.then(
        () => void (outcome = 'resolved'),
        () => void (outcome = 'rejected'),
      );
      await vi.advanceTimersByTimeAsync(0);
      return outcome;
    };

    it('waits for that node\'s commit to be confirmed', async () => {
      await loadRoom('d');
      const accepted = world.accept('d', 'x');
      const settled = sync.settled('d');
      expect(await state(settled)).toBe('pending');
      expect(await state(sync.settled('other-document'))).toBe('resolved');
      accepted.commit();
      expect(await state(settled)).toBe('resolved');
      expect(await state(sync.settled('d'))).toBe('resolved');
    });

    it('is settled by a read of the log that finds the update when its confirmation was lost', async () => {
      await loadRoom('d');
      const accepted = world.accept('d', 'x');
      const settled = sync.settled('d');
      accepted.commit({ confirm: false });
      await vi.advanceTimersByTimeAsync(1_000 + GAP_GRACE_MS); // the heads check sees the log ahead and reads it
      expect(world.reads).toEqual([{ documentId: 'd', after: 0 }]);
      expect(await state(settled)).toBe('resolved');
      await vi.advanceTimersByTimeAsync(5_000);
      expect(adopted).toEqual([]);
    });

    it('adopts an update no commit confirms within two repair intervals, and waits for that commit', async () => {
      const room = await loadRoom('d');
      const orphan = world.accept('d', 'from a node that died before committing');
      const settled = sync.settled('d');
      await vi.advanceTimersByTimeAsync(2_000);
      expect(adopted).toEqual([]); // a live node's commit may lag this long, not longer
      await vi.advanceTimersByTimeAsync(1_000);
      expect(adopted.map(({ documentId, update }) => [documentId, update])).toEqual([['d', orphan.update]]);
      expect(await state(settled)).toBe('pending');
      adopted[0]!.finish();
      expect(await state(settled)).toBe('resolved');
      await vi.advanceTimersByTimeAsync(5_000);
      expect(adopted).toHaveLength(1); // adopted once
      expect(room.text()).toBe('from a node that died before committing');
    });

    it('rejects when the adoption fails, so that nothing built on it is acknowledged', async () => {
      await loadRoom('d');
      world.accept('d', 'x');
      const settled = sync.settled('d');
      await vi.advanceTimersByTimeAsync(3_000);
      adopted[0]!.finish(new Error('document deleted'));
      expect(await state(settled)).toBe('rejected');
      expect(await state(sync.settled('d'))).toBe('resolved');
    });

    it('adopts what is still unconfirmed when the room closes', async () => {
      await loadRoom('d');
      const orphan = world.accept('d', 'x');
      await sync.closed('d');
      expect(adopted.map(({ update }) => update)).toEqual([orphan.update]);
    });
  });

  it('publishes this node\'s updates as they are accepted, and the commits of one turn in one message per document', async () => {
    await loadRoom('d');
    const published: BusMessage[] = [];
    for (const id of ['d', 'e']) await world.bus.subscribe(id, (message) => void published.push(message));
    const update = new Uint8Array([1, 2, 3]);
    const first = sync.accepted('d', update);
    const second = sync.accepted('d', update);
    const third = sync.accepted('e', update);
    expect(published).toEqual([
      { kind: 'update', origin: 'this-node', local: first, payload: update },
      { kind: 'update', origin: 'this-node', local: second, payload: update },
      { kind: 'update', origin: 'this-node', local: third, payload: update },
    ]);
    published.length = 0;
    sync.committed('d', first, 1);
    sync.committed('d', second, 2);
    sync.committed('e', third, 1);
    expect(published).toEqual([]);
    await Promise.resolve();
    expect(published).toEqual([
      { kind: 'committed', origin: 'this-node', commits: [{ local: first, seq: 1 }, { local: second, seq: 2 }] },
      { kind: 'committed', origin: 'this-node', commits: [{ local: third, seq: 1 }] },
    ]);
    expect(sync.knownSeq('d')).toBe(2);
  });
});
