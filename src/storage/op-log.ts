import pRetry from 'p-retry';
import type { Logger } from 'pino';
import { AppError } from '../errors.ts';
import { CLOCK_NOW_SQL } from './change-clock.ts';
import type { WriteBy } from '../docs/authors.ts';
import type { SqlQuery } from './database.ts';

const NOT_KNOWN: WriteBy = { author: null };

/** Appends accepted Yjs updates to document_updates; see createOpLogWriter. */
export interface OpLogWriter {
  /**
   * Resolves with the update's seq once its transaction has committed. `newClients`: Yjs client
   * ids the update writes with that the document may not have seen; each is mapped to `by`'s
   * author in the same transaction, unless another author had it first.
   */
  append(documentId: string, update: Uint8Array, by?: WriteBy, newClients?: readonly number[]): Promise<number>;
  /** Resolves once everything appended so far (for one document, or all) is committed. */
  whenDurable(documentId?: string): Promise<void>;
  /** Commits what is pending, then refuses further appends. */
  close(): Promise<void>;
  /**
   * Gives up on every update not committed yet, for a shutdown past its deadline: stops
   * retrying, refuses further appends, and never settles the appends it gave up on, so nothing
   * is acknowledged after this call (a commit still at the database counts as not durable even
   * if it lands: its outcome is unknown here, so its clients must send it again, and Yjs
   * updates are idempotent). Returns how many updates each document still held.
   */
  abandon(): Map<string, number>;
}

/**
 * Under load, commits start at most this often: one commit per window carries every update
 * that arrived in it, instead of one commit (and one Postgres transaction, WAL flush and row
 * lock) per update. Acknowledgements wait for the commit, so this is what a busy node adds to
 * them, well within the 50 ms a commit may lag (bench S6: p99 about 30 ms under S1 and S2).
 */
const COMMIT_WINDOW_MS = 20;

/** Appends a second, smoothed over about a second: a count that decays with time constant 1 s. */
function arrivalRate() {
  let smoothed = 0;
  let at = performance.now();
  const decayTo = (now: number) => {
    smoothed *= Math.exp((at - now) / 1000);
    at = now;
  };
  return {
    count() {
      decayTo(performance.now());
      smoothed += 1;
    },
    /** How many appends to expect in the next `ms` at the current rate. */
    expectedWithin(ms: number) {
      decayTo(performance.now());
      return (smoothed * ms) / 1000;
    },
  };
}

interface PendingAppend {
  documentId: string;
  update: Uint8Array;
  by: WriteBy;
  newClients: readonly number[];
  receivedAt: number;
  resolve: (seq: number) => void;
  reject: (error: Error) => void;
}

/**
 * Group commit: appends that arrive while a transaction is running (or, on a busy node, during
 * the commit window) wait and go together in the next one, so the cost is one transaction per
 * window for all documents, not per keystroke.
 * A failed transaction is retried (with backoff, until it commits or a shutdown past its
 * deadline abandons it) before anything newer commits, so a database outage delays
 * acknowledgements but never loses or reorders an acknowledged update.
 */
