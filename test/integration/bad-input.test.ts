import * as encoding from 'lib0/encoding';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { docFrom, inspectPGlite, inspectPostgres, type StoreInspector, updateHasStruct, updateShape } from '../helpers/db-inspect.ts';
import { removeDir, startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import {
  addressed,
  authMessage,
  body,
  isAuthenticated,
  isYWebsocketSync,
  openRawSocket,
  pseudoRandomBytes,
  type RawSocket,
  SYNC_STEP1,
} from '../helpers/raw-socket.ts';

/**
 * failure-modes.md, "Decoding and protocol" and the failed-load case of "Lifecycle": whatever a
 * socket sends, the process stays up, other documents are untouched, the socket closes with
 * the fixed code and the error code as reason, and the stored log is exactly what was accepted.
 */

const MALFORMED = { code: 4400, reason: 'MALFORMED_MESSAGE' };
const INVALID_ID = { code: 4400, reason: 'INVALID_DOCUMENT_ID' };
const TOO_LARGE = { code: 4413, reason: 'MESSAGE_TOO_LARGE' };
const UNAVAILABLE = { code: 1011, reason: 'DOCUMENT_UNAVAILABLE' };

const bytes = (...values: number[]) => new Uint8Array(values);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};
const syncWithSubType = (subType: number, payload: Uint8Array) => {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarUint(encoder, subType);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
};

/** A real update of one inserted word, for frames that are valid except for one thing. */
function realUpdate(): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('content').insert(0, 'valid');
  return Y.encodeStateAsUpdate(doc);
}

/** Raw socket on /ws/:id that is open (the upgrade went through). */
async function openYWebsocket(node: TestNode, documentId: string): Promise<RawSocket> {
  const socket = openRawSocket(node.wsUrl, `/ws/${documentId}`);
  await socket.opened;
  return socket;
}

/** Raw socket on /collab, authenticated for `documentId`. */
async function openCollab(node: TestNode, documentId: string): Promise<RawSocket> {
  const socket = openRawSocket(node.wsUrl, '/collab');
  await socket.opened;
  socket.send(authMessage(documentId, 'anonymous'));
  await socket.waitForMessage(isAuthenticated(documentId), `authentication of ${documentId}`);
  return socket;
}

/**
 * A transaction that inserts text and deletes existing text, cut short by `cut` bytes: its
 * structs still decode, its delete set does not. Yjs integrates the structs before it throws
 * on the delete set, so a server that applies it directly is left half-changed.
 */
function truncatedInsertAndDelete(base: Y.Doc, cut: number) {
  const attacker = new Y.Doc();
  Y.applyUpdate(attacker, Y.encodeStateAsUpdate(base));
  const updates: Uint8Array[] = [];
  attacker.on('update', (update: Uint8Array) => updates.push(update));
  const text = attacker.getText('content');
  const world = text.toString().indexOf('world');
  attacker.transact(() => {
    text.delete(world, 'world'.length);
    text.insert(0, 'XYZ ');
  });
  expect(updates).toHaveLength(1);
  const update = updates[0]!;
  const decoded = Y.decodeUpdate(update);
  expect(decoded.structs.length).toBeGreaterThan(0);
  expect(decoded.ds.clients.size).toBeGreaterThan(0);
  const truncated = update.slice(0, update.length - cut);

  // The hazard is real for this input: a plain Y.Doc keeps the insertion and loses the deletion.
  const scratch = docFrom([Y.encodeStateAsUpdate(base)]);
  expect(() => Y.applyUpdate(scratch, truncated)).toThrow();
  expect(scratch.getText('content').toString()).toContain('XYZ ');
  expect(scratch.getText('content').toString()).toContain('world');
  return { truncated, attackerClient: attacker.clientID };
}

