import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { documentOfAddress, hocuspocusAddressOf, noOpAwarenessFrame } from '../collab/frame-routing.ts';
import { closeCodeFor } from '../errors.ts';
import { createPacer, type Pacer, type PacerOptions } from './message-pacer.ts';
import type { MessageLimits } from './socket-limits.ts';
import { createTokenBucket, type TokenBucket } from './token-bucket.ts';

/**
 * Paces one socket's messages to its budgets (message-pacer.ts): a /ws/:id socket has one
 * budget, its document's; a /collab socket carries frames for many documents, so each
 * document gets the same budget as on /ws/:id, and the socket as a whole one more, so that
 * fanning out over many documents does not multiply what one client may send.
 */

export type Dialect = 'y-websocket' | 'hocuspocus';

export interface SocketMessage {
  data: Uint8Array;
  isBinary: boolean;
}

/**
 * Both stock clients drop a connection after 30 s without a message from the server; a
 * socket held back that long may hear nothing (the server sends no acknowledgement for
 * y-websocket updates), so it gets a no-op frame this often while it waits.
 */
const KEEPALIVE_MS = 10_000;
/**
 * Messages of one socket handed to the rooms per turn of the event loop. A client that writes
 * as fast as TCP takes it gets megabytes read in one turn, tens of thousands of updates, all
 * applied before the loop moves on: the op log's commits (timers and the database's answers)
 * then waited seconds and its queue grew (the automerge-paper trace, limits lifted: one
 * commit of 194,000 updates at the end, 948 MB RSS). Each pause for the next turn costs the
 * sender a TCP stall, though: at 64 a turn, two such floods at once took 14.5 s instead of
 * 3.7 s. At 512 (about 15 ms of applying): the trace ends at 356 MB, two floods take 8.6 s.
 * Typing sends one message a turn, and the shipped rate limits pace far below this.
 */
const MESSAGES_PER_TURN = 512;
/** Per-document budgets kept per /collab socket before full (idle) ones are forgotten. */
const TRACKED_DOCUMENTS = 64;

const bucketOf = (perSecond: number): TokenBucket => createTokenBucket({ perSecond, burst: 2 * perSecond });

export function paceSocket(
  socket: WebSocket,
  options: { dialect: Dialect; limits: MessageLimits; log: () => FastifyBaseLogger; deliver(message: SocketMessage): void },
): Pacer<SocketMessage> {
  return createPacer<SocketMessage>(new SocketPacing(socket, options));
}

type Keepalive = NonNullable<PacerOptions<SocketMessage>['keepalive']>;

/**
 * What one socket's pacer is given: one object with methods rather than an object of closures
 * (and another for the keepalive), since every open socket holds it for as long as it is
 * open; the closures were ~500 B of each idle socket (bench S4).
 */
class SocketPacing implements PacerOptions<SocketMessage>, Keepalive {
  readonly socket: WebSocket;
  readonly deliver: (message: SocketMessage) => void;
  readonly maxQueued: number;
  readonly perTurn = MESSAGES_PER_TURN;
  /** Itself: `everyMs` and `send` below are the keepalive's. */
  readonly keepalive: Keepalive = this;
  readonly everyMs = KEEPALIVE_MS;
  private readonly dialect: Dialect;
  private readonly log: () => FastifyBaseLogger;
  /** A /ws/:id socket's one budget, its document's; null on /collab, which has `multiplexed`. */
  private readonly documentBudgets: readonly TokenBucket[] | null;
  private readonly multiplexed: ((message: SocketMessage) => readonly TokenBucket[]) | null;

  constructor(socket: WebSocket, options: { dialect: Dialect; limits: MessageLimits; log: () => FastifyBaseLogger; deliver(message: SocketMessage): void }) {
    this.socket = socket;
    this.deliver = options.deliver;
    this.maxQueued = options.limits.maxQueued;
    this.dialect = options.dialect;
    this.log = options.log;
    const single = options.dialect === 'y-websocket';
    this.documentBudgets = single ? [bucketOf(options.limits.perDocumentPerSecond)] : null;
    this.multiplexed = single ? null : multiplexedBudgets(options.limits);
  }

  budgetsOf(message: SocketMessage): readonly TokenBucket[] {
    return this.documentBudgets ?? this.multiplexed!(message);
  }

  onOverflow(): void {
    this.log().warn({ maxQueued: this.maxQueued }, 'socket kept sending while reading was paused; closing it');
    this.socket.close(closeCodeFor('RATE_LIMITED'), 'RATE_LIMITED');
  }

  onFirstPause(): void {
    this.log().debug('socket over its message rate: reading it more slowly');
  }

  /** The keepalive's: a no-op frame while the socket is held back. */
  send(oldest: SocketMessage): void {
    const address = this.dialect === 'hocuspocus' ? hocuspocusAddressOf(oldest.data) : null;
    // A /collab frame without a readable address will be refused anyway: nothing to feed.
    if (this.dialect === 'hocuspocus' && address === null) return;
    this.socket.send(noOpAwarenessFrame(address));
  }
}

function multiplexedBudgets(limits: MessageLimits): (message: SocketMessage) => readonly TokenBucket[] {
  const socketBudget = bucketOf(limits.collabSocketPerSecond);
  const documents = new Map<string, readonly TokenBucket[]>();
  // Frames whose address does not decode (refused by the room) share one budget.
  const unaddressed = [socketBudget, bucketOf(limits.perDocumentPerSecond)];
  return (message) => {
    const address = message.isBinary ? hocuspocusAddressOf(message.data) : null;
    if (address === null) return unaddressed;
    const document = documentOfAddress(address);
    let budgets = documents.get(document);
    if (budgets === undefined) {
      // A full bucket is the same as a new one, so forgetting it changes nothing; this keeps
      // the map to the documents the socket used in the last couple of seconds.
      if (documents.size >= TRACKED_DOCUMENTS) {
        for (const [name, kept] of documents) if (kept[1]!.full()) documents.delete(name);
      }
      budgets = [socketBudget, bucketOf(limits.perDocumentPerSecond)];
      documents.set(document, budgets);
    }
    return budgets;
  };
}
