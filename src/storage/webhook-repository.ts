import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';

export interface WebhookRecord {
  id: string;
  workspaceId: string;
  url: string;
  events: string[];
  consecutiveFailures: number;
  disabledAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  lastDeliveryAt: Date | null;
  createdAt: Date;
}

/** pending → delivered | failed. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRecord {
  id: string;
  webhookId: string;
  event: string;
  payload: Record<string, unknown>;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  event: string;
  payload: Record<string, unknown>;
}

/** One try's outcome: the HTTP status (null when no answer came) and what went wrong. */
export interface AttemptOutcome {
  status: number | null;
  error: string | null;
  at: Date;
}

/** Webhooks of workspaces and their deliveries (REST side and the two webhook processors). */
export interface WebhookStore {
  workspaceExists(workspaceId: string): Promise<boolean>;
  create(input: { id: string; workspaceId: string; url: string; events: string[]; secret: string }): Promise<WebhookRecord>;
  list(workspaceId: string): Promise<WebhookRecord[]>;
  find(workspaceId: string, id: string): Promise<WebhookRecord | null>;
  /** False when the workspace has no such hook. Its deliveries go with it. */
  remove(workspaceId: string, id: string): Promise<boolean>;
  /** Clears disabled_at and the failure count; null when the workspace has no such hook. */
  enable(workspaceId: string, id: string): Promise<WebhookRecord | null>;
  /** A hook's deliveries, newest first. */
  deliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]>;

  /** The workspace of a document (and when it was deleted); null when there is no such row. */
  documentOf(documentId: string): Promise<{ workspaceId: string | null; deletedAt: Date | null } | null>;
  /** The workspace's enabled hooks subscribed to `event`. */
  subscribers(workspaceId: string, event: string): Promise<WebhookRecord[]>;
  /** Inserts the deliveries whose id is new (a retried event inserts nothing twice). */
  insertDeliveries(deliveries: NewDelivery[]): Promise<void>;
  /** A delivery with its hook and the hook's secret, to send it. */
  delivery(id: string): Promise<{ delivery: DeliveryRecord; webhook: WebhookRecord & { secret: string } } | null>;
  /** A 2xx: the delivery is delivered and the hook's run of failures ends. */
  recordSuccess(delivery: { id: string; webhookId: string }, outcome: AttemptOutcome): Promise<void>;
  /**
   * A failed try: counted on the delivery and the hook; the hook is disabled when its failures
   * in a row reach `disableAfter`. The delivery ends `failed` when `final` or the hook is disabled.
   */
  recordFailure(
    delivery: { id: string; webhookId: string },
    outcome: AttemptOutcome,
    options: { final: boolean; disableAfter: number },
  ): Promise<{ consecutiveFailures: number; disabled: boolean }>;
  /** Ends a delivery that will not be tried (its hook is disabled). */
  abandon(deliveryId: string, reason: string): Promise<void>;
}

const hookFields = {
  id: true,
  workspaceId: true,
  url: true,
  events: true,
  consecutiveFailures: true,
  disabledAt: true,
  lastStatus: true,
  lastError: true,
  lastDeliveryAt: true,
  createdAt: true,
} as const;

const deliveryFields = {
  id: true,
  webhookId: true,
  event: true,
  payload: true,
  status: true,
  attempts: true,
  lastStatus: true,
  lastError: true,
  deliveredAt: true,
  createdAt: true,
} as const;

function toDelivery(row: Omit<DeliveryRecord, 'payload' | 'status'> & { payload: Prisma.JsonValue; status: string }): DeliveryRecord {
  const payload = row.payload !== null && typeof row.payload === 'object' && !Array.isArray(row.payload) ? row.payload : {};
  return { ...row, payload: payload as Record<string, unknown>, status: row.status as DeliveryStatus };
}

/** Errors are kept short: they are shown in listings, not used to debug the receiver's stack. */
const clip = (text: string | null) => (text === null ? null : text.slice(0, 1000));

