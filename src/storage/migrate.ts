import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RAISE_CLOCK_OFFSET_SQL } from './change-clock.ts';
import type { Database } from './database.ts';
import { projectRoot } from '../project-root.ts';

const MIGRATIONS_DIR = join(projectRoot(), 'prisma', 'migrations');
/** Arbitrary constant: the advisory lock that serializes migrations across nodes. */
const MIGRATION_LOCK = 72_616_001;

/**
 * Applies prisma/migrations/<name>/migration.sql in name order, each in its own transaction,
 * recording them in Prisma's own _prisma_migrations table so `prisma migrate status` stays
 * meaningful. Prisma 7's CLI cannot migrate through a driver adapter (and so not PGlite),
 * hence this small migrator shared by both databases. Then it keeps the change clock ahead
 * of what is stored (change-clock.ts).
 */
export async function migrate(db: Database): Promise<string[]> {
  const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const applied: string[] = [];

  await db.runScriptsExclusively(MIGRATION_LOCK, async (exec) => {
    await exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const rows = (await exec(
      `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    )) as { migration_name: string }[];
    const done = new Set(rows.map((row) => row.migration_name));

    for (const name of names) {
      if (done.has(name)) continue;
      const sql = await readFile(join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      await exec(`BEGIN;
${sql}
;
INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
VALUES ('${randomUUID()}', '${checksum}', now(), '${name.replaceAll("'", "''")}', 1);
COMMIT;`).catch(async (error: unknown) => {
        // The session may already be gone; the migration's own error is the one to report.
        await exec('ROLLBACK').catch(() => undefined);
        throw new Error(`Migration ${name} failed: ${(error as Error).message}`, { cause: error });
      });
      applied.push(name);
    }
    await exec(RAISE_CLOCK_OFFSET_SQL);
  });
  return applied;
}
