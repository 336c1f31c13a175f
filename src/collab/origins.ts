/**
 * Transaction origins of updates a room applies from somewhere other than a client, so that
 * the room's own listeners know what not to log or publish again.
 */

/** From the op log (load, catch-up): already stored, not logged again. */
export const FROM_STORAGE = Symbol('tandem:from-storage');

/**
 * An update or awareness from another node: applied and broadcast here, not published again;
 * an update is logged by its node (room-sync.ts holds it until that node confirms it).
 */
export const FROM_BUS = Symbol('tandem:from-bus');