export function createWebhookRepository(prisma: PrismaClient): WebhookStore {
  return {
    async workspaceExists(workspaceId) {
      return (await prisma.workspace.count({ where: { id: workspaceId } })) > 0;
    },

    create: (input) => prisma.webhook.create({ data: input, select: hookFields }),

    list: (workspaceId) => prisma.webhook.findMany({ where: { workspaceId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: hookFields }),

    find: (workspaceId, id) => prisma.webhook.findFirst({ where: { id, workspaceId }, select: hookFields }),

    async remove(workspaceId, id) {
      const { count } = await prisma.webhook.deleteMany({ where: { id, workspaceId } });
      return count > 0;
    },

    async enable(workspaceId, id) {
      const { count } = await prisma.webhook.updateMany({ where: { id, workspaceId }, data: { disabledAt: null, consecutiveFailures: 0 } });
      return count === 0 ? null : prisma.webhook.findFirst({ where: { id, workspaceId }, select: hookFields });
    },

    async deliveries(webhookId, limit) {
      const rows = await prisma.webhookDelivery.findMany({
        where: { webhookId },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
        select: deliveryFields,
      });
      return rows.map(toDelivery);
    },

    documentOf: (documentId) => prisma.document.findUnique({ where: { id: documentId }, select: { workspaceId: true, deletedAt: true } }),

    subscribers: (workspaceId, event) =>
      prisma.webhook.findMany({ where: { workspaceId, disabledAt: null, events: { has: event } }, orderBy: { id: 'asc' }, select: hookFields }),

    async insertDeliveries(deliveries) {
      if (deliveries.length === 0) return;
      // ON CONFLICT (id) DO NOTHING: the ids are derived from the event, so a second run of
      // the same event job (or two at once) stores each delivery once.
      await prisma.webhookDelivery.createMany({
        data: deliveries.map((delivery) => ({ ...delivery, payload: delivery.payload as Prisma.InputJsonObject })),
        skipDuplicates: true,
      });
    },

    async delivery(id) {
      const row = await prisma.webhookDelivery.findUnique({ where: { id }, select: { ...deliveryFields, webhook: { select: { ...hookFields, secret: true } } } });
      if (!row) return null;
      const { webhook, ...delivery } = row;
      return { delivery: toDelivery(delivery), webhook };
    },

    async recordSuccess(delivery, outcome) {
      await prisma.$transaction([
        prisma.webhookDelivery.update({
          where: { id: delivery.id },
          data: { status: 'delivered', attempts: { increment: 1 }, lastStatus: outcome.status, lastError: null, deliveredAt: outcome.at },
        }),
        prisma.webhook.updateMany({
          where: { id: delivery.webhookId },
          data: { consecutiveFailures: 0, lastStatus: outcome.status, lastError: null, lastDeliveryAt: outcome.at },
        }),
      ]);
    },

    async recordFailure(delivery, outcome, { final, disableAfter }) {
      return prisma.$transaction(async (tx) => {
        // The increment is one UPDATE, so deliveries failing at once on several workers all count.
        const hook = await tx.webhook.update({
          where: { id: delivery.webhookId },
          data: { consecutiveFailures: { increment: 1 }, lastStatus: outcome.status, lastError: clip(outcome.error), lastDeliveryAt: outcome.at },
          select: { consecutiveFailures: true, disabledAt: true },
        });
        let disabled = hook.disabledAt !== null;
        if (!disabled && hook.consecutiveFailures >= disableAfter) {
          await tx.webhook.updateMany({ where: { id: delivery.webhookId, disabledAt: null }, data: { disabledAt: outcome.at } });
          disabled = true;
        }
        await tx.webhookDelivery.update({
          where: { id: delivery.id },
          data: {
            attempts: { increment: 1 },
            lastStatus: outcome.status,
            lastError: clip(outcome.error),
            ...(final || disabled ? { status: 'failed' } : {}),
          },
        });
        return { consecutiveFailures: hook.consecutiveFailures, disabled };
      });
    },

    async abandon(deliveryId, reason) {
      await prisma.webhookDelivery.updateMany({ where: { id: deliveryId, status: 'pending' }, data: { status: 'failed', lastError: reason } });
    },
  };
}
