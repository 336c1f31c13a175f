import { WEBHOOK_HEADERS, signWebhookBody } from '../src/docs/webhook-signature.ts';
import { PermanentJobError } from '../src/jobs/job-errors.ts';
import type { Processor } from '../src/jobs/ports.ts';
import { createWebhookRepository } from '../src/storage/webhook-repository.ts';
import type { ProcessorDeps } from './processors.ts';
import { createWebhookPoster } from './webhook-post.ts';

/** The body in a fixed key order (JSONB does not keep the order it was given). */
function bodyOf(payload: Record<string, unknown>): string {
  const { id, event, createdAt, workspaceId, documentId, data, ...rest } = payload;
  return JSON.stringify({ id, event, createdAt, workspaceId, documentId, data, ...rest });
}

/**
 * webhook-deliver: POSTs one delivery, signed, and records the answer. A 2xx delivers it and
 * ends the hook's run of failures; anything else (or no answer in WEBHOOK_TIMEOUT_MS) throws,
 * so the job is tried again with exponential backoff, until the last try or until the hook
 * has failed WEBHOOK_DISABLE_AFTER times in a row and is disabled. Redirects are not followed.
 * A failure is stored (and thrown, and so logged) as "HTTP <status>" or one of webhook-post.ts's
 * short errors, never with anything the receiver sent.
 */
export function createWebhookDeliverProcessor({ prisma, config, logger }: ProcessorDeps): Processor<'webhook-deliver'> {
  const store = createWebhookRepository(prisma);
  const { timeoutMs, disableAfter, allowPrivate } = config.webhooks;
  const poster = createWebhookPoster({ allowPrivate, timeoutMs });

  return async ({ deliveryId }, { attempt, attempts }) => {
    const found = await store.delivery(deliveryId);
    if (!found) throw new PermanentJobError(`webhook delivery ${deliveryId} is gone (its webhook was deleted)`);
    const { delivery, webhook } = found;
    // A duplicate job, or a retry of one that was recorded but not acknowledged: done already.
    if (delivery.status !== 'pending') return;
    if (webhook.disabledAt) {
      await store.abandon(delivery.id, 'not sent: the webhook is disabled');
      logger.info({ deliveryId, webhookId: webhook.id }, 'webhook disabled; delivery dropped');
      return;
    }

    const body = bodyOf(delivery.payload);
    const timestamp = Math.floor(Date.now() / 1000);
    const answer = await poster.post(
      webhook.url,
      {
        'content-type': 'application/json',
        'user-agent': 'Tandem-Webhooks/1',
        [WEBHOOK_HEADERS.event]: delivery.event,
        [WEBHOOK_HEADERS.delivery]: delivery.id,
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        [WEBHOOK_HEADERS.signature]: signWebhookBody(webhook.secret, timestamp, body),
      },
      body,
    );
    const status = 'status' in answer ? answer.status : null;
    const error = 'error' in answer ? answer.error : answer.status >= 200 && answer.status < 300 ? null : `HTTP ${answer.status}`;

    const outcome = { status, error, at: new Date() };
    if (error === null) {
      await store.recordSuccess(delivery, outcome);
      logger.info({ deliveryId, webhookId: webhook.id, event: delivery.event, status, attempt }, 'webhook delivered');
      return;
    }
    const final = attempt >= attempts;
    const { consecutiveFailures, disabled } = await store.recordFailure(delivery, outcome, { final, disableAfter });
    if (disabled) {
      logger.warn({ webhookId: webhook.id, consecutiveFailures }, 'webhook disabled after repeated failures');
      throw new PermanentJobError(`webhook ${webhook.id} is disabled after ${consecutiveFailures} failures in a row (last: ${error})`);
    }
    throw new Error(`webhook delivery ${deliveryId} failed (try ${attempt} of ${attempts}): ${error}`);
  };
}
