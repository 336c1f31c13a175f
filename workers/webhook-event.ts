import { createHash } from 'node:crypto';
import type { Processor } from '../src/jobs/ports.ts';
import { createWebhookRepository } from '../src/storage/webhook-repository.ts';
import type { ProcessorDeps } from './processors.ts';

/** JSON with sorted keys, so the same data always makes the same fingerprint. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, inner]) => inner !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonical(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const hash = (text: string) => createHash('sha256').update(text).digest('base64url');

/**
 * webhook-event: one delivery per enabled hook of the document's workspace subscribed to the
 * event, then a webhook-deliver job for each. Delivery ids are derived from the event and the
 * hook, so a retried (or republished) event stores and sends nothing twice. Without an
 * eventId the event is known by what it says: document.updated by its version, comments and
 * mentions by their ids, document.deleted by the deletion time of the document row.
 */
export function createWebhookEventProcessor({ prisma, jobs, logger }: ProcessorDeps): Processor<'webhook-event'> {
  const store = createWebhookRepository(prisma);
  return async ({ event, documentId, data, eventId }) => {
    const document = await store.documentOf(documentId);
    // A purged document, or one made with AUTH=off outside any workspace: nobody subscribed.
    if (!document?.workspaceId) return;
    const hooks = await store.subscribers(document.workspaceId, event);
    if (hooks.length === 0) return;

    const key = eventId ?? `auto:${hash(canonical([event, documentId, data ?? {}, event === 'document.deleted' ? document.deletedAt?.toISOString() ?? null : null]))}`;
    const createdAt = new Date().toISOString();
    const deliveries = hooks.map((hook) => {
      const id = `whd_${hash(`${key}\n${hook.id}`).slice(0, 32)}`;
      return {
        id,
        webhookId: hook.id,
        event,
        payload: { id, event, createdAt, workspaceId: document.workspaceId, documentId, data: data ?? {} },
      };
    });
    await store.insertDeliveries(deliveries);
    // Every one, not only those inserted now: an earlier run may have stored them and died
    // before publishing. webhook-deliver skips a delivery that is no longer pending.
    for (const delivery of deliveries) {
      await jobs.publish('webhook-deliver', { deliveryId: delivery.id }, { dedupeKey: `webhook-deliver:${delivery.id}` });
    }
    logger.debug({ event, documentId, deliveries: deliveries.length }, 'webhook event fanned out');
  };
}