describe('bad input on a node backed by Postgres', () => {
  let node: TestNode;
  let db: StoreInspector;
  /** A y-websocket client on its own document, open for the whole suite. */
  let bystander: ReturnType<typeof yWebsocketClient>;
  const bystanderId = uniqueDocId('bystander');
  /** The updates the bystander produced itself, in order: its op log must be exactly these. */
  const bystanderEdits: Uint8Array[] = [];

  /**
   * The op log is one queue for all documents, committed in order. Once an edit made now by
   * the bystander is stored, anything a refused frame might have enqueued earlier is stored too.
   */
  async function opLogBarrier(): Promise<void> {
    bystander.text.insert(bystander.text.length, '.');
    const expected = bystanderEdits.length;
    await waitForRows(bystanderId, expected);
  }

  async function waitForRows(documentId: string, count: number) {
    await waitForAsync(async () => (await db.updates(documentId)).length >= count, `${count} stored updates of ${documentId}`);
    return db.updates(documentId);
  }

  beforeAll(async () => {
    // SNAPSHOT_EVERY=1: every unload writes a snapshot, so the pending-update case can check one.
    node = await startTestNode('postgres', { env: { SNAPSHOT_EVERY: '1' } });
    db = inspectPostgres();
    bystander = yWebsocketClient(node.wsUrl, bystanderId);
    bystander.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== bystander.provider) bystanderEdits.push(update);
    });
    await whenSynced(bystander.provider);
    bystander.text.insert(0, 'bystander: ');
    await waitForRows(bystanderId, 1);
  });

  afterAll(async () => {
    bystander?.provider.destroy();
    await node?.close();
    await db?.close();
  });

  describe('garbage on /ws/:id closes 4400 MALFORMED_MESSAGE', () => {
    const cases: [string, Uint8Array | string][] = [
      ['pseudo-random bytes (seed 1)', pseudoRandomBytes(64, 1)],
      ['pseudo-random bytes (seed 2)', pseudoRandomBytes(1024, 2)],
      ['an empty frame', bytes()],
      ['an unknown message type', bytes(0x7f, 0, 0)],
      ['a Hocuspocus-only message type (auth)', bytes(2, 0, 0)],
      ['a truncated varint', bytes(0xff, 0xff)],
      ['a sync message with an unknown sub-type', syncWithSubType(7, realUpdate())],
      ['a sync update with trailing bytes', concat(body.update(realUpdate()), bytes(0))],
      ['a sync update whose declared length runs past the frame', body.update(realUpdate()).slice(0, -4)],
      ['a state vector with trailing bytes', body.syncStep1(bytes(0, 5))],
      ['an awareness update that is not JSON', body.awareness(bytes(1, 1, 1, 3, 0x7b, 0x7b, 0x7b))],
      ['a text frame', 'hello'],
    ];
    it.each(cases)('%s', async (_label, frame) => {
      const socket = await openYWebsocket(node, uniqueDocId('garbage-ws'));
      socket.send(frame);
      expect(await socket.outcome).toEqual(MALFORMED);
    });
  });

  describe('garbage on /collab (after a good Auth) closes 4400 MALFORMED_MESSAGE', () => {
    const cases: [string, (name: string) => Uint8Array | string][] = [
      ['pseudo-random bytes after the name', (name) => addressed(name, pseudoRandomBytes(256, 3))],
      ['an unknown message type', (name) => addressed(name, bytes(0x7f))],
      ['a server-internal message type (broadcast stateless)', (name) => addressed(name, bytes(6, 1, 0x61))],
      ['a sync message with an unknown sub-type', (name) => addressed(name, syncWithSubType(3, realUpdate()))],
      ['a sync update with trailing bytes', (name) => addressed(name, concat(body.update(realUpdate()), bytes(1, 2)))],
      ['an auth message with an unknown sub-type', (name) => addressed(name, bytes(2, 9))],
      ['only a name', (name) => addressed(name, bytes())],
      ['a text frame', () => 'hello'],
    ];
    it.each(cases)('%s', async (_label, frame) => {
      const name = uniqueDocId('garbage-collab');
      const socket = await openCollab(node, name);
      socket.send(frame(name));
      expect(await socket.outcome).toEqual(MALFORMED);
    });

    it('pseudo-random bytes in place of the name', async () => {
      const socket = await openCollab(node, uniqueDocId('garbage-collab'));
      socket.send(pseudoRandomBytes(200, 4));
      const outcome = await socket.outcome;
      expect(outcome).toMatchObject({ code: 4400 });
      expect(['MALFORMED_MESSAGE', 'INVALID_DOCUMENT_ID']).toContain((outcome as { reason: string }).reason);
    });
  });

  it('a truncated update with insertions and deletions is refused whole (y-websocket): neither half is applied or logged', async () => {
    const id = uniqueDocId('truncated-ws');
    const writer = yWebsocketClient(node.wsUrl, id);
    await whenSynced(writer.provider);
    writer.text.insert(0, 'hello world');
    await waitForRows(id, 1);
    const { truncated, attackerClient } = truncatedInsertAndDelete(writer.doc, 3);

    const socket = await openYWebsocket(node, id);
    socket.send(body.update(truncated));
    expect(await socket.outcome).toEqual(MALFORMED);

    // Anything the server had integrated would be broadcast before, and logged before, this edit.
    writer.text.insert(writer.text.length, '!');
    const rows = await waitForRows(id, 2);
    const late = yWebsocketClient(node.wsUrl, id);
    await whenSynced(late.provider);
    expect(late.text.toString()).toBe('hello world!');
    expect(writer.text.toString()).toBe('hello world!');
    expect(rows).toHaveLength(2);
    expect(rows.some((row) => updateHasStruct(row.update, attackerClient, 0))).toBe(false);
    expect(docFrom(rows.map((row) => row.update)).getText('content').toString()).toBe('hello world!');
    writer.provider.destroy();
    late.provider.destroy();
  });

  it('a truncated update is refused whole on /collab too', async () => {
    const id = uniqueDocId('truncated-collab');
    const writer = hocuspocusClient(node.wsUrl, id);
    await whenSynced(writer.provider);
    writer.text.insert(0, 'hello world');
    await waitForRows(id, 1);
    const { truncated, attackerClient } = truncatedInsertAndDelete(writer.doc, 2);

    const socket = await openCollab(node, id);
    socket.send(addressed(id, body.update(truncated)));
    expect(await socket.outcome).toEqual(MALFORMED);

    writer.text.insert(writer.text.length, '!');
    const rows = await waitForRows(id, 2);
    const late = yWebsocketClient(node.wsUrl, id);
    await whenSynced(late.provider);
    expect(late.text.toString()).toBe('hello world!');
    expect(rows).toHaveLength(2);
    expect(rows.some((row) => updateHasStruct(row.update, attackerClient, 0))).toBe(false);
    writer.provider.destroy();
    late.provider.destroy();
  });

  describe('a 20 MB frame closes 4413 MESSAGE_TOO_LARGE', () => {
    const huge = () => {
      const frame = new Uint8Array(20 * 1024 * 1024);
      frame[0] = 0; // a sync message, as far as the first byte goes
      return frame;
    };
    it('on /ws/:id', async () => {
      const socket = await openYWebsocket(node, uniqueDocId('huge-ws'));
      socket.send(huge());
      expect(await socket.outcome).toEqual(TOO_LARGE);
    });
    it('on /collab', async () => {
      const name = uniqueDocId('huge-collab');
      const socket = await openCollab(node, name);
      socket.send(addressed(name, huge()));
      expect(await socket.outcome).toEqual(TOO_LARGE);
    });
  });

  describe('bad document ids close 4400 INVALID_DOCUMENT_ID', () => {
    // Paths go onto the request line exactly as written (URL parsing would remove `..`).
    const paths: [string, string][] = [
      ['..', '/ws/..'],
      ['.', '/ws/.'],
      ['%2E%2E', '/ws/%2E%2E'],
      ['an encoded slash', '/ws/a%2Fb'],
      ['an encoded traversal', '/ws/..%2F..%2Fetc%2Fpasswd'],
      ['NUL', '/ws/a%00b'],
      ['a space', '/ws/a%20b'],
      ['a non-ASCII letter', '/ws/caf%C3%A9'],
      ['an empty id', '/ws/'],
    ];
    it.each(paths)('/ws/:id with %s', async (_label, path) => {
      const socket = openRawSocket(node.wsUrl, path);
      expect(await socket.outcome).toEqual(INVALID_ID);
    });

    const names: [string, string][] = [
      ['..', '..'],
      ['a slash', 'a/b'],
      ['NUL before the session separator', '\0session'],
      ['a space', 'a b'],
      ['129 characters', 'a'.repeat(129)],
      ['an empty name', ''],
    ];
    it.each(names)('/collab Auth addressed to %s', async (_label, name) => {
      const socket = openRawSocket(node.wsUrl, '/collab');
      await socket.opened;
      socket.send(authMessage(name, 'anonymous'));
      expect(await socket.outcome).toEqual(INVALID_ID);
    });

    it('/collab: a sync frame addressed to a bad name on an authenticated socket', async () => {
      const socket = await openCollab(node, uniqueDocId('good-then-bad'));
      socket.send(addressed('../etc', body.update(realUpdate())));
      expect(await socket.outcome).toEqual(INVALID_ID);
    });
  });

  it('an update whose dependency the server never saw is not logged or shown until the dependency arrives', async () => {
    const id = uniqueDocId('pending-live');
    const author = new Y.Doc();
    const authored: Uint8Array[] = [];
    author.on('update', (update: Uint8Array) => authored.push(update));
    author.getText('content').insert(0, 'x');
    author.getText('content').insert(1, 'y');
    const [first, second] = authored as [Uint8Array, Uint8Array];
    const [hasX, hasY] = [(u: Uint8Array) => updateHasStruct(u, author.clientID, 0), (u: Uint8Array) => updateHasStruct(u, author.clientID, 1)];
    expect(hasY(second) && !hasX(second)).toBe(true);

    const watcher = yWebsocketClient(node.wsUrl, id);
    await whenSynced(watcher.provider);
    watcher.text.insert(0, 'base ');
    await waitForRows(id, 1);

    const socket = await openYWebsocket(node, id);
    socket.send(body.update(second));
    // The server asks this client for what it lacks once it holds an update it cannot integrate.
    await socket.waitForMessage(isYWebsocketSync(SYNC_STEP1), 'the server asking for the missing dependency');
    watcher.text.insert(watcher.text.length, '!');
    let rows = await waitForRows(id, 2);
    expect(rows).toHaveLength(2);
    expect(rows.some((row) => hasY(row.update))).toBe(false);
    expect(watcher.text.toString()).toBe('base !');

    socket.send(body.update(first));
    await waitFor(() => watcher.text.toString().includes('xy'), 'both updates at the watcher');
    rows = await waitForRows(id, 3);
    expect(rows.some((row) => hasX(row.update))).toBe(true);
    expect(rows.some((row) => hasY(row.update))).toBe(true);
    const stored = docFrom(rows.map((row) => row.update));
    expect(stored.store.pendingStructs).toBeNull();
    expect(stored.getText('content').toString()).toBe(watcher.text.toString());
    watcher.provider.destroy();
    await socket.close();
  });

  it('a document unloaded while holding an update with a missing dependency snapshots without it', async () => {
    const id = uniqueDocId('pending-unload');
    const author = new Y.Doc();
    const authored: Uint8Array[] = [];
    author.on('update', (update: Uint8Array) => authored.push(update));
    author.getText('content').insert(0, 'x');
    author.getText('content').insert(1, 'y');
    const [first, second] = authored as [Uint8Array, Uint8Array];

    const watcher = yWebsocketClient(node.wsUrl, id);
    await whenSynced(watcher.provider);
    watcher.text.insert(0, 'base');
    await waitForRows(id, 1);
    const socket = await openYWebsocket(node, id);
    socket.send(body.update(second));
    await socket.waitForMessage(isYWebsocketSync(SYNC_STEP1), 'the server asking for the missing dependency');

    // Everyone leaves: the document unloads and (SNAPSHOT_EVERY=1) writes a snapshot.
    await socket.close();
    watcher.provider.destroy();
    await waitForAsync(async () => (await db.snapshots(id)).length > 0, 'the snapshot written on unload');
    const [snapshot] = await db.snapshots(id);
    expect(snapshot!.seq).toBe(1);
    expect(updateHasStruct(snapshot!.state, author.clientID, 1)).toBe(false);
    const restored = docFrom([snapshot!.state]);
    expect(restored.store.pendingStructs).toBeNull();
    expect(restored.getText('content').toString()).toBe('base');
    // Had the snapshot kept the pending "y", its dependency would now complete it.
    Y.applyUpdate(restored, first);
    expect(restored.getText('content').toString()).not.toContain('y');

    // Reloaded, the document does not have it either; the pair sent again lands whole.
    const again = yWebsocketClient(node.wsUrl, id);
    await whenSynced(again.provider);
    expect(again.text.toString()).toBe('base');
    const resend = await openYWebsocket(node, id);
    resend.send(body.update(second));
    resend.send(body.update(first));
    await waitFor(() => again.text.toString().includes('xy'), 'the pair at a client');
    const rows = await waitForRows(id, 2);
    expect(docFrom(rows.map((row) => row.update)).getText('content').toString()).toBe(again.text.toString());
    again.provider.destroy();
    await resend.close();
  });

  it('a document whose stored log does not load refuses connections and writes, and keeps its rows', async () => {
    const id = uniqueDocId('corrupt');
    const garbage = bytes(0xde, 0xad, 0xbe, 0xef);
    await db.insertDocument(id, [garbage]);
    const writer = new Y.Doc();
    writer.getText('content').insert(0, 'must never be stored');

    const socket = await openYWebsocket(node, id);
    socket.send(body.syncStep1(Y.encodeStateVector(writer)));
    socket.send(body.update(Y.encodeStateAsUpdate(writer)));
    expect(await socket.outcome).toEqual(UNAVAILABLE);

    const y = yWebsocketClient(node.wsUrl, id);
    y.text.insert(0, 'must never be stored either');
    const closeEvent = await new Promise<{ code: number; reason: string }>((resolve) =>
      y.provider.once('connection-close', (event) => resolve({ code: event!.code, reason: event!.reason })),
    );
    y.provider.destroy();
    expect(closeEvent).toEqual(UNAVAILABLE);

    const h = hocuspocusClient(node.wsUrl, id);
    const refused = new Promise<string>((resolve) => h.provider.on('authenticationFailed', ({ reason }: { reason: string }) => resolve(reason)));
    h.text.insert(0, 'nor this');
    expect(await refused).toBe('DOCUMENT_UNAVAILABLE');
    h.provider.destroy();

    await opLogBarrier();
    expect(await db.updates(id)).toEqual([{ seq: 1, update: garbage }]);
    expect(await db.headSeq(id)).toBe(1);
    expect(await db.snapshots(id)).toEqual([]);
  });

  it('afterwards the node is healthy and the bystander document holds exactly its own edits', async () => {
    const health = await fetch(`${node.url}/health`);
    expect(health.status).toBe(200);

    bystander.text.insert(bystander.text.length, 'still editing');
    bystander.text.delete(0, 'bystander: '.length);
    const expected = bystanderEdits.length;
    const rows = await waitForRows(bystanderId, expected);
    const late = yWebsocketClient(node.wsUrl, bystanderId);
    await whenSynced(late.provider);
    expect(late.text.toString()).toBe(bystander.text.toString());
    expect(bystander.text.toString()).toMatch(/still editing$/);

    expect(rows.map((row) => row.seq)).toEqual(bystanderEdits.map((_, index) => index + 1));
    expect(rows.map((row) => updateShape(row.update))).toEqual(bystanderEdits.map((update) => updateShape(update)));
    expect(docFrom(rows.map((row) => row.update)).getText('content').toString()).toBe(bystander.text.toString());
    late.provider.destroy();
  });
});

