import type pg from 'pg';
import * as Y from 'yjs';
import { seededRandom } from './random.ts';

/** A document with `count` updates, one small edit each, and its text at the versions in `keep`. */
export function editHistory(count: number, seed: number, keep: number[]): { updates: Uint8Array[]; textAt: (seq: number) => string } {
  const random = seededRandom(seed);
  const doc = new Y.Doc();
  const text = doc.getText('content');
  const updates: Uint8Array[] = [];
  const texts = new Map<number, string>();
  doc.on('update', (update: Uint8Array) => {
    updates.push(update);
    if (keep.includes(updates.length)) texts.set(updates.length, text.toString());
  });
  for (let i = 0; i < count; i++) {
    if (text.length > 20 && random() < 0.3) text.delete(Math.floor(random() * (text.length - 3)), 3);
    else text.insert(Math.floor(random() * (text.length + 1)), `w${i} `);
  }
  return { updates, textAt: (seq) => texts.get(seq)! };
}

/** Stores `updates` as a new document's op log (seq 1..n), bypassing the server, in one statement. */
export async function insertLog(client: pg.Client, id: string, updates: Uint8Array[]): Promise<void> {
  await client.query('INSERT INTO documents (id, head_seq) VALUES ($1, $2)', [id, updates.length]);
  await client.query(
    'INSERT INTO document_updates (document_id, seq, "update") SELECT $1, s, u FROM unnest($2::int[], $3::bytea[]) AS t(s, u)',
    [id, updates.map((_, index) => index + 1), updates.map((update) => Buffer.from(update))],
  );
}