export function createOpLogWriter(
  sql: SqlQuery,
  logger: Logger,
  options: { observeCommitLag?: (seconds: number) => void } = {},
): OpLogWriter {
  let queue: PendingAppend[] = [];
  /** The batch whose transaction is running (or being retried); empty between commits. */
  let inFlight: PendingAppend[] = [];
  let running: Promise<void> | null = null;
  let lastCommitAt = Number.NEGATIVE_INFINITY;
  const arrivals = arrivalRate();
  let closed = false;
  let abandoned = false;
  const stopRetrying = new AbortController();
  const lastAppend = new Map<string, Promise<number>>();

  function drain(): Promise<void> {
    running ??= (async () => {
      // Let the rest of this event-loop turn add to the first batch.
      await new Promise((resolve) => setImmediate(resolve));
      while (queue.length > 0 && !abandoned) {
        // A busy node waits out the rest of the commit window, so that the commit carries what
        // arrives meanwhile; a node that is not (a lone writer, an agent's patch after patch)
        // commits at once.
        const wait = lastCommitAt + COMMIT_WINDOW_MS - performance.now();
        if (wait > 0 && arrivals.expectedWithin(COMMIT_WINDOW_MS) >= 2) await new Promise((resolve) => setTimeout(resolve, wait));
        if (abandoned) return;
        lastCommitAt = performance.now();
        const batch = queue;
        queue = [];
        inFlight = batch;
        let outcome: CommitOutcome;
        try {
          outcome = await pRetry(() => commit(sql, batch), {
            retries: Number.POSITIVE_INFINITY,
            minTimeout: 50,
            maxTimeout: 2_000,
            signal: stopRetrying.signal,
            onFailedAttempt: ({ error, attemptNumber }) => {
              logger.error(
                { err: error, attempt: attemptNumber, pending: batch.length + queue.length },
                'op log commit failed; retrying. Updates stay in memory until the database answers',
              );
            },
          });
        } catch (error) {
          // Only abandon() stops the retries (they are endless otherwise).
          if (abandoned) return;
          throw error;
        }
        // Abandoned while this transaction was at the database: the shutdown has already
        // reported these updates as not durable, so they must not be acknowledged now.
        if (abandoned) return;
        inFlight = [];
        settle(outcome, options.observeCommitLag);
      }
    })().finally(() => {
      running = null;
      if (queue.length > 0 && !abandoned) void drain();
    });
    return running;
  }

  return {
    append(documentId, update, by = NOT_KNOWN, newClients = []) {
      if (closed) return Promise.reject(new AppError('SHUTTING_DOWN'));
      arrivals.count();
      const committed = new Promise<number>((resolve, reject) => {
        queue.push({ documentId, update, by, newClients, receivedAt: performance.now(), resolve, reject });
      });
      lastAppend.set(documentId, committed);
      const forget = () => {
        if (lastAppend.get(documentId) === committed) lastAppend.delete(documentId);
      };
      committed.then(forget, forget);
      void drain();
      return committed;
    },

    async whenDurable(documentId) {
      const waits = documentId === undefined ? [...lastAppend.values()] : [lastAppend.get(documentId)];
      await Promise.allSettled(waits);
    },

    async close() {
      closed = true;
      while (!abandoned && (running || queue.length > 0)) await (running ?? drain());
      if (abandoned) throw new Error('the op log was abandoned before every update was committed');
    },

    abandon() {
      abandoned = true;
      closed = true;
      stopRetrying.abort(new Error('op log abandoned at shutdown'));
      const held = new Map<string, number>();
      for (const entry of [...inFlight, ...queue]) held.set(entry.documentId, (held.get(entry.documentId) ?? 0) + 1);
      return held;
    },
  };
}

interface CommitOutcome {
  assigned: { entry: PendingAppend; seq: number }[];
  /** Appends to documents that no longer exist. */
  missing: PendingAppend[];
}

/** Acknowledges a committed batch: each append learns its seq (or that its document is gone). */
function settle({ assigned, missing }: CommitOutcome, observeCommitLag: ((seconds: number) => void) | undefined): void {
  const committedAt = performance.now();
  for (const { entry, seq } of assigned) {
    observeCommitLag?.((committedAt - entry.receivedAt) / 1000);
    entry.resolve(seq);
  }
  for (const entry of missing) {
    entry.reject(new AppError('DOC_NOT_FOUND', `Document ${entry.documentId} no longer exists`));
  }
}

/**
 * One statement, so one round trip and no interactive transaction: lock the documents' rows,
 * insert the updates at head + ord, move the heads and their change clock. Under READ
 * COMMITTED, FOR UPDATE re-reads a row another node changed meanwhile, so seqs stay gapless
 * across nodes. Rows of documents that do not exist are simply not inserted.
 */
