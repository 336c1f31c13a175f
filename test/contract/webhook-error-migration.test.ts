import { readFileSync } from 'node:fs';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { makeTempDir, removeDir, TEST_DATABASE_URL, uniqueDocId } from '../helpers/node.ts';

const MIGRATION = new URL('../../prisma/migrations/20261216000000_webhook_errors_without_bodies/migration.sql', import.meta.url);
const logger = pino({ level: 'silent' });

/** A fresh database of each kind, migrated; dispose drops it. */
async function freshPostgres(): Promise<{ db: Database; dispose(): Promise<void> }> {
  const name = `tandem_whmig_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const db = await openDatabase({ kind: 'postgres', url: url.toString() }, logger);
  return {
    db,
    async dispose() {
      await db.close();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function freshPglite(): Promise<{ db: Database; dispose(): Promise<void> }> {
  const dataDir = await makeTempDir();
  const db = await openDatabase({ kind: 'embedded', dataDir }, logger);
  return {
    db,
    async dispose() {
      await db.close();
      await removeDir(dataDir);
    },
  };
}

/**
 * Issue 16: failures stored before the fix kept receivers' bodies and network error codes.
 * The migration rewrites them to what is stored now. It is run again here over rows written
 * the old way (it is idempotent), on both databases.
 */
describe.each([
  ['Postgres', freshPostgres],
  ['embedded PGlite', freshPglite],
] as const)('the webhook error scrub on %s', (_label, fresh) => {
  let handle: Awaited<ReturnType<typeof fresh>>;

  beforeAll(async () => {
    handle = await fresh();
    await migrate(handle.db);
  });
  afterAll(async () => {
    await handle?.dispose();
  });

  it('keeps only "HTTP <status>" or "no answer" of what was stored before', async () => {
    const { prisma } = handle.db;
    const workspaceId = uniqueDocId('ws-scrub');
    await prisma.workspace.create({ data: { id: workspaceId, name: 'scrub' } });
    const before = {
      body: 'HTTP 500: {"error":"db down","dsn":"postgres://admin:secret@10.0.0.7/prod"}',
      refused: 'fetch failed: ECONNREFUSED',
      timeout: 'no answer within 10000 ms',
      status: 'HTTP 503',
      dropped: 'not sent: the webhook is disabled',
      blocked: 'address not allowed',
    };
    const ids = Object.fromEntries(
      await Promise.all(
        Object.entries(before).map(async ([key, lastError]) => {
          const id = uniqueDocId(`wh-${key}`);
          await prisma.webhook.create({ data: { id, workspaceId, url: 'https://hooks.example.com/x', events: ['mention'], secret: 'whsec_xxxxxxxxxxxxxxxx', lastError } });
          await prisma.webhookDelivery.create({ data: { id: `${id}-d`, webhookId: id, event: 'mention', payload: {}, lastError } });
          return [key, id] as const;
        }),
      ),
    );

    const sql = readFileSync(MIGRATION, 'utf8');
    await handle.db.runScriptsExclusively(1, async (exec) => void (await exec(sql)));

    const after = async (id: string) => [
      (await prisma.webhook.findUniqueOrThrow({ where: { id } })).lastError,
      (await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: `${id}-d` } })).lastError,
    ];
    expect(await after(ids.body!)).toEqual(['HTTP 500', 'HTTP 500']);
    expect(await after(ids.refused!)).toEqual(['no answer', 'no answer']);
    expect(await after(ids.timeout!)).toEqual(['no answer', 'no answer']);
    expect(await after(ids.status!)).toEqual(['HTTP 503', 'HTTP 503']);
    expect(await after(ids.dropped!)).toEqual([before.dropped, before.dropped]);
    expect(await after(ids.blocked!)).toEqual(['address not allowed', 'address not allowed']);
  });
});
