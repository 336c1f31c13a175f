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
  return new SocketPacer(options);
}

/**
 * A class rather than closures: every open socket has a pacer for as long as it is open, and
 * an idle one never waits; methods on a prototype cost nothing per socket (its nine closures
 * and their context were ~700 B of each idle socket, bench S4).
 */
class SocketPacer<M> implements Pacer<M> {
  private readonly options: PacerOptions<M>;
  private readonly now: () => number;
  // A FIFO: `head` is the next to hand on; the array is reset whenever it empties, which it
  // does after every chunk, since nothing more is read while it is not empty.
  private queue: (Waiting<M> | undefined)[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  /**
   * The next turn's drain, when this turn's share was handed on. While it is set, what waits
   * is the rest of the chunk in hand (the budgets still had room): bounded by the chunk, it
   * never counts as abuse.
   */
  private nextTurn: NodeJS.Immediate | undefined = undefined;
  private paused = false;
  private pausedBefore = false;
  private stopped = false;
  private lastKeepalive: number;
  /** Handed on in this turn of the event loop; set back to 0 in its check phase. */
  private handedInTurn = 0;

  constructor(options: PacerOptions<M>) {
    this.options = options;
    this.now = options.now ?? performanceNow;
    this.lastKeepalive = this.now();
  }

  receive(message: M): void {
    if (this.stopped) return;
    const { options } = this;
    const budgets = options.budgetsOf(message);
    if (!this.paused && this.roomThisTurn() && take(budgets)) {
      this.handOn(message);
      return;
    }
    this.queue.push({ message, budgets });
    if (this.nextTurn === undefined && this.queue.length - this.head > options.maxQueued) {
      this.halt();
      options.onOverflow();
      return;
    }
    if (this.paused) return;
    this.paused = true;
    options.socket.pause();
    if (!this.roomThisTurn()) {
      this.nextTurn = setImmediate(() => this.drain());
      return;
    }
    if (!this.pausedBefore) {
      this.pausedBefore = true;
      options.onFirstPause?.();
    }
    this.schedule();
  }

  flush(): void {
    if (this.stopped) return;
    this.stopped = true;
    const waiting = this.queue.slice(this.head);
    this.clear();
    for (const entry of waiting) this.options.deliver(entry!.message);
  }

  stop(): void {
    if (!this.stopped) this.halt();
  }

  private roomThisTurn(): boolean {
    return this.handedInTurn < this.options.perTurn;
  }

  private handOn(message: M): void {
    // Scheduled before any drain of the next turn, so that it runs first.
    if (this.handedInTurn === 0) {
      setImmediate(() => {
        this.handedInTurn = 0;
      });
    }
    this.handedInTurn += 1;
    this.options.deliver(message);
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.nextTurn !== undefined) clearImmediate(this.nextTurn);
    this.timer = undefined;
    this.nextTurn = undefined;
    this.queue = [];
    this.head = 0;
  }

  /** For good: what waits is dropped, and reading resumes so that a close handshake can complete. */
  private halt(): void {
    this.stopped = true;
    this.clear();
    if (this.paused) {
      this.paused = false;
      this.options.socket.resume();
    }
  }

  private schedule(): void {
    const oldest = this.queue[this.head]!;
    let wait = MIN_WAIT_MS;
    for (const budget of oldest.budgets) wait = Math.max(wait, budget.msUntilReady());
    this.timer = setTimeout(() => this.drain(), wait);
    const { keepalive } = this.options;
    if (keepalive && this.now() - this.lastKeepalive >= keepalive.everyMs) {
      this.lastKeepalive = this.now();
      keepalive.send(oldest.message);
    }
  }

  private drain(): void {
    this.timer = undefined;
    this.nextTurn = undefined;
    while (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      if (!this.roomThisTurn()) {
        this.nextTurn = setImmediate(() => this.drain());
        return;
      }
      if (!take(next.budgets)) {
        this.schedule();
        return;
      }
      this.queue[this.head] = undefined; // let the bytes go as soon as they are handed on
      this.head += 1;
      this.handOn(next.message);
      if (this.stopped) return; // handing it on closed the socket
    }
    this.clear();
    this.paused = false;
    this.options.socket.resume();
  }
}

const performanceNow = () => performance.now();

function take(budgets: readonly TokenBucket[]): boolean {
  for (const budget of budgets) if (!budget.ready()) return false;
  for (const budget of budgets) budget.take();
  return true;
}
