import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { SqlQuery } from '../../src/storage/database.ts';
import { createOpLogWriter } from '../../src/storage/op-log.ts';

/**
 * The op log's commit window: a busy node folds what arrives within a window into one commit,
 * a node with one writer waiting for each answer commits each append at once. Against a
 * stand-in for the database that answers on the next turn of the event loop and counts commits.
 */
describe('op log commit window', () => {
  const logger = pino({ level: 'silent' });
  const update = new Uint8Array([1, 2, 3]);

  function countingDatabase() {
    const heads = new Map<string, number>();
    const batches: number[] = [];
    const sql = {
      query: async (_name: string, _text: string, values: unknown[]) => {
        const [documentIds, , , , , , , , ids] = values as [string[], number[], unknown, unknown, unknown, unknown, unknown, unknown, string[]];
        batches.push(documentIds.length);
        await new Promise((resolve) => setImmediate(resolve));
        const rows = ids.map((id) => ({ id, head_seq: heads.get(id) ?? 0 }));
        for (const id of documentIds) heads.set(id, (heads.get(id) ?? 0) + 1);
        return rows;
      },
    } as SqlQuery;
    return { sql, batches };
  }

  it('folds a busy node\'s appends into a few commits, every one acknowledged with its seq', async () => {
    const { sql, batches } = countingDatabase();
    const log = createOpLogWriter(sql, logger);
    // 50 documents, an append to each every millisecond or so, 40 times.
    const appends: Promise<number>[] = [];
    const started = performance.now();
    for (let round = 0; round < 40; round++) {
      for (let doc = 0; doc < 50; doc++) appends.push(log.append(`doc-${doc}`, update));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const elapsed = performance.now() - started;
    const seqs = await Promise.all(appends);
    await log.close();

    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(appends.length);
    // Without the window every round is a commit (40); with it, one per 20 ms, and the first
    // round or two before the rate is known.
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(elapsed / 20) + 3);
    expect(seqs.filter((_, index) => index % 50 === 0)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('commits a lone writer\'s appends at once, one after another', async () => {
    const { sql, batches } = countingDatabase();
    const log = createOpLogWriter(sql, logger);
    const started = performance.now();
    for (let i = 1; i <= 20; i++) expect(await log.append('agent-doc', update)).toBe(i);
    const elapsed = performance.now() - started;
    await log.close();

    expect(batches).toEqual(Array.from({ length: 20 }, () => 1));
    // Held for a window each, 20 appends would take at least 20 × 20 ms.
    expect(elapsed).toBeLessThan(200);
  });
});