describe('document ids at the length limit (own node: a refused upgrade can hold up its shutdown)', () => {
  let node: TestNode;
  let closed = false;
  beforeAll(async () => {
    node = await startTestNode('postgres');
  });
  afterAll(async () => {
    // Bounded: a node whose close hangs must not hold up the rest of the run.
    if (!closed) await Promise.race([node?.close(), new Promise((resolve) => setTimeout(resolve, 2_000))]);
  });

  it('a 128-character id is valid on /ws/:id', async () => {
    const id = `${uniqueDocId('long')}-`.padEnd(128, 'x');
    expect(id).toHaveLength(128);
    const client = yWebsocketClient(node.wsUrl, id);
    const closes: number[] = [];
    client.provider.on('connection-close', (event) => closes.push(event?.code ?? 0));
    client.provider.on('connection-error', () => closes.push(-1));
    try {
      await waitFor(() => client.provider.synced || closes.length > 0, 'sync or a refusal');
      expect(closes).toEqual([]);
      expect(client.provider.synced).toBe(true);
    } finally {
      client.provider.destroy();
    }
  });

  it('a 129-character id on /ws/:id closes 4400 INVALID_DOCUMENT_ID', async () => {
    const socket = openRawSocket(node.wsUrl, `/ws/${'a'.repeat(129)}`);
    expect(await socket.outcome).toEqual(INVALID_ID);
  });

  it('the node still shuts down after those requests', async () => {
    const result = await Promise.race([
      node.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('close() still pending after 10 s'), 10_000)),
    ]);
    closed = result === 'closed';
    expect(result).toBe('closed');
  }, 15_000);
});