const APPEND = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::int[], $3::bytea[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
      AS t(document_id, ord, "update", author_kind, author_id, author_name, idempotency_key, reverts)
  ),
  heads AS (
    SELECT id, head_seq FROM documents WHERE id = ANY($9::text[]) ORDER BY id FOR UPDATE
  ),
  inserted AS (
    INSERT INTO document_updates (document_id, seq, "update", author_kind, author_id, author_name, idempotency_key, reverts)
    SELECT i.document_id, h.head_seq + i.ord, i."update", i.author_kind, i.author_id, i.author_name, i.idempotency_key, i.reverts
    FROM input i JOIN heads h ON h.id = i.document_id
  ),
  clients AS (
    INSERT INTO document_clients (document_id, client_id, author_kind, author_id, author_name, first_seq)
    SELECT i.document_id, c.client_id, i.author_kind, i.author_id, i.author_name, h.head_seq + i.ord
    FROM unnest($10::text[], $11::int[], $12::bigint[]) AS c(document_id, ord, client_id)
    JOIN input i ON i.document_id = c.document_id AND i.ord = c.ord
    JOIN heads h ON h.id = c.document_id
    WHERE i.author_id <> ''
    ON CONFLICT DO NOTHING
  ),
  counts AS (SELECT document_id, count(*)::int AS n FROM input GROUP BY document_id),
  moved AS (
    UPDATE documents AS d SET head_seq = h.head_seq + c.n, updated_at = now(), change_seq = ${CLOCK_NOW_SQL}
    FROM heads h JOIN counts c ON c.document_id = h.id
    WHERE d.id = h.id
  )
  SELECT id, head_seq FROM heads`;

/** The new client ids of a batch as three columns: document, the update's ord, client id. */
function clientColumns(entries: PendingAppend[], ords: number[]): [string[], number[], string[]] {
  const documents: string[] = [];
  const entryOrds: number[] = [];
  const clients: string[] = [];
  entries.forEach((entry, index) => {
    for (const client of entry.newClients) {
      documents.push(entry.documentId);
      entryOrds.push(ords[index]!);
      clients.push(String(client));
    }
  });
  return [documents, entryOrds, clients];
}

async function commit(sql: SqlQuery, batch: PendingAppend[]): Promise<CommitOutcome> {
  const byDocument = new Map<string, PendingAppend[]>();
  for (const entry of batch) {
    const list = byDocument.get(entry.documentId);
    if (list) list.push(entry);
    else byDocument.set(entry.documentId, [entry]);
  }
  // Sorted so that nodes committing overlapping batches lock rows in the same order.
  const ids = [...byDocument.keys()].sort();
  const entries = ids.flatMap((id) => byDocument.get(id)!);
  // Position of each entry among its document's entries in this batch: seq = head + ord.
  const ords = ids.flatMap((id) => byDocument.get(id)!.map((_, index) => index + 1));

  const heads = await sql.query<{ id: string; head_seq: number }>('tandem_op_log_append', APPEND, [
    entries.map((entry) => entry.documentId),
    ords,
    entries.map((entry) => entry.update),
    entries.map((entry) => entry.by.author?.kind ?? 'user'),
    entries.map((entry) => entry.by.author?.id ?? ''),
    // Only agents' names are kept: people and keys are named when read, as they are called then.
    entries.map((entry) => (entry.by.author?.kind === 'agent' ? entry.by.author.name : '')),
    entries.map((entry) => entry.by.idempotencyKey ?? null),
    entries.map((entry) => (entry.by.reverts ? `${entry.by.reverts.authorId} ${entry.by.reverts.since}` : null)),
    ids,
    ...clientColumns(entries, ords),
  ]);

  const headById = new Map(heads.map((row) => [row.id, row.head_seq]));
  const assigned: { entry: PendingAppend; seq: number }[] = [];
  const missing: PendingAppend[] = [];
  entries.forEach((entry, index) => {
    const head = headById.get(entry.documentId);
    if (head === undefined) missing.push(entry);
    else assigned.push({ entry, seq: head + ords[index]! });
  });
  return { assigned, missing };
}
