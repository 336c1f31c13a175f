import { describe, expect, it } from 'vitest';
import { createConcurrencyGate } from '../../src/access/concurrency-gate.ts';
import { AppError } from '../../src/errors.ts';

/** A task that runs until released. */
function held() {
  let release = () => {};
  let started = false;
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    task: async () => {
      started = true;
      await done;
      return 'done';
    },
    release: () => release(),
    get started() {
      return started;
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('concurrency gate (password hashing)', () => {
  it('runs at most `concurrency` tasks, the rest in arrival order, and refuses past maxWaiting with RATE_LIMITED', async () => {
    const gate = createConcurrencyGate({ concurrency: 2, maxWaiting: 2, busyDetail: 'busy' });
    const tasks = [held(), held(), held(), held()];
    const results = tasks.map((t) => gate.run(t.task));
    await tick();
    expect(tasks.map((t) => t.started)).toEqual([true, true, false, false]);
    expect(gate.load).toEqual({ running: 2, waiting: 2 });

    const refused = await gate.run(async () => 'never').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', message: 'busy', retryAfterSeconds: 1 });

    tasks[1]!.release();
    await tick();
    expect(tasks.map((t) => t.started)).toEqual([true, true, true, false]);
    for (const t of tasks) t.release();
    expect(await Promise.all(results)).toEqual(['done', 'done', 'done', 'done']);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('frees the slot of a task that fails', async () => {
    const gate = createConcurrencyGate({ concurrency: 1, maxWaiting: 0, busyDetail: 'busy' });
    await expect(gate.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await gate.run(async () => 'next')).toBe('next');
  });
});
