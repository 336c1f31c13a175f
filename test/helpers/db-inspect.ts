import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import * as Y from 'yjs';
import { TEST_DATABASE_URL } from './node.ts';

/**
 * Direct SQL access to a node's tables, to check what was really stored (not what the node
 * says it stored). Postgres through `pg`; PGlite by opening the data folder once the node
 * that owns it has closed (PGlite is single-process).
 */
export interface StoreInspector {
  updates(documentId: string): Promise<{ seq: number; update: Uint8Array }[]>;
  snapshots(documentId: string): Promise<{ seq: number; state: Uint8Array }[]>;
  /** head_seq of the document row, or undefined when there is no row. */
  headSeq(documentId: string): Promise<number | undefined>;
  /** A document row with head_seq = updates.length and those updates at seq 1..n. */
  insertDocument(documentId: string, updates: Uint8Array[]): Promise<void>;
  close(): Promise<void>;
}

type Query = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

function inspector(query: Query, close: () => Promise<void>): StoreInspector {
  const bytes = (value: unknown) => new Uint8Array(value as Uint8Array);
  return {
    async updates(documentId) {
      const rows = await query('SELECT seq, "update" FROM document_updates WHERE document_id = $1 ORDER BY seq', [
        documentId,
      ]);
      return rows.map((row) => ({ seq: Number(row.seq), update: bytes(row.update) }));
    },
    async snapshots(documentId) {
      const rows = await query('SELECT seq, state FROM document_snapshots WHERE document_id = $1 ORDER BY seq', [
        documentId,
      ]);
      return rows.map((row) => ({ seq: Number(row.seq), state: bytes(row.state) }));
    },
    async headSeq(documentId) {
      const rows = await query('SELECT head_seq FROM documents WHERE id = $1', [documentId]);
      return rows[0] === undefined ? undefined : Number(rows[0].head_seq);
    },
    async insertDocument(documentId, updates) {
      await query('INSERT INTO documents (id, head_seq) VALUES ($1, $2)', [documentId, updates.length]);
      for (const [index, update] of updates.entries()) {
        await query('INSERT INTO document_updates (document_id, seq, "update") VALUES ($1, $2, $3)', [
          documentId,
          index + 1,
          Buffer.from(update),
        ]);
      }
    },
    close,
  };
}

export function inspectPostgres(url = TEST_DATABASE_URL): StoreInspector {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return inspector(
    async (sql, params) => (await pool.query(sql, params)).rows,
    () => pool.end(),
  );
}

/** Only while no node has the folder open. */
export async function inspectPGlite(dataDir: string): Promise<StoreInspector> {
  const db = await PGlite.create(dataDir);
  return inspector(
    async (sql, params) => (await db.query<Record<string, unknown>>(sql, params)).rows,
    () => db.close(),
  );
}

/** A fresh Y.Doc holding the given updates (snapshot and/or log rows), applied in order. */
export function docFrom(updates: Uint8Array[]): Y.Doc {
  const doc = new Y.Doc();
  for (const update of updates) Y.applyUpdate(doc, update);
  return doc;
}

/** Whether an encoded update carries the struct created by `client` at `clock`. */
export function updateHasStruct(update: Uint8Array, client: number, clock: number): boolean {
  return Y.decodeUpdate(update).structs.some(
    (struct) => struct.id.client === client && struct.id.clock <= clock && clock < struct.id.clock + struct.length,
  );
}

/** A comparable summary of an update: its structs (client, clock, length) and its delete set. */
export function updateShape(update: Uint8Array): { structs: number[][]; deletes: number[][] } {
  const { structs, ds } = Y.decodeUpdate(update);
  const deletes: number[][] = [];
  for (const [client, items] of [...ds.clients.entries()].sort(([a], [b]) => a - b)) {
    for (const item of items) deletes.push([client, item.clock, item.len]);
  }
  return {
    structs: structs
      .filter((struct) => !(struct instanceof Y.Skip))
      .map((struct) => [struct.id.client, struct.id.clock, struct.length]),
    deletes,
  };
}
