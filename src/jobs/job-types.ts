import Type, { type Static, type TSchema } from 'typebox';

/**
 * Every background job: its queue and the schema of its payload, in one place. Payloads are
 * checked when published and again when processed; one that does not fit fails for good.
 */
const DocumentId = Type.String({ minLength: 1, maxLength: 128 });
const Id = Type.String({ minLength: 1, maxLength: 200 });

export const QUEUES = ['compaction', 'expiry', 'notifications', 'webhooks'] as const;
export type QueueName = (typeof QUEUES)[number];

/** What happens to a webhook subscriber: the events a workspace can subscribe to. */
export const WEBHOOK_EVENTS = [
  'document.updated',
  'document.deleted',
  'comment.created',
  'mention',
  'suggestion.created',
  'suggestion.accepted',
  'suggestion.rejected',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type SuggestionEvent = Extract<WebhookEvent, `suggestion.${string}`>;

export const JOBS = {
  /** Snapshot a document's log and trim what the retention no longer needs. */
  compact: { queue: 'compaction', payload: Type.Object({ documentId: DocumentId }, { additionalProperties: false }) },
  /** On a schedule: enqueue `compact` for every document whose log has grown. */
  'compact-sweep': { queue: 'compaction', payload: Type.Object({}, { additionalProperties: false }) },
  /** On a schedule: warn about, soft-delete and purge abandoned documents; purge spent credentials. */
  'expire-sweep': { queue: 'expiry', payload: Type.Object({}, { additionalProperties: false }) },
  /** A comment was written: store notifications for the users it mentions. */
  'notify-mentions': { queue: 'notifications', payload: Type.Object({ commentId: Id }, { additionalProperties: false }) },
  /** Something happened in a workspace: one delivery per webhook subscribed to it. */
  'webhook-event': {
    queue: 'webhooks',
    payload: Type.Object(
      {
        event: Type.Enum([...WEBHOOK_EVENTS]),
        documentId: DocumentId,
        /** Event details sent to the subscriber (comment id, mentioned user, version...). */
        data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        /**
         * A stable id of the happening, so a retried or republished event is delivered once.
         * Without it the processor derives one from the event, document and data.
         */
        eventId: Type.Optional(Id),
      },
      { additionalProperties: false },
    ),
  },
  /** POST one delivery to its webhook; retried with backoff. */
  'webhook-deliver': { queue: 'webhooks', payload: Type.Object({ deliveryId: Id }, { additionalProperties: false }) },
} as const satisfies Record<string, { queue: QueueName; payload: TSchema }>;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = Static<(typeof JOBS)[N]['payload']>;
export const JOB_NAMES = Object.keys(JOBS) as JobName[];
