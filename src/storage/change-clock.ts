/**
 * The change feed's clock (documents.change_seq), without a shared row to lock: a change's
 * clock value is the id of the transaction that made it (xid8, which only grows) plus an offset
 * kept in change_clock. Transaction ids are assigned when a transaction starts writing, not
 * when it commits, so a reader must not pass a value whose transaction may still be running:
 * the feed reads only below its horizon: the oldest id of a transaction still open that may
 * change documents (plus the offset). Every change committed later gets a value at or above
 * that horizon, so no cursor ever skips it; a change that commits late is reported late.
 */

/**
 * The clock value of a change made by the current transaction (an SQL expression). Use it only
 * in a statement on the documents table: the table lock that statement takes before the
 * transaction gets its id is what readClockHorizon looks for.
 */
export const CLOCK_NOW_SQL = `((SELECT value FROM change_clock WHERE id = 1) + pg_current_xact_id()::text::bigint)`;

type Query = <Row>(sql: string) => Promise<Row[]>;

/**
 * Below this clock value every change has committed (or rolled back), and none will come. Two
 * reads, in this order: the next transaction id not yet assigned, then the ids of the open
 * transactions that hold a lock on documents. A transaction that stamps a clock value holds one
 * from before it has an id (CLOCK_NOW_SQL), so one missing from the second read either ended
 * before it (its change is visible to the read that follows) or gets an id above the first.
 * Only these transactions
 * count, not every open one in the cluster: a long transaction elsewhere does not hold the feed
 * back.
 */
export async function readClockHorizon(query: Query): Promise<bigint> {
  const [now] = await query<{ offset: bigint; next: bigint }>(
    `SELECT (SELECT value FROM change_clock WHERE id = 1) AS offset, pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS next`,
  );
  const writers = await query<{ xid: bigint }>(`
    SELECT own.transactionid::text::bigint AS xid
    FROM pg_locks AS held JOIN pg_locks AS own
      ON own.virtualtransaction = held.virtualtransaction AND own.locktype = 'transactionid' AND own.mode = 'ExclusiveLock'
    WHERE held.locktype = 'relation' AND held.relation = 'documents'::regclass AND held.database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
  let oldest = now!.next;
  for (const { xid } of writers) {
    const full = fullTransactionId(BigInt(xid), now!.next);
    if (full < oldest) oldest = full;
  }
  return now!.offset + oldest;
}

/** pg_locks shows 32-bit ids: the 64-bit one nearest `next` (open transactions are far within 2^31 of it). */
export function fullTransactionId(xid: bigint, next: bigint): bigint {
  const low = next & 0xffffffffn;
  let delta = (xid - low) & 0xffffffffn;
  if (delta >= 0x80000000n) delta -= 0x100000000n;
  return next + delta;
}

/**
 * Raises the offset when the stored clock is ahead of this cluster's transaction ids, so that
 * new changes sort after old ones: after a dump is restored into another cluster, and once
 * after the upgrade from the counter this clock replaced (its values could be ahead of a young
 * cluster's ids). Runs at start-up, with the migrations, before the node takes any traffic.
 */
export const RAISE_CLOCK_OFFSET_SQL = `
  UPDATE change_clock SET value = stored.max - pg_current_xact_id()::text::bigint
  FROM (SELECT COALESCE(max(change_seq), 0) AS max FROM documents) AS stored
  WHERE id = 1 AND stored.max >= value + pg_current_xact_id()::text::bigint`;
