import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { AppError } from '../../src/errors.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { createDocumentRepository, type DocumentRepository } from '../../src/storage/document-repository.ts';
import { createDocumentStore, type DocumentStore } from '../../src/storage/document-store.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { compactDocument } from '../../src/docs/compaction.ts';
import { createCompactionStore } from '../../src/storage/compaction-repository.ts';
import { createOpLogWriter, type OpLogWriter } from '../../src/storage/op-log.ts';
import { waitFor } from '../helpers/clients.ts';
import { makeTempDir, removeDir, TEST_DATABASE_URL, uniqueDocId } from '../helpers/node.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';
import { newDocumentKeys } from '../../src/access/document-keys.ts';
import { createAccessRepository } from '../../src/storage/access-repository.ts';
import { createInvitationRepository } from '../../src/storage/invitation-repository.ts';
import { createVerificationRepository } from '../../src/storage/verification-repository.ts';

/** What a new document starts with: no workspace (as with AUTH=off) and fresh key hashes. */
const newAccess = () => ({ workspaceId: null, ...newDocumentKeys().hashes });

/**
 * One storage suite, run against every database Tandem supports: Postgres (a fresh database
 * created for this run) and embedded PGlite (a fresh temp folder). Both start empty, so the
 * migrations and every model are exercised on exactly what `migrate` creates.
 */

