import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import type { SqlQuery } from '../../src/storage/database.ts';
import { createOpLogWriter } from '../../src/storage/op-log.ts';

/**
 * The op log's side of a shutdown past its deadline, against a stand-in for the database whose
 * commits the test holds, fails or lets through: after abandon() nothing is acknowledged.
 */
describe('op log abandon', () => {
  const logger = pino({ level: 'silent' });

  /** The commit statement's document ids are its sixth parameter; every document exists at head 0. */
  function fakeDatabase(answer: (ids: string[]) => Promise<{ id: string; head_seq: number }[]>) {
    const calls: string[][] = [];
    const sql = {
      query: (_name: string, _text: string, values: unknown[]) => {
        const ids = values[8] as string[]; // the documents whose heads the statement locks
        calls.push(ids);
        return answer(ids);
      },
    } as SqlQuery;
    return { sql, calls };
  }
  const heads = (ids: string[]) => ids.map((id) => ({ id, head_seq: 0 }));
  const update = new Uint8Array([1, 2, 3]);
  const settled = (promise: Promise<unknown>) => {
    const state = { settled: false };
    promise.then(() => (state.settled = true), () => (state.settled = true));
    return state;
  };
  const turns = async (n = 5) => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('acknowledges commits as usual until then', async () => {
    const { sql } = fakeDatabase(async (ids) => heads(ids));
    const log = createOpLogWriter(sql, logger);
    await expect(Promise.all([log.append('a', update), log.append('a', update)])).resolves.toEqual([1, 2]);
    await log.close();
  });

  it('counts what each document still holds, and acknowledges nothing after, not even a commit that lands later', async () => {
    let land!: () => void;
    const { sql, calls } = fakeDatabase((ids) => new Promise((resolve) => (land = () => resolve(heads(ids)))));
    const log = createOpLogWriter(sql, logger);
    const appends = [log.append('a', update), log.append('b', update), log.append('a', update)];
    await turns();
    expect(calls).toHaveLength(1); // the batch is at the database
    const queued = log.append('c', update); // waits for the next batch

    expect(log.abandon()).toEqual(new Map([['a', 2], ['b', 1], ['c', 1]]));
    const states = [...appends, queued].map(settled);
    const durable = settled(log.whenDurable());
    land();
    await turns(10);
    expect(states.map((state) => state.settled)).toEqual([false, false, false, false]);
    expect(durable.settled).toBe(false);
    expect(calls).toHaveLength(1); // the queued append is not committed either
    await expect(log.append('d', update)).rejects.toEqual(new AppError('SHUTTING_DOWN'));
    await expect(log.close()).rejects.toThrow('abandoned before every update was committed');
  });

  it('stops retrying a failing commit', async () => {
    const { sql, calls } = fakeDatabase(async () => {
      throw new Error('connection refused');
    });
    const log = createOpLogWriter(sql, logger);
    const append = settled(log.append('a', update));
    const started = Date.now();
    while (calls.length < 2) {
      if (Date.now() - started > 5_000) throw new Error('the commit was not retried');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(log.abandon()).toEqual(new Map([['a', 1]]));
    const attempts = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 500)); // past several backoffs (50, 100, 200 ms…)
    expect(calls).toHaveLength(attempts);
    expect(append.settled).toBe(false);
  });
});
