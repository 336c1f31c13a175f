import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Closable, type Leftovers, shutdownOnSignal } from '../../src/shutdown.ts';

/** The deadline runner around a node or worker: exactly one exit, with the right code and words. */
describe('shutdownOnSignal', () => {
  const TIMEOUT_MS = 2_000;
  let lines: Record<string, unknown>[];
  let exits: number[];
  const leftovers: Leftovers = { stage: 'letting rooms unload', summary: '3 updates to 1 document were never committed: doc (3).', details: { unsavedUpdates: { doc: 3 } } };

  beforeEach(() => {
    vi.useFakeTimers();
    lines = [];
    exits = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setUp(target: Closable, logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) })) {
    return shutdownOnSignal({ target, timeoutMs: TIMEOUT_MS, logger, stopping: 'shutting down', exit: (code) => void exits.push(code) });
  }

  /** A close that settles when the test says so. */
  function controlledClose() {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const closing = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { close: vi.fn(() => closing), abandon: vi.fn(() => leftovers), resolve, reject };
  }
  const messages = () => lines.map((line) => line.msg);

  it('exits 0 once the close completes in time, and never calls abandon', async () => {
    const target = controlledClose();
    const stop = setUp(target);
    stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(exits).toEqual([]);
    target.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(exits).toEqual([0]);
    expect(messages()).toEqual([`shutting down (giving up after SHUTDOWN_TIMEOUT_MS=${TIMEOUT_MS} ms)`, 'shutdown complete']);
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS * 2);
    expect(exits).toEqual([0]);
    expect(target.abandon).not.toHaveBeenCalled();
  });

  it('gives up at the deadline: abandons once, logs what is left in one error line, exits 1, and ignores a late close', async () => {
    const target = controlledClose();
    const stop = setUp(target);
    stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(exits).toEqual([1]);
    expect(target.abandon).toHaveBeenCalledTimes(1);
    const report = lines.at(-1)!;
    expect(report).toMatchObject({
      level: 50,
      reason: `not closed within SHUTDOWN_TIMEOUT_MS=${TIMEOUT_MS} ms`,
      stage: 'letting rooms unload',
      unsavedUpdates: { doc: 3 },
      msg: `shutdown gave up (not closed within SHUTDOWN_TIMEOUT_MS=${TIMEOUT_MS} ms) while letting rooms unload; exiting with code 1. 3 updates to 1 document were never committed: doc (3).`,
    });
    target.resolve();
    stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(exits).toEqual([1]);
    expect(target.abandon).toHaveBeenCalledTimes(1);
    expect(messages()).not.toContain('shutdown complete');
  });

  it('gives up at once on a second signal, and does nothing on a third', async () => {
    const target = controlledClose();
    const stop = setUp(target);
    stop('SIGTERM');
    await vi.advanceTimersByTimeAsync(100);
    stop('SIGINT');
    expect(exits).toEqual([1]);
    expect(lines.at(-1)).toMatchObject({ level: 50, reason: 'a second SIGINT arrived' });
    stop('SIGINT');
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(exits).toEqual([1]);
    expect(target.abandon).toHaveBeenCalledTimes(1);
  });

  it('exits 1 with the error and what is left when the close fails', async () => {
    const target = controlledClose();
    setUp(target)('SIGTERM');
    target.reject(new Error('pool ended twice'));
    await vi.advanceTimersByTimeAsync(0);
    expect(exits).toEqual([1]);
    expect(lines.at(-1)).toMatchObject({ level: 50, reason: 'closing failed', err: { message: 'pool ended twice' }, unsavedUpdates: { doc: 3 } });
  });

  it('still exits 1 when abandon throws or logging fails', async () => {
    const throwing = { close: () => new Promise<void>(() => {}), abandon: (): Leftovers => { throw new Error('boom'); } };
    setUp(throwing)('SIGTERM');
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS);
    expect(exits).toEqual([1]);
    expect(String(lines.at(-1)!.msg)).toContain('What was left undone is unknown: Error: boom');

    exits = [];
    const brokenLogger = { info: () => {}, error: () => { throw new Error('EPIPE'); } } as unknown as Parameters<typeof setUp>[1];
    const stop = setUp(controlledClose(), brokenLogger);
    stop('SIGTERM');
    expect(() => stop('SIGTERM')).toThrow('EPIPE');
    expect(exits).toEqual([1]);
  });
});
