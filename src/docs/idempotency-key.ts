import { createHash } from 'node:crypto';

/**
 * An Idempotency-Key as Tandem stores and looks it up: the client's key bound to who sent it
 * and what it was sent to. A key is a promise between one caller and one operation; global
 * keys let another caller replaying it read the first caller's answer (a new document's id
 * and title), and made their own write vanish behind it. Only scopedIdempotencyKey makes one,
 * so a route cannot hand the services a key it forgot to scope.
 */
export type ScopedIdempotencyKey = string & { readonly scopedIdempotencyKey: unique symbol };

/**
 * `caller`: who sends it, as describePrincipal says (`user:<id>`, `api-key:<id>`, ...), stable
 * across a user's token refreshes. `operation`: the route or tool (`PATCH /v1/documents/:id`,
 * `mcp:patch_document`), so the same key sent to another route is another request. Hashed: the
 * three fit the stored column whatever their length, and the client's key is not kept as sent.
 */
export function scopedIdempotencyKey(caller: string, operation: string, key: string): ScopedIdempotencyKey {
  return createHash('sha256').update(JSON.stringify([caller, operation, key])).digest('base64url') as ScopedIdempotencyKey;
}
