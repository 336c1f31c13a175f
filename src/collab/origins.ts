/**
 * Transaction origins of updates a room applies from somewhere other than a client, so that
 * the room's own listeners know what not to log or publish again.
 */

/** From the op log (load, catch-up) or committed by another node: already stored, not logged again. */
export const FROM_STORAGE = Symbol('tandem:from-storage');

/** Awareness from another node: applied here, not published again. */
export const FROM_BUS = Symbol('tandem:from-bus');
