import { mkdir } from 'node:fs/promises';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { Logger } from 'pino';
import { PrismaClient } from '../generated/prisma/client.ts';

/** The database a node runs on: Postgres when DATABASE_URL is set, embedded PGlite otherwise. */
export interface Database {
  readonly kind: 'postgres' | 'embedded';
  readonly prisma: PrismaClient;
  /** The hot path's statements (op-log.ts), past Prisma's runtime. */
  readonly sql: SqlQuery;
  /** Runs a multi-statement SQL script on one session (migrations), holding `lockKey` meanwhile. */
  runScriptsExclusively(lockKey: number, run: (exec: (sql: string) => Promise<unknown[]>) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/**
 * One parameterized statement, by name: Postgres prepares it once per connection (parsed and
 * planned once, not on every commit) and takes Uint8Array parameters as bytea.
 */
export interface SqlQuery {
  query<Row>(name: string, text: string, values: unknown[]): Promise<Row[]>;
}

export type DatabaseOptions = { kind: 'postgres'; url: string } | { kind: 'embedded'; dataDir: string };

export async function openDatabase(options: DatabaseOptions, logger: Logger): Promise<Database> {
  return options.kind === 'postgres' ? openPostgres(options.url, logger) : openEmbedded(options.dataDir);
}

function openPostgres(url: string, logger: Logger): Database {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. The pool replaces the client on the next query.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle Postgres connection lost; reconnecting on next use'));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    prisma,
    sql: {
      async query<Row>(name: string, text: string, values: unknown[]) {
        return (await pool.query({ name, text, values })).rows as Row[];
      },
    },
    async runScriptsExclusively(lockKey, run) {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [lockKey]);
        try {
          // No parameters: pg uses the simple protocol, which accepts several statements.
          await run(async (sql) => (await client.query(sql)).rows ?? []);
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [lockKey]);
        }
      } finally {
        client.release();
      }
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * Postgres's page cache inside PGlite's WebAssembly memory. initdb's 128 MB is touched at start
 * and held for good (about 145 MB more RSS at idle, measured); reads past this cache come
 * from the files through the operating system's own cache, so an embedded node loses little.
 */
const EMBEDDED_SHARED_BUFFERS = '16MB';

async function openEmbedded(dataDir: string): Promise<Database> {
  // Loaded only here: a node on Postgres need not hold PGlite's code and WebAssembly.
  const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
  await mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`] });
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    kind: 'embedded',
    prisma,
    sql: {
      // In process: there is no round trip or planning worth a prepared statement.
      async query<Row>(_name: string, text: string, values: unknown[]) {
        return (await pglite.query<Row>(text, values)).rows;
      },
    },
    async runScriptsExclusively(_lockKey, run) {
      // PGlite is single-connection and in-process: nothing else can run a migration at once.
      await run(async (sql) => {
        const results = await pglite.exec(sql);
        return results.at(-1)?.rows ?? [];
      });
    },
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
