import type { TokenBucket } from './token-bucket.ts';

/**
 * Slows a socket down to its message budgets instead of cutting it off: a message that finds
 * a budget empty stops the reading of the socket (TCP then pushes back on the sender) and
 * waits, with everything after it, until the budgets refill. Nothing is dropped and messages
 * are handed on in the order they arrived.
 *
 * Why a queue at all: `ws` parses a whole TCP chunk synchronously, so after pause() the rest
 * of the chunk in hand still arrives (up to ~64 KiB of frames). That is the only thing that
 * can pile up; a queue longer than `maxQueued` means reading did not stop, and is treated as
 * abuse.
 */

/** The part of a `ws` WebSocket the pacer drives. */
export interface PausableSocket {
  pause(): void;
  resume(): void;
}

export interface PacerOptions<M> {
  socket: PausableSocket;
  /** The budgets a message draws one token from each; asked once per message, on arrival. */
  budgetsOf(message: M): readonly TokenBucket[];
  /** Hands a message on (in arrival order). */
  deliver(message: M): void;
  /** More messages than this waiting is abuse: `onOverflow` runs once and the pacer stops. */
  maxQueued: number;
  onOverflow(): void;
  /**
   * Messages handed on per turn of the event loop at most; the rest wait for the next turn,
   * with reading paused, so that one fast socket cannot hold the loop (and with it timers,
   * other sockets and the database's answers) for what it sent all at once.
   */
  perTurn: number;
  /** First time this socket had to wait (for a log line). */
  onFirstPause?(): void;
  /**
   * While the socket is held back, called with the oldest waiting message at most once per
   * `everyMs`: the client may hear nothing from the server meanwhile.
   */
  keepalive?: { everyMs: number; send(oldestWaiting: M): void };
  now?: () => number;
}

export interface Pacer<M> {
  /** From the socket's message listener. */
  receive(message: M): void;
  /** The socket closed: hands on whatever still waits, at once (there is no reading left to slow). */
  flush(): void;
  /** The server is closing the socket: drops what waits and reads again, so that the close handshake completes. */
  stop(): void;
}

/**
 * Tokens come back continuously; waking up for each one would cost a timer per message.
 * Waiting at least this long hands on a batch per wake-up (6 at 300/s) at the same rate.
 */
const MIN_WAIT_MS = 20;

interface Waiting<M> {
  message: M;
  budgets: readonly TokenBucket[];
}

export function createPacer<M>(options: PacerOptions<M>): Pacer<M> {
  const { socket } = options;
  const now = options.now ?? (() => performance.now());
  // A FIFO: `head` is the next to hand on; the array is reset whenever it empties, which it
  // does after every chunk, since nothing more is read while it is not empty.
  let queue: (Waiting<M> | undefined)[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;
  /** The next turn's drain, when this turn's share was handed on. */
  let nextTurn: NodeJS.Immediate | undefined;
  let paused = false;
  let pausedBefore = false;
  let stopped = false;
  let lastKeepalive = now();
  /** Handed on in this turn of the event loop; set back to 0 in its check phase. */
  let handedInTurn = 0;
  const newTurn = () => {
    handedInTurn = 0;
  };

  const roomThisTurn = () => handedInTurn < options.perTurn;

  function handOn(message: M): void {
    // Scheduled before any drain of the next turn, so that it runs first.
    if (handedInTurn === 0) setImmediate(newTurn);
    handedInTurn += 1;
    options.deliver(message);
  }

  function take(budgets: readonly TokenBucket[]): boolean {
    for (const budget of budgets) if (!budget.ready()) return false;
    for (const budget of budgets) budget.take();
    return true;
  }

  function clear(): void {
    if (timer !== undefined) clearTimeout(timer);
    if (nextTurn !== undefined) clearImmediate(nextTurn);
    timer = undefined;
    nextTurn = undefined;
    queue = [];
    head = 0;
  }

  /** For good: what waits is dropped, and reading resumes so that a close handshake can complete. */
  function halt(): void {
    stopped = true;
    clear();
    if (paused) {
      paused = false;
      socket.resume();
    }
  }

  function schedule(): void {
    const oldest = queue[head]!;
    let wait = MIN_WAIT_MS;
    for (const budget of oldest.budgets) wait = Math.max(wait, budget.msUntilReady());
    timer = setTimeout(drain, wait);
    if (options.keepalive && now() - lastKeepalive >= options.keepalive.everyMs) {
      lastKeepalive = now();
      options.keepalive.send(oldest.message);
    }
  }

  function drain(): void {
    timer = undefined;
    nextTurn = undefined;
    while (head < queue.length) {
      const next = queue[head]!;
      if (!roomThisTurn()) {
        nextTurn = setImmediate(drain);
        return;
      }
      if (!take(next.budgets)) {
        schedule();
        return;
      }
      queue[head] = undefined; // let the bytes go as soon as they are handed on
      head += 1;
      handOn(next.message);
      if (stopped) return; // handing it on closed the socket
    }
    clear();
    paused = false;
    socket.resume();
  }

  return {
    receive(message) {
      if (stopped) return;
      const budgets = options.budgetsOf(message);
      if (!paused && roomThisTurn() && take(budgets)) {
        handOn(message);
        return;
      }
      queue.push({ message, budgets });
      if (queue.length - head > options.maxQueued) {
        halt();
        options.onOverflow();
        return;
      }
      if (paused) return;
      paused = true;
      socket.pause();
      if (!roomThisTurn()) {
        nextTurn = setImmediate(drain);
        return;
      }
      if (!pausedBefore) {
        pausedBefore = true;
        options.onFirstPause?.();
      }
      schedule();
    },

    flush() {
      if (stopped) return;
      stopped = true;
      const waiting = queue.slice(head);
      clear();
      for (const entry of waiting) options.deliver(entry!.message);
    },

    stop() {
      if (!stopped) halt();
    },
  };
}
