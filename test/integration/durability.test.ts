import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { createDocumentStore } from '../../src/storage/document-store.ts';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { makeTempDir, removeDir, TEST_DATABASE_URL, uniqueDocId } from '../helpers/node.ts';
import {
  killAllServerProcesses,
  restartServerProcess,
  type ServerProcess,
  startServerProcess,
} from '../helpers/server-process.ts';

/**
 * The real server as a child process (src/main.ts, as `npm start` runs it), killed and
 * restarted on the same storage. failure-modes.md, Lifecycle: "SIGTERM flushes every pending
 * append"; ARCHITECTURE.md: "Shutdown (SIGTERM) stops accepting, flushes every pending
 * append, then exits".
 */
describe('server process durability', () => {
  let db: Database;
  const providers: WebsocketProvider[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await openDatabase({ kind: 'postgres', url: TEST_DATABASE_URL }, pino({ level: 'silent' }));
  });
  afterEach(() => {
    for (const provider of providers.splice(0)) provider.destroy();
  });
  afterAll(async () => {
    await killAllServerProcesses();
    await db?.close();
    for (const dir of dirs) await removeDir(dir);
  });

  function client(server: ServerProcess, id: string, doc?: Y.Doc) {
    const c = yWebsocketClient(server.wsUrl, id, doc ? { doc } : {});
    providers.push(c.provider);
    return c;
  }

  async function freshRead(server: ServerProcess, id: string): Promise<string> {
    const c = client(server, id);
    await whenSynced(c.provider);
    return c.text.toString();
  }

  /** What the storage layer holds for a document, replayed into a fresh Y.Doc. */
  async function storedDoc(id: string): Promise<Y.Doc> {
    const { updates } = await createDocumentStore(db.prisma).load(id);
    const doc = new Y.Doc();
    for (const update of updates) Y.applyUpdate(doc, update);
    return doc;
  }

  it('says Postgres in its startup line when DATABASE_URL is set', async () => {
    const server = await startServerProcess({ kind: 'postgres' });
    expect(server.startupLine.msg).toMatch(/^Tandem listening on http:\/\/127\.0\.0\.1:\d+ · storage: Postgres · bus: in-process · AUTH=off: anyone may read and change every document \(local experiments only\)$/);
    expect(server.startupLine.storage).toBe('postgres');
    server.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
  });

  it('keeps every edit a client saw relayed when the server is killed with SIGKILL', async () => {
    const server = await startServerProcess({ kind: 'postgres' });
    const id = uniqueDocId('kill9');
    const writer = client(server, id);
    const reader = client(server, id);
    await Promise.all([whenSynced(writer.provider), whenSynced(reader.provider)]);

    // A few hundred characters, one transaction each, in bursts so that the op log's group
    // commit sees batches of different sizes; some deletions and a paste in between.
    const alphabet = 'abcdefghijklmnopqrstuvwxyz ';
    for (let burst = 0; burst < 40; burst++) {
      for (let i = 0; i < 10; i++) {
        const pos = (burst * 7 + i * 13) % (writer.text.length + 1);
        writer.text.insert(pos, alphabet[(burst * 10 + i) % alphabet.length]!);
      }
      if (burst % 5 === 4) writer.text.delete(burst % writer.text.length, 3);
      if (burst === 20) writer.text.insert(0, 'pasted paragraph\n\n');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const expected = writer.text.toString();
    expect(expected.length).toBeGreaterThan(350);
    await waitFor(() => reader.text.toString() === expected, 'the reader to receive every edit');

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    server.kill('SIGKILL');
    expect(await server.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The old clients must not re-upload their state: the new server has to have it on its own.
    writer.provider.destroy();
    reader.provider.destroy();

    const next = await restartServerProcess(server);
    expect(await freshRead(next, id)).toBe(expected);
    expect((await storedDoc(id)).getText('content').toString()).toBe(expected);
    next.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
  });

  it('on SIGTERM mid-typing closes sockets with 1001, stores every relayed edit, exits 0, and clients converge after a restart', async () => {
    const server = await startServerProcess({ kind: 'postgres' });
    const id = uniqueDocId('sigterm');
    const a = client(server, id);
    const b = client(server, id);
    await Promise.all([whenSynced(a.provider), whenSynced(b.provider)]);

    const closeCodes: Record<'a' | 'b', number[]> = { a: [], b: [] };
    a.provider.on('connection-close', (event) => closeCodes.a.push(event?.code ?? -1));
    b.provider.on('connection-close', (event) => closeCodes.b.push(event?.code ?? -1));

    // Each insert is one whole marker ("a17;") at a marker boundary, so markers never split
    // and every one can be accounted for at the end.
    const typed = { a: 0, b: 0 };
    const typeOne = (who: 'a' | 'b', text: Y.Text) => {
      const current = text.toString();
      const boundaries = [0];
      for (let i = current.indexOf(';'); i !== -1; i = current.indexOf(';', i + 1)) boundaries.push(i + 1);
      text.insert(boundaries[Math.floor(Math.random() * boundaries.length)]!, `${who}${typed[who]++};`);
    };
    const timers = [setInterval(() => typeOne('a', a.text), 3), setInterval(() => typeOne('b', b.text), 4)];
    try {
      await waitFor(
        () => markersOf(a.text.toString(), 'b').length >= 30 && markersOf(b.text.toString(), 'a').length >= 30,
        'both clients to type and see each other',
      );
      server.kill('SIGTERM');
      const exit = await server.exited;
      await waitFor(() => closeCodes.a.length > 0 && closeCodes.b.length > 0, 'both sockets to close');
      // Keep typing a little while disconnected: those edits live only in the clients.
      const typedAtClose = typed.a + typed.b;
      await waitFor(() => typed.a + typed.b >= typedAtClose + 20, 'some typing while disconnected');
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
    expect(closeCodes.a[0]).toBe(1001);
    expect(closeCodes.b[0]).toBe(1001);
    expect(server.logs.some((line) => line.msg === 'shutdown complete')).toBe(true);

    // Whatever one client received from the other went through the server, so the graceful
    // shutdown must have made it durable.
    const relayed = [...markersOf(a.text.toString(), 'b'), ...markersOf(b.text.toString(), 'a')];
    const stored = await storedDoc(id);
    expect(stored.store.pendingStructs).toBeNull();
    expect(stored.store.pendingDs).toBeNull();
    const storedText = stored.getText('content').toString();
    expect(storedText).toMatch(/^([ab]\d+;)*$/);
    const storedMarkers = storedText.split(';').filter(Boolean);
    expect(new Set(storedMarkers).size).toBe(storedMarkers.length);
    expect(relayed.filter((marker) => !storedMarkers.includes(marker))).toEqual([]);

    // Same storage, same port: the providers reconnect by themselves with their own Y.Docs,
    // and a newcomer joins.
    const next = await restartServerProcess(server, { samePort: true });
    const c = client(next, id);
    const everything = (text: string) => {
      const all = text.split(';').filter(Boolean);
      return all.length === typed.a + typed.b && new Set(all).size === all.length;
    };
    await waitFor(
      () =>
        a.provider.synced &&
        b.provider.synced &&
        c.provider.synced &&
        everything(c.text.toString()) &&
        a.text.toString() === c.text.toString() &&
        b.text.toString() === c.text.toString(),
      'both clients and a newcomer to converge on every marker',
      30_000,
    );
    const final = c.text.toString();
    expect(final).toMatch(/^([ab]\d+;)*$/);
    expect(markersOf(final, 'a').sort()).toEqual(expectedMarkers('a', typed.a));
    expect(markersOf(final, 'b').sort()).toEqual(expectedMarkers('b', typed.b));
    expect(a.text.toString()).toBe(final);
    expect(b.text.toString()).toBe(final);
    expect(closeCodes.a.filter((code) => code === 1001)).toHaveLength(1);

    next.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
  });

  it('keeps documents in embedded PGlite (DATA_DIR) across a SIGTERM and restart', async () => {
    const dataDir = await makeTempDir();
    dirs.push(dataDir);
    const server = await startServerProcess({ kind: 'embedded', dataDir });
    expect(server.startupLine.msg).toMatch(
      /^Tandem listening on http:\/\/127\.0\.0\.1:\d+ · storage: embedded PGlite · bus: in-process · AUTH=off: anyone may read and change every document \(local experiments only\)$/,
    );
    expect(server.startupLine.storage).toBe(`embedded (PGlite in ${dataDir})`);

    const id = uniqueDocId('pglite');
    const writer = client(server, id);
    const reader = client(server, id);
    await Promise.all([whenSynced(writer.provider), whenSynced(reader.provider)]);
    writer.text.insert(0, '# Notes\n\n');
    for (const word of ['kept ', 'in ', 'PGlite ', 'across ', 'restarts']) writer.text.insert(writer.text.length, word);
    writer.text.delete(2, 1);
    const expected = writer.text.toString();
    expect(expected).toBe('# otes\n\nkept in PGlite across restarts');
    await waitFor(() => reader.text.toString() === expected, 'the reader to receive the edits');

    server.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    writer.provider.destroy();
    reader.provider.destroy();

    const next = await restartServerProcess(server);
    expect(next.startupLine.storage).toBe(`embedded (PGlite in ${dataDir})`);
    expect(await freshRead(next, id)).toBe(expected);
    next.kill('SIGTERM');
    expect(await next.exited).toEqual({ code: 0, signal: null });
  });
});

function markersOf(text: string, who: 'a' | 'b'): string[] {
  return text.split(';').filter((marker) => marker.startsWith(who));
}

function expectedMarkers(who: 'a' | 'b', count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${who}${i}`).sort();
}
