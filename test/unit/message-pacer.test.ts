import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPacer, type PacerOptions } from '../../src/http/message-pacer.ts';
import { createTokenBucket, type TokenBucket } from '../../src/http/token-bucket.ts';

/** The pacer on the fake clock (Date.now moves with the fake timers), with a socket that only counts. */
function pacerWith(options: { budgets: (message: string) => readonly TokenBucket[]; maxQueued?: number } & Partial<PacerOptions<string>>) {
  const delivered: string[] = [];
  const socket = { paused: false, pauses: 0, resumes: 0 };
  const overflows: number[] = [];
  const keepalives: string[] = [];
  const pacer = createPacer<string>({
    socket: {
      pause() {
        socket.paused = true;
        socket.pauses += 1;
      },
      resume() {
        socket.paused = false;
        socket.resumes += 1;
      },
    },
    budgetsOf: options.budgets,
    deliver: (message) => delivered.push(message),
    maxQueued: options.maxQueued ?? 1_000,
    perTurn: options.perTurn ?? 10_000,
    onOverflow: () => overflows.push(Date.now()),
    keepalive: { everyMs: 10_000, send: (oldest) => keepalives.push(oldest) },
    now: () => Date.now(),
    ...(options.deliver ? { deliver: options.deliver } : {}),
  });
  return { pacer, delivered, socket, overflows, keepalives };
}

const bucket = (perSecond: number, burst: number) => createTokenBucket({ perSecond, burst, now: () => Date.now() });
const numbered = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

describe('message pacer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands messages on at once while the budget lasts, and never pauses then', () => {
    const budgets = [bucket(10, 20)];
    const { pacer, delivered, socket } = pacerWith({ budgets: () => budgets });
    for (const message of numbered('m', 20)) pacer.receive(message);
    expect(delivered).toEqual(numbered('m', 20));
    expect(socket.pauses).toBe(0);
  });

  it('past the budget: pauses reading, queues, hands everything on in order at the rate, then reads again', async () => {
    const budgets = [bucket(10, 20)];
    const { pacer, delivered, socket } = pacerWith({ budgets: () => budgets });
    const messages = numbered('m', 50);
    for (const message of messages) pacer.receive(message);
    expect(delivered).toEqual(messages.slice(0, 20));
    expect(socket).toMatchObject({ paused: true, pauses: 1 });

    await vi.advanceTimersByTimeAsync(1_000);
    expect(delivered).toEqual(messages.slice(0, 30));
    expect(socket.paused).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(delivered).toEqual(messages);
    expect(socket).toMatchObject({ paused: false, pauses: 1, resumes: 1 });
  });

  it('hands on at most perTurn messages per turn of the event loop; the rest wait, reading paused, for the next turns', () => {
    const budgets = [bucket(1_000, 1_000)];
    const { pacer, delivered, socket } = pacerWith({ budgets: () => budgets, perTurn: 3 });
    // A chunk of eight frames, parsed at once by ws.
    for (const message of numbered('m', 8)) pacer.receive(message);
    expect(delivered).toEqual(numbered('m', 3));
    expect(socket.paused).toBe(true);
    vi.runOnlyPendingTimers(); // the next turn's check phase
    expect(delivered).toEqual(numbered('m', 6));
    expect(socket.paused).toBe(true);
    vi.runOnlyPendingTimers();
    expect(delivered).toEqual(numbered('m', 8));
    expect(socket).toMatchObject({ paused: false, pauses: 1, resumes: 1 });
    // A new turn has a full share again.
    vi.runOnlyPendingTimers();
    for (const message of numbered('n', 3)) pacer.receive(message);
    expect(delivered.slice(8)).toEqual(numbered('n', 3));
  });

  it('never takes what waits for the next turn for abuse: a chunk within the budget all arrives, past a small ceiling', () => {
    const budgets = [bucket(1_000, 1_000)];
    const { pacer, delivered, socket, overflows } = pacerWith({ budgets: () => budgets, perTurn: 3, maxQueued: 5 });
    for (const message of numbered('m', 20)) pacer.receive(message);
    for (let turn = 0; turn < 10; turn++) vi.runOnlyPendingTimers();
    expect(overflows).toHaveLength(0);
    expect(delivered).toEqual(numbered('m', 20));
    expect(socket).toMatchObject({ paused: false, pauses: 1, resumes: 1 });
  });

  it('takes one token from every budget of a message, and waits for the emptiest', async () => {
    const shared = bucket(100, 100);
    const slow = bucket(1, 2);
    const fast = bucket(100, 100);
    const { pacer, delivered } = pacerWith({ budgets: (message) => [shared, message.startsWith('s') ? slow : fast] });
    for (const message of ['s0', 's1', 's2', 'f0']) pacer.receive(message);
    // s2 found its budget empty; f0 arrived after it and waits behind it: arrival order.
    expect(delivered).toEqual(['s0', 's1']);
    await vi.advanceTimersByTimeAsync(999);
    expect(delivered).toEqual(['s0', 's1']);
    await vi.advanceTimersByTimeAsync(30);
    expect(delivered).toEqual(['s0', 's1', 's2', 'f0']);
  });

  it('calls onOverflow once when the queue outgrows its ceiling, drops the queue and reads again', async () => {
    const budgets = [bucket(10, 5)];
    const { pacer, delivered, socket, overflows } = pacerWith({ budgets: () => budgets, maxQueued: 10 });
    for (const message of numbered('m', 30)) pacer.receive(message);
    expect(delivered).toHaveLength(5);
    expect(overflows).toHaveLength(1);
    expect(socket.paused).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(delivered).toHaveLength(5);
  });

  it('flush() hands on what waits at once; stop() drops it; either way nothing comes later', async () => {
    const flushed = pacerWith({ budgets: (() => { const b = [bucket(1, 1)]; return () => b; })() });
    for (const message of numbered('m', 4)) flushed.pacer.receive(message);
    flushed.pacer.flush();
    expect(flushed.delivered).toEqual(numbered('m', 4));

    const stopped = pacerWith({ budgets: (() => { const b = [bucket(1, 1)]; return () => b; })() });
    for (const message of numbered('m', 4)) stopped.pacer.receive(message);
    stopped.pacer.stop();
    expect(stopped.socket.paused).toBe(false);
    stopped.pacer.receive('late');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(stopped.delivered).toEqual(['m0']);
  });

  it('stops at once when handing a message on closes the socket', async () => {
    const budgets = [bucket(10, 1)];
    let pacer!: ReturnType<typeof createPacer<string>>;
    let socket!: { resumes: number };
    const delivered: string[] = [];
    ({ pacer, socket } = pacerWith({
      budgets: () => budgets,
      deliver: (message) => {
        delivered.push(message);
        if (message === 'm1') pacer.stop();
      },
    }));
    for (const message of numbered('m', 5)) pacer.receive(message);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(delivered).toEqual(['m0', 'm1']);
    // Reading resumed once, by stop(), for the close handshake; nothing after that.
    expect(socket.resumes).toBe(1);
  });

  it('feeds the client a keepalive at most every 10 s while it is held back', async () => {
    const budgets = [bucket(1, 1)];
    const { pacer, keepalives, delivered } = pacerWith({ budgets: () => budgets });
    for (const message of numbered('m', 40)) pacer.receive(message);
    await vi.advanceTimersByTimeAsync(35_000);
    expect(delivered).toHaveLength(36);
    // Held back from the start: at 10, 20 and 30 s (the pacer was created at 0).
    expect(keepalives).toHaveLength(3);
    expect(keepalives[0]).toBe('m11'); // the oldest still waiting after m10 went at 10 s
  });
});