const logger = pino({ level: 'silent' });
const MIGRATIONS = new URL('../../prisma/migrations/', import.meta.url);
const migrationNames = readdirSync(MIGRATIONS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

interface Backend {
  open(): Promise<Database>;
  /** Only Postgres can have a second, independent connection to the same database. */
  openSecond?: () => Promise<Database>;
  /** Postgres: the database's URL, for a connection through a proxy. */
  url?: string;
  dispose(): Promise<void>;
}

async function postgresBackend(): Promise<Backend> {
  const name = `tandem_contract_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const open = () => openDatabase({ kind: 'postgres', url: url.toString() }, logger);
  return {
    open,
    openSecond: open,
    url: url.toString(),
    async dispose() {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function pgliteBackend(): Promise<Backend> {
  const dataDir = await makeTempDir();
  return {
    open: () => openDatabase({ kind: 'embedded', dataDir }, logger),
    dispose: () => removeDir(dataDir),
  };
}

/** A Yjs update per edit, as a room would log them. */
function yjsEdits(count: number, prefix = 'edit'): { updates: Uint8Array[]; text: string } {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  const text = doc.getText('content');
  for (let i = 0; i < count; i++) {
    if (i % 3 === 2) text.delete(0, 1);
    else text.insert(text.length, `${prefix} ${i}. `);
  }
  return { updates, text: text.toString() };
}

const textOf = (updates: Uint8Array[]) => {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc.getText('content').toString();
};
// Prisma's Bytes type wants an ArrayBuffer-backed array; Yjs returns ArrayBufferLike.
const bytes = (update: Uint8Array) => update as Uint8Array<ArrayBuffer>;
const marker = (documentId: string, index: number) => new TextEncoder().encode(`${documentId}#${index}`);
const yieldSome = (n: number) => new Promise((resolve) => (n % 3 === 0 ? setTimeout(resolve, 1) : setImmediate(resolve)));

describe.each([
  ['Postgres', postgresBackend],
  ['embedded PGlite', pgliteBackend],
] as const)('storage on %s', (_label, makeBackend) => {
  let backend: Backend;
  let db: Database;
  let store: DocumentStore;
  const writers: OpLogWriter[] = [];
  const writer = () => {
    const created = createOpLogWriter(db.sql, logger);
    writers.push(created);
    return created;
  };
  const rows = async (documentId: string) =>
    (await db.prisma.documentUpdate.findMany({ where: { documentId }, orderBy: { seq: 'asc' } })).map((row) => ({
      seq: row.seq,
      update: new Uint8Array(row.update),
    }));
  const headSeq = async (documentId: string) =>
    (await db.prisma.document.findUnique({ where: { id: documentId } }))?.headSeq;

  beforeAll(async () => {
    backend = await makeBackend();
    db = await backend.open();
    store = createDocumentStore(db.prisma);
  });

  afterAll(async () => {
    for (const created of writers) await created.close();
    await db?.close();
    await backend?.dispose();
  });

  describe('migrations', () => {
    it('apply every migration once on a fresh database, even when two nodes start together', async () => {
      if (backend.openSecond) {
        const second = await backend.openSecond();
        try {
          const [a, b] = await Promise.all([migrate(db), migrate(second)]);
          expect([a, b].sort((x, y) => y.length - x.length)).toEqual([migrationNames, []]);
        } finally {
          await second.close();
        }
      } else {
        expect(await migrate(db)).toEqual(migrationNames);
      }
      const recorded = await db.prisma.$queryRaw<{ migration_name: string; checksum: string; finished_at: Date | null }[]>`
        SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name`;
      expect(recorded.map((row) => row.migration_name)).toEqual(migrationNames);
      for (const row of recorded) {
        const sql = readFileSync(new URL(`${row.migration_name}/migration.sql`, MIGRATIONS), 'utf8');
        expect(row.checksum).toBe(createHash('sha256').update(sql).digest('hex'));
        expect(row.finished_at).not.toBeNull();
      }
    });

    it('migrating again is a no-op that keeps the data', async () => {
      const id = uniqueDocId('migrate-again');
      await db.prisma.document.create({ data: { id, title: 'kept' } });
      expect(await migrate(db)).toEqual([]);
      expect(await migrate(db)).toEqual([]);
      const count = await db.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "_prisma_migrations"`;
      expect(count[0]!.n).toBe(migrationNames.length);
      expect((await db.prisma.document.findUnique({ where: { id } }))?.title).toBe('kept');
    });
  });

  describe('every Prisma model against the migrated schema', () => {
    // A no-op after the migration tests; keeps this block runnable on its own (-t).
    beforeAll(async () => {
      await migrate(db);
    });

    it('Document: create with defaults, read, update, delete', async () => {
      const id = uniqueDocId('model-doc');
      const created = await db.prisma.document.create({ data: { id } });
      expect(created).toMatchObject({ id, title: '', headSeq: 0, deletedAt: null });
      expect(created.createdAt).toBeInstanceOf(Date);
      expect(created.updatedAt).toBeInstanceOf(Date);
      const deletedAt = new Date('2026-01-02T03:04:05.678Z');
      await db.prisma.document.update({ where: { id }, data: { title: 'Plans', headSeq: 3, deletedAt } });
      expect(await db.prisma.document.findUnique({ where: { id } })).toMatchObject({ title: 'Plans', headSeq: 3, deletedAt });
      expect(await db.prisma.document.count({ where: { id } })).toBe(1);
      await db.prisma.document.delete({ where: { id } });
      expect(await db.prisma.document.findUnique({ where: { id } })).toBeNull();
    });

    it('DocumentUpdate and DocumentSnapshot: bytes round-trip, relations, composite keys, cascade', async () => {
      const id = uniqueDocId('model-rel');
      const bytes = new Uint8Array([0, 1, 2, 254, 255, 0]);
      await db.prisma.document.create({
        data: {
          id,
          updates: { create: [{ seq: 1, update: bytes }, { seq: 2, update: new Uint8Array([7]) }] },
          snapshots: { create: [{ seq: 2, state: bytes }] },
        },
      });
      const update = await db.prisma.documentUpdate.findUnique({ where: { documentId_seq: { documentId: id, seq: 1 } } });
      expect(update?.update).toBeInstanceOf(Uint8Array);
      expect([...update!.update]).toEqual([...bytes]);
      expect(update?.createdAt).toBeInstanceOf(Date);
      const snapshot = await db.prisma.documentSnapshot.findFirst({ where: { documentId: id }, orderBy: { seq: 'desc' } });
      expect([...snapshot!.state]).toEqual([...bytes]);
      const withRelations = await db.prisma.document.findUnique({
        where: { id },
        include: { updates: { orderBy: { seq: 'asc' } }, snapshots: true },
      });
      expect(withRelations?.updates.map((row) => row.seq)).toEqual([1, 2]);
      expect(withRelations?.snapshots.map((row) => row.seq)).toEqual([2]);

      await expect(db.prisma.documentUpdate.create({ data: { documentId: id, seq: 1, update: bytes } })).rejects.toMatchObject({
        code: 'P2002',
      });
      await expect(
        db.prisma.documentUpdate.create({ data: { documentId: uniqueDocId('no-such-doc'), seq: 1, update: bytes } }),
      ).rejects.toThrow();

      await db.prisma.document.delete({ where: { id } });
      expect(await db.prisma.documentUpdate.count({ where: { documentId: id } })).toBe(0);
      expect(await db.prisma.documentSnapshot.count({ where: { documentId: id } })).toBe(0);
    });
  });

  describe('document repository (REST metadata, history, change feed)', () => {
    let repository: DocumentRepository;
    beforeAll(async () => {
      await migrate(db);
      repository = createDocumentRepository(db.prisma);
    });

    it('creates a document with its first update in one transaction; a taken id is DOC_EXISTS', async () => {
      const id = uniqueDocId('repo-create');
      const { record, replayed } = await repository.create({ id, title: 'T', initialUpdate: marker(id, 1), ...newAccess() });
      expect(replayed).toBe(false);
      expect(record).toMatchObject({ id, title: 'T', version: 1, deletedAt: null });
      expect(await rows(id)).toEqual([{ seq: 1, update: marker(id, 1) }]);
      await expect(repository.create({ id, title: '', ...newAccess() })).rejects.toMatchObject({ code: 'DOC_EXISTS' });
      expect(await rows(id)).toHaveLength(1);
    });

    it('a create retried with its Idempotency-Key returns the first document, even concurrently', async () => {
      const key = uniqueDocId('create-key');
      const [a, b] = await Promise.all([
        repository.create({ id: uniqueDocId('repo-a'), title: '', idempotencyKey: key, ...newAccess() }),
        repository.create({ id: uniqueDocId('repo-b'), title: '', idempotencyKey: key, ...newAccess() }),
      ]);
      expect(a.record.id).toBe(b.record.id);
      expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    });

    it('the op log records who wrote each update and finds a write by its Idempotency-Key', async () => {
      const id = uniqueDocId('repo-author');
      await store.ensure(id, newAccess());
      const log = writer();
      await log.append(id, marker(id, 1));
      await log.append(id, marker(id, 2), { author: { kind: 'agent', id: 'agent:Scribe@user:anonymous', name: 'Scribe' }, idempotencyKey: 'k1' });
      expect(await repository.findIdempotentWrite(id, 'k1')).toBe(2);
      expect(await repository.findIdempotentWrite(id, 'k2')).toBeNull();
      const history = await repository.history(id, { limit: 10 });
      expect(history.map((entry) => [entry.version, entry.authorKind])).toEqual([
        [2, 'agent'],
        [1, 'user'],
      ]);
      expect((await repository.history(id, { before: 2, limit: 10 })).map((entry) => entry.version)).toEqual([1]);
    });

    it('names versions once per name', async () => {
      const id = uniqueDocId('repo-names');
      await repository.create({ id, title: '', ...newAccess() });
      expect(await repository.nameVersion(id, 'draft', 0)).toMatchObject({ name: 'draft', version: 0 });
      await expect(repository.nameVersion(id, 'draft', 0)).rejects.toMatchObject({ code: 'VERSION_NAME_TAKEN' });
      expect((await repository.namedVersions(id)).map((named) => named.name)).toEqual(['draft']);
    });

    it('the change feed lists creations, appends and deletions after a position, in commit order', async () => {
      const [latest] = await repository.changesSince(null, 1_000_000, null).then((all) => all.slice(-1));
      const from = latest?.position ?? null;
      const [a, b] = [uniqueDocId('feed-a'), uniqueDocId('feed-b')];
      await repository.create({ id: a, title: '', ...newAccess() });
      await store.ensure(b, newAccess());
      await writer().append(a, marker(a, 1));
      await repository.setDeleted(b, true);
      const changes = await repository.changesSince(from, 100, null);
      expect(changes.map(({ id, version, deleted }) => ({ id, version, deleted }))).toEqual([
        { id: a, version: 1, deleted: false },
        { id: b, version: 0, deleted: true },
      ]);
      await expect(store.ensure(b, newAccess())).rejects.toMatchObject({ code: 'DOC_NOT_FOUND' });
      expect(await repository.changesSince(changes.at(-1)!.position, 100, null)).toEqual([]);
    });

    it('a start keeps the change clock ahead of what is stored (a dump restored into another cluster)', async () => {
      const [latest] = (await repository.changesSince(null, 1_000_000, null)).slice(-1);
      const restored = uniqueDocId('feed-restored');
      await store.ensure(restored, newAccess());
      // As if this row came from a cluster whose transaction ids ran far ahead of this one's.
      const ahead = (await db.prisma.document.findUniqueOrThrow({ where: { id: restored } })).changeSeq + 1_000_000_000n;
      await db.prisma.document.update({ where: { id: restored }, data: { changeSeq: ahead } });

      await migrate(db);
      const next = uniqueDocId('feed-after-restore');
      await store.ensure(next, newAccess());
      expect((await repository.changesSince(latest?.position ?? null, 100, null)).map((change) => change.id)).toEqual([restored, next]);
    });

    it('a transaction left open that changes no document does not hold the change feed back', async () => {
      if (!backend.url) return;
      const idle = new pg.Client({ connectionString: backend.url });
      await idle.connect();
      try {
        // Open, with a transaction id, as a batch job's or a forgotten psql session's would be.
        await idle.query('BEGIN');
        await idle.query('UPDATE access_epoch SET value = value WHERE id = 1');
        const [latest] = (await repository.changesSince(null, 1_000_000, null)).slice(-1);
        const id = uniqueDocId('feed-beside-open');
        await store.ensure(id, newAccess());
        expect((await repository.changesSince(latest?.position ?? null, 100, null)).map((change) => change.id)).toEqual([id]);
      } finally {
        await idle.query('ROLLBACK');
        await idle.end();
      }
    });

    it('the change feed never passes a change whose transaction commits late', async () => {
      // PGlite has one connection: no transaction can commit while another is open.
      if (!backend.url) return;
      const target = new URL(backend.url);
      let armed = false;
      const proxy = await startTcpProxy(
        { host: target.hostname, port: Number(target.port || 5432) },
        { stallWhen: (chunk) => armed && chunk.toString('latin1').includes('COMMIT') },
      );
      const through = new URL(backend.url);
      through.hostname = '127.0.0.1';
      through.port = String(proxy.port);
      const late = await openDatabase({ kind: 'postgres', url: through.toString() }, logger);
      try {
        const [latest] = (await repository.changesSince(null, 1_000_000, null)).slice(-1);
        const from = latest?.position ?? null;
        const [slow, quick] = [uniqueDocId('feed-slow'), uniqueDocId('feed-quick')];
        await store.ensure(quick, newAccess());

        // A create whose COMMIT is held: its transaction has its clock value and has not committed.
        armed = true;
        const creating = createDocumentRepository(late.prisma).create({ id: slow, title: '', ...newAccess() });
        await waitFor(() => proxy.held() > 0, 'the create to send its COMMIT');
        // A change that starts after it and commits first.
        const appended = writer().append(quick, marker(quick, 1));
        await Promise.race([appended, new Promise((resolve) => setTimeout(resolve, 300))]);
        const during = await repository.changesSince(from, 100, null);

        proxy.restore();
        await Promise.all([creating, appended]);
        const after = await repository.changesSince(during.at(-1)?.position ?? from, 100, null);
        const seen = [...during, ...after].map(({ id, version }) => ({ id, version }));
        expect(seen).toContainEqual({ id: slow, version: 0 });
        expect(seen.at(-1)).toEqual({ id: quick, version: 1 });
      } finally {
        await late.close();
        await proxy.close();
      }
    });

    it('loadAt rebuilds any version still covered by a snapshot or the log, and nothing older', async () => {
      const id = uniqueDocId('repo-load-at');
      const { updates, text } = yjsEdits(5);
      await store.ensure(id, newAccess());
      const log = writer();
      for (const update of updates) void log.append(id, update);
      await log.whenDurable(id);
      expect(textOf((await store.loadAt(id, 3))!)).toBe(textOf(updates.slice(0, 3)));
      expect(await store.loadAt(id, 0)).toEqual([]);
      // Compaction: a snapshot at 3 and the log up to it trimmed.
      await db.prisma.documentSnapshot.create({ data: { documentId: id, seq: 3, state: bytes(Y.mergeUpdates(updates.slice(0, 3))) } });
      await db.prisma.documentUpdate.deleteMany({ where: { documentId: id, seq: { lte: 3 } } });
      expect(await store.loadAt(id, 2)).toBeNull();
      expect(textOf((await store.loadAt(id, 3))!)).toBe(textOf(updates.slice(0, 3)));
      expect(textOf((await store.loadAt(id, 5))!)).toBe(text);
    });
  });

  describe('document store and op log', () => {
    beforeAll(async () => {
      await migrate(db);
    });

    it('ensure creates the row once and never resets it', async () => {
      const id = uniqueDocId('ensure');
      await store.ensure(id, newAccess());
      await store.ensure(id, newAccess());
      expect(await headSeq(id)).toBe(0);
      const log = writer();
      await log.append(id, marker(id, 1));
      await Promise.all([store.ensure(id, newAccess()), store.ensure(id, newAccess())]);
      expect(await headSeq(id)).toBe(1);
      expect(await store.load(id)).toEqual({ seq: 1, updates: [marker(id, 1)] });
    });

    it('concurrent appends to several documents get gapless seqs 1..N in append order per document', async () => {
      const ids = Array.from({ length: 5 }, (_, i) => uniqueDocId(`append-${i}`));
      await Promise.all(ids.map((id) => store.ensure(id, newAccess())));
      const log = writer();
      const perDocument = 40;
      const seqs = new Map(ids.map((id) => [id, [] as number[]]));

      // Five producers, one per document, interleaving with yields so appends span many batches.
      await Promise.all(
        ids.map(async (id) => {
          const pending: Promise<number>[] = [];
          for (let i = 0; i < perDocument; i++) {
            pending.push(log.append(id, marker(id, i)));
            if (i % 4 === 0) await yieldSome(i);
          }
          seqs.set(id, await Promise.all(pending));
        }),
      );

      const expected = Array.from({ length: perDocument }, (_, i) => i + 1);
      for (const id of ids) {
        expect(seqs.get(id)).toEqual(expected);
        const stored = await rows(id);
        expect(stored.map((row) => row.seq)).toEqual(expected);
        expect(stored.map((row) => new TextDecoder().decode(row.update))).toEqual(
          expected.map((seq) => `${id}#${seq - 1}`),
        );
        expect(await headSeq(id)).toBe(perDocument);
      }
    });

    it('two writers (two nodes) appending to the same documents keep the log gapless and each one ordered', async () => {
      const ids = [uniqueDocId('two-writers-a'), uniqueDocId('two-writers-b')];
      await Promise.all(ids.map((id) => store.ensure(id, newAccess())));
      const [first, second] = [writer(), writer()];
      const produce = async (log: OpLogWriter, label: string, id: string) => {
        const pending: Promise<number>[] = [];
        for (let i = 0; i < 25; i++) {
          pending.push(log.append(id, new TextEncoder().encode(`${label}${i}`)));
          if (i % 5 === 0) await yieldSome(i);
        }
        return Promise.all(pending);
      };
      const results = await Promise.all(ids.flatMap((id) => [produce(first, 'A', id), produce(second, 'B', id)]));

      for (const [index, id] of ids.entries()) {
        const stored = await rows(id);
        expect(stored.map((row) => row.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
        const labels = stored.map((row) => new TextDecoder().decode(row.update));
        for (const [offset, label] of [
          [0, 'A'],
          [1, 'B'],
        ] as const) {
          const mine = labels.filter((value) => value.startsWith(label));
          expect(mine).toEqual(Array.from({ length: 25 }, (_, i) => `${label}${i}`));
          // The seqs each writer reported are where its updates really are.
          const reported = results[index * 2 + offset]!;
          expect(reported.map((seq) => labels[seq - 1])).toEqual(mine);
        }
      }
    });

    it('whenDurable resolves only once everything appended so far is committed', async () => {
      const [a, b] = [uniqueDocId('durable-a'), uniqueDocId('durable-b')];
      await Promise.all([store.ensure(a, newAccess()), store.ensure(b, newAccess())]);
      const log = writer();
      await log.whenDurable(a); // nothing pending: resolves at once

      for (let i = 0; i < 10; i++) void log.append(a, marker(a, i));
      await log.whenDurable(a);
      expect(await rows(a)).toHaveLength(10);

      for (let i = 0; i < 7; i++) {
        void log.append(a, marker(a, 10 + i));
        void log.append(b, marker(b, i));
      }
      await log.whenDurable();
      expect(await rows(a)).toHaveLength(17);
      expect(await rows(b)).toHaveLength(7);
    });

    it('load returns the newest snapshot and the log after it, with the seq they reach', async () => {
      const id = uniqueDocId('load');
      expect(await store.load(id)).toEqual({ seq: 0, updates: [] });
      await store.ensure(id, newAccess());
      expect(await store.load(id)).toEqual({ seq: 0, updates: [] });

      const { updates, text } = yjsEdits(6);
      const log = writer();
      for (const update of updates) void log.append(id, update);
      await log.whenDurable(id);
      const plain = await store.load(id);
      expect(plain.seq).toBe(6);
      expect(plain.updates).toEqual(updates);

      // A snapshot at seq 4 (as compaction writes it); an older one at 2 must be ignored.
      await db.prisma.documentSnapshot.create({ data: { documentId: id, seq: 2, state: bytes(Y.mergeUpdates(updates.slice(0, 2))) } });
      const snapshot4 = Y.mergeUpdates(updates.slice(0, 4));
      await db.prisma.documentSnapshot.create({ data: { documentId: id, seq: 4, state: bytes(snapshot4) } });
      const loaded = await store.load(id);
      expect(loaded.seq).toBe(6);
      expect(loaded.updates).toEqual([snapshot4, updates[4], updates[5]]);
      expect(textOf(loaded.updates)).toBe(text);

      // With the log trimmed up to a snapshot at the head, load is the snapshot alone.
      await db.prisma.documentSnapshot.create({ data: { documentId: id, seq: 6, state: bytes(Y.mergeUpdates(updates)) } });
      await db.prisma.documentUpdate.deleteMany({ where: { documentId: id, seq: { lte: 6 } } });
      const compacted = await store.load(id);
      expect(compacted.seq).toBe(6);
      expect(compacted.updates).toHaveLength(1);
      expect(textOf(compacted.updates)).toBe(text);
    });

    it('load refuses a log with a gap after the snapshot', async () => {
      const id = uniqueDocId('gap');
      await db.prisma.document.create({
        data: { id, headSeq: 3, updates: { create: [{ seq: 1, update: new Uint8Array([0, 0]) }, { seq: 3, update: new Uint8Array([0, 0]) }] } },
      });
      await expect(store.load(id)).rejects.toThrow(/gap/);
    });

    it('compaction snapshots the head, trims only the log the retention lets go, and load gives the same content', async () => {
      const id = uniqueDocId('compact');
      await store.ensure(id, newAccess());
      const { updates, text } = yjsEdits(8);
      const log = writer();
      for (const update of updates.slice(0, 5)) void log.append(id, update);
      await log.whenDurable(id);
      const compaction = createCompactionStore(db.prisma);
      const day = 24 * 3_600_000;
      const keepAll = { snapshotEvery: 3, keepRawLogMs: day, keepCheckpointsMs: 30 * day };

      expect(await compactDocument(compaction, id, keepAll)).toMatchObject({ snapshots: [5], trimmedUpdates: 0 });
      const after = await store.load(id);
      expect(after).toMatchObject({ seq: 5 });
      expect(after.updates).toHaveLength(1);
      expect(await db.prisma.documentUpdate.count({ where: { documentId: id } })).toBe(5); // the raw log stays a day
      expect(await compactDocument(compaction, id, keepAll)).toMatchObject({ snapshots: [], trimmedUpdates: 0 });

      for (const update of updates.slice(5)) void log.append(id, update);
      await log.whenDurable(id);
      // Nothing kept raw: the log goes, up to the head read when the compaction started.
      const later = new Date(Date.now() + 1000);
      expect(await compactDocument(compaction, id, { snapshotEvery: 3, keepRawLogMs: 0, keepCheckpointsMs: 30 * day }, later)).toMatchObject({ trimmedTo: 8, trimmedUpdates: 8 });
      const latest = await store.load(id);
      expect(latest.seq).toBe(8);
      expect(textOf(latest.updates)).toBe(text);
      expect(await db.prisma.documentUpdate.count({ where: { documentId: id } })).toBe(0);
      // The snapshot at 5 was superseded within its hour (not named, not the trim point): pruned.
      expect((await db.prisma.documentSnapshot.findMany({ where: { documentId: id }, select: { seq: true } })).map((row) => row.seq)).toEqual([8]);
      expect(await compactDocument(compaction, uniqueDocId('no-such-doc'), keepAll)).toMatchObject({ snapshots: [] });
    });

    it('compaction replays a long log from the newest snapshot a page at a time, and the snapshot it writes loads the same text', async () => {
      const id = uniqueDocId('compact-pages');
      await store.ensure(id, newAccess());
      const { updates, text } = yjsEdits(2_500);
      const log = writer();
      for (const update of updates.slice(0, 700)) void log.append(id, update);
      await log.whenDurable(id);
      const real = createCompactionStore(db.prisma);
      const keepAll = { snapshotEvery: 700, keepRawLogMs: 24 * 3_600_000, keepCheckpointsMs: 24 * 3_600_000 };
      expect(await compactDocument(real, id, keepAll)).toMatchObject({ snapshots: [700] });

      for (const update of updates.slice(700)) void log.append(id, update);
      await log.whenDurable(id);
      // The replay starts at the snapshot (seq 700) and reads the 1,800 updates after it.
      const pages: number[] = [];
      const paged = {
        ...real,
        async logAfter(documentId: string, afterSeq: number, limit: number) {
          const page = await real.logAfter(documentId, afterSeq, limit);
          pages.push(page.length);
          return page;
        },
      };
      expect(await compactDocument(paged, id, { ...keepAll, snapshotEvery: 1_000 })).toMatchObject({ snapshots: [2_500] });
      expect(pages).toEqual([1_000, 800]);
      const loaded = await store.load(id);
      expect(loaded).toMatchObject({ seq: 2_500 });
      expect(loaded.updates).toHaveLength(1);
      expect(textOf(loaded.updates)).toBe(text);
    });

    it('compaction keeps a checkpoint per hour of editing, readable after the log is trimmed', async () => {
      const id = uniqueDocId('compact-hourly');
      await store.ensure(id, newAccess());
      const { updates } = yjsEdits(6);
      const log = writer();
      for (const update of updates) void log.append(id, update);
      await log.whenDurable(id);
      // Two updates in each of three hours, three to one hour ago.
      const hour = 3_600_000;
      const base = Math.floor(Date.now() / hour) * hour - 3 * hour;
      for (let seq = 1; seq <= 6; seq++) {
        await db.prisma.documentUpdate.update({ where: { documentId_seq: { documentId: id, seq } }, data: { createdAt: new Date(base + Math.floor((seq - 1) / 2) * hour + 60_000 * seq) } });
      }
      const texts = await Promise.all([2, 4, 6].map(async (seq) => textOf((await store.loadAt(id, seq))!)));
      const day = 24 * 3_600_000;
      const result = await compactDocument(createCompactionStore(db.prisma), id, { snapshotEvery: 100, keepRawLogMs: 0, keepCheckpointsMs: day });
      expect(result).toMatchObject({ trimmedTo: 6, trimmedUpdates: 6 });
      const kept = (await db.prisma.documentSnapshot.findMany({ where: { documentId: id }, select: { seq: true }, orderBy: { seq: 'asc' } })).map((row) => row.seq);
      expect(kept).toEqual([2, 4, 6]);
      for (const [index, seq] of [2, 4, 6].entries()) expect(textOf((await store.loadAt(id, seq))!)).toBe(texts[index]);
      expect(await store.loadAt(id, 3)).toBeNull(); // between checkpoints: outside the kept history
    });

    it('compaction never snapshots a log whose updates miss a dependency', async () => {
      const id = uniqueDocId('compact-pending');
      await store.ensure(id, newAccess());
      const { updates } = yjsEdits(2);
      const log = writer();
      await log.append(id, updates[1]!); // depends on updates[0], which is not in the log
      const result = await compactDocument(createCompactionStore(db.prisma), id, { snapshotEvery: 1, keepRawLogMs: 0, keepCheckpointsMs: 0 }, new Date(Date.now() + 1000));
      expect(result).toMatchObject({ snapshots: [], trimmedUpdates: 0 });
      expect(await db.prisma.documentSnapshot.count({ where: { documentId: id } })).toBe(0);
    });

    it('appending to a document without a row rejects with DOC_NOT_FOUND and does not hold up other documents', async () => {
      const [present, alsoPresent, missing] = [uniqueDocId('present'), uniqueDocId('present-2'), uniqueDocId('missing')];
      await Promise.all([store.ensure(present, newAccess()), store.ensure(alsoPresent, newAccess())]);
      const log = writer();
      // Same tick, so all of these are in one group-commit batch.
      const results = await Promise.allSettled([
        log.append(present, marker(present, 0)),
        log.append(missing, marker(missing, 0)),
        log.append(alsoPresent, marker(alsoPresent, 0)),
        log.append(missing, marker(missing, 1)),
        log.append(present, marker(present, 1)),
      ]);
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
      expect((results[0] as PromiseFulfilledResult<number>).value).toBe(1);
      expect((results[4] as PromiseFulfilledResult<number>).value).toBe(2);
      for (const rejected of [results[1], results[3]] as PromiseRejectedResult[]) {
        expect(rejected.reason).toBeInstanceOf(AppError);
        expect(rejected.reason.code).toBe('DOC_NOT_FOUND');
      }
      expect(await db.prisma.document.findUnique({ where: { id: missing } })).toBeNull();
      expect(await db.prisma.documentUpdate.count({ where: { documentId: missing } })).toBe(0);

      // The writer keeps going.
      expect(await log.append(present, marker(present, 2))).toBe(3);
      expect(await log.append(alsoPresent, marker(alsoPresent, 1))).toBe(2);
      await expect(log.append(missing, marker(missing, 2))).rejects.toMatchObject({ code: 'DOC_NOT_FOUND' });
      expect((await rows(present)).map((row) => row.seq)).toEqual([1, 2, 3]);
    });

    it('close commits what is pending, then refuses appends with SHUTTING_DOWN', async () => {
      const id = uniqueDocId('close');
      await store.ensure(id, newAccess());
      const log = createOpLogWriter(db.sql, logger);
      const pending = Array.from({ length: 12 }, (_, i) => log.append(id, marker(id, i)));
      await log.close();
      expect(await Promise.all(pending)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(await rows(id)).toHaveLength(12);
      await expect(log.append(id, marker(id, 12))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
      expect(await rows(id)).toHaveLength(12);
    });
  });
  describe('access repository (keys, socket tokens, members, the access epoch)', () => {
    let access: ReturnType<typeof createAccessRepository>;
    const newUser = async (label: string) => {
      const id = uniqueDocId(label);
      await db.prisma.user.create({ data: { id, email: `${id}@example.com`, passwordHash: 'x' } });
      return id;
    };
    beforeAll(async () => {
      await migrate(db);
      access = createAccessRepository(db.prisma, db.sql);
    });

    it('ensure without creation rights refuses a missing document and makes nothing', async () => {
      const id = uniqueDocId('ensure-null');
      await expect(store.ensure(id, null)).rejects.toMatchObject({ code: 'DOC_NOT_FOUND' });
      expect(await headSeq(id)).toBeUndefined();
      await store.ensure(id, newAccess());
      await expect(store.ensure(id, null)).resolves.toBeUndefined();
    });

    it('finds a document by either key hash, with the permission that key gives', async () => {
      const id = uniqueDocId('key-hash');
      const hashes = newDocumentKeys().hashes;
      await store.ensure(id, { workspaceId: null, ...hashes });
      expect(await access.documentByKeyHash(hashes.readKeyHash)).toEqual({ documentId: id, permission: 'read', keyHash: hashes.readKeyHash });
      expect(await access.documentByKeyHash(hashes.writeKeyHash)).toMatchObject({ documentId: id, permission: 'write' });
      const rotated = newDocumentKeys().hashes;
      const before = await access.epoch();
      await access.setDocumentKeys(id, rotated);
      expect(await access.documentByKeyHash(hashes.writeKeyHash)).toBeNull();
      expect(await access.epoch()).toBe(before + 1n);
    });

    it('a socket token is consumed once, even by concurrent sockets, and not after it expires', async () => {
      const grant = { credentialKind: 'user' as const, subject: 'u1', credentialHash: null, documentId: null, credentialExpiresAt: new Date(Date.now() + 900_000) };
      await access.saveSocketToken('hash-once', grant, new Date(Date.now() + 60_000));
      const results = await Promise.all(Array.from({ length: 5 }, () => access.consumeSocketToken('hash-once')));
      expect(results.filter((result) => result !== null)).toEqual([grant]);
      await access.saveSocketToken('hash-old', grant, new Date(Date.now() - 1000));
      expect(await access.consumeSocketToken('hash-old')).toBeNull();
    });

    it('makes no API key past the limit of unrevoked keys; a revoked one does not count', async () => {
      const userId = await newUser('key-limit');
      const key = () => ({
        id: uniqueDocId('key'), userId, name: 'k', keyHash: uniqueDocId('hash'), prefix: 'tdm_x', scopes: ['read' as const], workspaceId: null, documentIds: [],
      });
      const first = await access.createApiKey(key(), 2);
      expect(await access.createApiKey(key(), 2)).not.toBeNull();
      expect(await access.createApiKey(key(), 2)).toBeNull();
      expect(await access.apiKeysOf(userId)).toHaveLength(2);
      await access.revokeApiKey(userId, first!.id);
      expect(await access.createApiKey(key(), 2)).not.toBeNull();
    });

    it('revoking an API key bumps the access epoch once; a second revoke finds nothing', async () => {
      const userId = await newUser('key-owner');
      await access.createApiKey({
        id: uniqueDocId('key'), userId, name: 'k', keyHash: uniqueDocId('hash'), prefix: 'tdm_x', scopes: ['read'], workspaceId: null, documentIds: [],
      }, 10);
      const [key] = await access.apiKeysOf(userId);
      const before = await access.epoch();
      expect(await access.revokeApiKey(userId, key!.id)).toBe(true);
      expect(await access.revokeApiKey(userId, key!.id)).toBe(false);
      expect(await access.epoch()).toBe(before + 1n);
      expect((await access.apiKey(key!.id))?.revokedAt).not.toBeNull();
      expect(await access.apiKeysOf(userId)).toEqual([]);
    });

    it('a workspace always keeps an owner, even when its two owners demote each other at once', async () => {
      const [a, b] = [await newUser('owner-a'), await newUser('owner-b')];
      const workspace = await access.createWorkspace(uniqueDocId('ws'), 'W', a);
      await access.setMember(workspace.id, b, 'owner');
      const results = await Promise.allSettled([access.setMember(workspace.id, a, 'member'), access.setMember(workspace.id, b, 'member')]);
      expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((results.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'LAST_OWNER' });
      const owners = (await access.members(workspace.id)).filter((member) => member.role === 'owner');
      expect(owners).toHaveLength(1);
      await expect(access.removeMember(workspace.id, owners[0]!.userId)).rejects.toMatchObject({ code: 'LAST_OWNER' });
    });

    it('verifying an address spends its token once and turns the invitations waiting for it into a membership and a share', async () => {
      const invitations = createInvitationRepository(db.prisma);
      const verification = createVerificationRepository(db.prisma);
      const owner = await newUser('inviting-owner');
      const invitee = await newUser('invitee');
      const email = `${invitee}@example.com`;
      const workspace = await access.createWorkspace(uniqueDocId('ws-invite'), 'W', owner);
      const documentId = uniqueDocId('doc-invite');
      await store.ensure(documentId, newAccess());
      expect(await invitations.inviteToWorkspace({ workspaceId: workspace.id, email, role: 'member', invitedBy: owner }, 10)).toMatchObject({ email, role: 'member' });
      expect(await invitations.inviteToDocument({ documentId, email, permission: 'write', invitedBy: owner }, 10)).toMatchObject({ email, permission: 'write' });
      // The cap counts the others: a second address does not fit under a cap of one.
      expect(await invitations.inviteToDocument({ documentId, email: 'other@example.com', permission: 'read', invitedBy: owner }, 1)).toBeNull();
      expect(await access.verifiedUserIdByEmail(email)).toBeNull();

      await verification.saveVerificationToken({ tokenHash: 'first', userId: invitee, email, expiresAt: new Date(Date.now() + 60_000) });
      await verification.saveVerificationToken({ tokenHash: 'second', userId: invitee, email, expiresAt: new Date(Date.now() + 60_000) });
      expect(await verification.consumeVerificationToken('first')).toBeNull();
      const uses = await Promise.all([1, 2, 3].map(() => verification.consumeVerificationToken('second')));
      expect(uses.filter((use) => use !== null)).toEqual([{ userId: invitee, email }]);

      expect(await verification.verifyEmail(invitee, 'not-their@example.com')).toBeNull();
      const result = await verification.verifyEmail(invitee, email);
      expect(result).toMatchObject({ user: { id: invitee, email, emailVerifiedAt: expect.any(Date) }, memberships: 1, shares: 1 });
      expect(await access.verifiedUserIdByEmail(email)).toBe(invitee);
      expect(await access.role(workspace.id, invitee)).toBe('member');
      expect(await access.share(documentId, invitee)).toBe('write');
      expect(await invitations.workspaceInvitations(workspace.id)).toEqual([]);
      expect(await invitations.documentInvitations(documentId)).toEqual([]);

      await verification.saveVerificationToken({ tokenHash: 'expired', userId: invitee, email, expiresAt: new Date(Date.now() - 1000) });
      expect(await verification.consumeVerificationToken('expired')).toBeNull();
    });
  });
});
