import Type from 'typebox';
import { WEBHOOK_EVENTS } from '../../jobs/job-types.ts';

/** TypeBox schemas of the webhook routes (webhook-routes.ts). */

const Id = Type.String({ minLength: 1, maxLength: 128 });

export const WebhookParams = Type.Object({ workspaceId: Id, webhookId: Id });

export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'Where deliveries are POSTed: an http:// or https:// URL on a public address (unless the server sets WEBHOOK_ALLOW_PRIVATE)',
    }),
    events: Type.Array(Type.Enum([...WEBHOOK_EVENTS]), { minItems: 1, uniqueItems: true, description: 'The events to deliver' }),
    secret: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 256,
        pattern: '^\\S+$',
        description: 'Signs the deliveries (HMAC-SHA256); without it one is generated (whsec_…). Shown only in this answer',
      }),
    ),
  },
  { additionalProperties: false },
);

const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

/** What is kept of a failed try: never anything the receiver sent (webhook-post.ts says why). */
const LastError = Type.Union([Type.String(), Type.Null()], {
  description: '"HTTP <status>", "no answer" (not reached, or no answer in time) or "address not allowed" (the host is or resolves to a non-public address); a delivery dropped while its hook was disabled says so; null after a success',
});

export const WebhookView = Type.Object({
  id: Type.String(),
  workspaceId: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  active: Type.Boolean({ description: 'False once disabled after repeated failures (POST …/enable turns it back on)' }),
  consecutiveFailures: Type.Integer({ description: 'Failed tries in a row; a 2xx resets it' }),
  disabledAt: Time,
  lastStatus: Type.Union([Type.Integer(), Type.Null()], { description: 'HTTP status of the last try (null: no answer, or no try yet)' }),
  lastError: LastError,
  lastDeliveryAt: Time,
  createdAt: Type.String({ format: 'date-time' }),
});

export const CreatedWebhook = Type.Intersect([
  WebhookView,
  Type.Object({ secret: Type.String({ description: 'Verifies the Tandem-Signature header of deliveries; shown only here' }) }),
]);

export const DeliveriesQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'How many (newest first; default 50)' })),
});

export const DeliveryView = Type.Object({
  id: Type.String({ description: 'Also sent as Tandem-Delivery and as the payload id' }),
  event: Type.String(),
  status: Type.Enum(['pending', 'delivered', 'failed']),
  attempts: Type.Integer(),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: LastError,
  deliveredAt: Time,
  createdAt: Type.String({ format: 'date-time' }),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'The JSON body that is POSTed' }),
});