describe('bad input on a node with embedded PGlite', () => {
  let node: TestNode | undefined;
  let dataDir: string | undefined;
  beforeAll(async () => {
    node = await startTestNode('embedded');
    dataDir = node.dataDir;
  });
  afterAll(async () => {
    await node?.close();
    await removeDir(dataDir);
  });

  it('garbage and a truncated update are refused; the stored log holds only the good edits', async () => {
    const running = node!;
    const id = uniqueDocId('pglite-truncated');
    const writer = hocuspocusClient(running.wsUrl, id);
    await whenSynced(writer.provider);
    writer.text.insert(0, 'hello world');
    const { truncated, attackerClient } = truncatedInsertAndDelete(writer.doc, 2);

    const garbage = await openYWebsocket(running, id);
    garbage.send(pseudoRandomBytes(128, 5));
    expect(await garbage.outcome).toEqual(MALFORMED);
    const halfUpdate = await openCollab(running, id);
    halfUpdate.send(addressed(id, body.update(truncated)));
    expect(await halfUpdate.outcome).toEqual(MALFORMED);

    writer.text.insert(writer.text.length, '!');
    const late = yWebsocketClient(running.wsUrl, id);
    await waitFor(() => late.provider.synced && late.text.toString().endsWith('!'), 'the late client to see the last edit');
    expect(late.text.toString()).toBe('hello world!');
    writer.provider.destroy();
    late.provider.destroy();

    // Closing flushes the op log; then the data folder can be opened to read what was stored.
    await running.close();
    node = undefined;
    const db = await inspectPGlite(dataDir!);
    try {
      const rows = await db.updates(id);
      expect(rows).toHaveLength(2);
      expect(rows.some((row) => updateHasStruct(row.update, attackerClient, 0))).toBe(false);
      expect(docFrom(rows.map((row) => row.update)).getText('content').toString()).toBe('hello world!');
    } finally {
      await db.close();
    }
  });
});

async function waitForAsync(condition: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
