import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How webhook deliveries are signed, Stripe-style: HMAC-SHA256 with the hook's secret over
 * "<timestamp>.<raw body>", sent as `Tandem-Signature: v1=<hex>` beside `Tandem-Timestamp`
 * (unix seconds). Signing the timestamp with the body lets a receiver refuse an old delivery
 * replayed at it; the version prefix leaves room for another scheme (and several signatures,
 * comma-separated, while a secret is rotated).
 */
export const WEBHOOK_HEADERS = {
  event: 'tandem-event',
  delivery: 'tandem-delivery',
  timestamp: 'tandem-timestamp',
  signature: 'tandem-signature',
} as const;

/** How far a receiver should let a delivery's timestamp be from its own clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export function signWebhookBody(secret: string, timestamp: number | string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does: true when one of the header's v1 signatures matches the raw body and
 * the timestamp is within `toleranceSeconds` of `nowSeconds`. Compare against the body
 * exactly as received (before any JSON parsing).
 */
export function verifyWebhookSignature(input: {
  secret: string;
  body: string;
  timestamp: string | undefined;
  signature: string | undefined;
  toleranceSeconds?: number;
  nowSeconds?: number;
}): boolean {
  const { secret, body, timestamp, signature } = input;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = input.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (input.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(signWebhookBody(secret, timestamp, body));
  return signature.split(',').some((candidate) => {
    const given = Buffer.from(candidate.trim());
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
