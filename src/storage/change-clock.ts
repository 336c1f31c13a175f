/**
 * The change feed's clock (documents.change_seq), without a shared row to lock: a change's
 * clock value is the id of the transaction that made it (xid8, which only grows) plus an offset
 * kept in change_clock. Transaction ids are assigned when a transaction starts writing, not
 * when it commits, so a reader must not pass a value whose transaction may still be running:
 * the feed reads only below its horizon, the oldest transaction id still running (plus the
 * offset). Every change committed later gets a value at or above that horizon, so no cursor
 * ever skips it. A transaction left open anywhere in the cluster holds the feed back (it lags,
 * it never skips).
 */

/** The clock value of a change made by the current transaction (an SQL expression). */
export const CLOCK_NOW_SQL = `((SELECT value FROM change_clock WHERE id = 1) + pg_current_xact_id()::text::bigint)`;

/** Every change with a smaller clock value has committed (or rolled back); none will come later. */
export const CLOCK_HORIZON_QUERY = `SELECT (SELECT value FROM change_clock WHERE id = 1) + pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS horizon`;

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
