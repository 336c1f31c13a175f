import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createProcessors } from '../../workers/processors.ts';
import { loadConfig } from '../../src/config.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { RUNNER_KINDS, startJobRunner, type TestJobRunner } from '../helpers/job-runners.ts';
import { startTestNode, TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { editHistory, insertLog } from '../helpers/edit-history.ts';
import { type RestClient, restClient } from '../helpers/rest.ts';

const count = async (client: pg.Client, table: string, id: string) =>
  Number((await client.query(`SELECT count(*) FROM ${table} WHERE document_id = $1`, [id])).rows[0].count);

describe.each(RUNNER_KINDS)('compaction on the %s runner', (kind) => {
  let node: TestNode;
  let rest: RestClient;
  let database: Database;
  let runner: TestJobRunner;
  let sql: pg.Client;
  beforeAll(async () => {
    // The node compacts nothing by itself here: only the runner under test does.
    node = await startTestNode('postgres', { env: { SNAPSHOT_EVERY: '1000000', COMPACT_SWEEP_MS: '0' } });
    rest = restClient(node.url);
    const logger = pino({ level: 'silent' });
    // No raw log kept: everything older than now may be trimmed, so the log ends short.
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, KEEP_RAW_LOG_HOURS: '0' });
    database = await openDatabase(config.storage, logger);
    runner = await startJobRunner(kind, { processors: (jobs) => createProcessors({ prisma: database.prisma, sql: database.sql, jobs, config, logger }) });
    sql = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await sql.connect();
  });
  afterAll(async () => {
    await runner?.close();
    await node?.close();
    await database?.close();
    await sql?.end();
  });

  /** Publishes `compact` and waits until the log is trimmed to at most `maxLog` entries. */
  async function compact(id: string, maxLog = 0): Promise<void> {
    await runner.jobs.publish('compact', { documentId: id });
    await waitFor(async () => (await count(sql, 'document_updates', id)) <= maxLog && (await runner.jobs.counts()).compaction.active === 0, 'the compaction', 30_000);
  }

  it('after 10,000 updates leaves a snapshot and a short log, loads the same content and still merges patches on a kept base', async () => {
    const id = uniqueDocId(`compact-${kind}`);
    const { updates, textAt } = editHistory(10_000, 7, [5000, 10_000]);
    await insertLog(sql, id, updates);
    expect((await rest.post(`/v1/documents/${id}/versions`, { name: 'halfway', version: 5000 })).status).toBe(201);

    await compact(id);
    const snapshots = (await sql.query('SELECT seq FROM document_snapshots WHERE document_id = $1 ORDER BY seq', [id])).rows.map((row) => row.seq);
    expect(snapshots).toContain(10_000);
    expect(snapshots).toContain(5000);
    const read = await rest.get(`/v1/documents/${id}`);
    expect(read.body).toMatchObject({ content: textAt(10_000), version: 10_000 });
    expect((await rest.get(`/v1/documents/${id}/versions/5000`)).body.content).toBe(textAt(5000));
    // The trimmed history still lists the versions the snapshots keep.
    const listed = (await rest.get(`/v1/documents/${id}/versions`)).body.versions as { version: number; authorKind: string }[];
    expect(listed).toEqual(expect.arrayContaining([{ version: 10_000, authorKind: 'snapshot', author: null, createdAt: expect.any(String), names: [] }]));
    expect(listed.find((entry) => entry.version === 5000)).toMatchObject({ authorKind: 'snapshot', names: ['halfway'] });

    // The same job again (twice) changes nothing.
    await compact(id);
    await compact(id);
    expect((await rest.get(`/v1/documents/${id}`)).body.content).toBe(textAt(10_000));

    // A patch on the named version merges with everything after it; a trimmed base is gone.
    const patched = await rest.patch(`/v1/documents/${id}`, { base: 5000, edits: [{ prepend: 'AGENT ' }] });
    expect(patched.status).toBe(200);
    // Where "AGENT " lands among later inserts at the very start depends on Yjs's client ids; that it lands once, and nothing else changed, does not.
    const merged = (await rest.get(`/v1/documents/${id}`)).body.content as string;
    expect(merged.split('AGENT ')).toHaveLength(2);
    expect(merged.replace('AGENT ', '')).toBe(textAt(10_000));
    const gone = await rest.patch(`/v1/documents/${id}`, { base: 4000, edits: [{ prepend: 'x' }] });
    expect(gone.status).toBe(409);
    expect(gone.body.code).toBe('BASE_VERSION_GONE');
  });

  it('keeps who wrote what once the log is trimmed: blame names the authors, and revert needs a kept history', async () => {
    const id = uniqueDocId(`compact-authors-${kind}`);
    await rest.post('/v1/documents', { id, content: 'First.\n' }, { 'agent-name': 'Opener' });
    await rest.patch(`/v1/documents/${id}`, { edits: [{ append: 'Second.\n' }] }, { 'agent-name': 'Closer' });
    const before = (await rest.get(`/v1/documents/${id}/blame`)).body;
    await compact(id);
    const after = (await rest.get(`/v1/documents/${id}/blame`)).body;
    // The same authors and versions (each of these versions was its author's first), from the client map alone.
    expect(after).toEqual(before);
    expect(after.spans.map((span: { author: { name: string }; version: number }) => [span.author.name, span.version])).toEqual([
      ['Opener', 1],
      ['Closer', 2],
    ]);
    const revert = await rest.post(`/v1/documents/${id}/revert`, { author: after.spans[1].author.id, since: 0 });
    expect(revert.status).toBe(409);
    expect(revert.body.code).toBe('BASE_VERSION_GONE');
    // By default, as far back as the log is kept: here nothing.
    expect((await rest.post(`/v1/documents/${id}/revert`, { author: after.spans[1].author.id })).body).toMatchObject({ changed: false, version: 2 });
  });

  it('runs while a client types without changing or losing any content', async () => {
    const id = uniqueDocId(`compact-live-${kind}`);
    const { updates, textAt } = editHistory(2000, 11, [2000]);
    await insertLog(sql, id, updates);
    const client = yWebsocketClient(node.wsUrl, id);
    await whenSynced(client.provider);
    expect(client.text.toString()).toBe(textAt(2000));
    const tokens: string[] = [];
    for (let round = 0; round < 5; round++) {
      await runner.jobs.publish('compact', { documentId: id });
      for (let i = 0; i < 10; i++) {
        const token = `[t${round}.${i}]`;
        tokens.push(token);
        client.text.insert(client.text.length, token);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
    await waitFor(async () => (await rest.get(`/v1/documents/${id}`)).body.content === client.text.toString(), 'the stored content to match the client');
    await compact(id, Number.POSITIVE_INFINITY);
    const after = (await rest.get(`/v1/documents/${id}`)).body.content as string;
    expect(after).toBe(client.text.toString());
    for (const token of tokens) expect(after.split(token)).toHaveLength(2);
    client.provider.destroy();
  });

  it('never snapshots a log whose updates miss a dependency, and then trims nothing', async () => {
    const id = uniqueDocId(`compact-pending-${kind}`);
    const author = new Y.Doc();
    const parts: Uint8Array[] = [];
    author.on('update', (update: Uint8Array) => parts.push(update));
    author.getText('content').insert(0, 'x');
    author.getText('content').insert(1, 'y');
    // Only the second edit is stored: it depends on the first, which never arrived.
    await insertLog(sql, id, [parts[1]!]);
    await runner.jobs.publish('compact', { documentId: id });
    await waitFor(async () => {
      const counts = (await runner.jobs.counts()).compaction;
      return counts.waiting + counts.active + counts.delayed === 0;
    }, 'the compaction to finish');
    expect(await count(sql, 'document_snapshots', id)).toBe(0);
    expect(await count(sql, 'document_updates', id)).toBe(1);
  });
});
