import { WEBHOOK_HEADERS, signWebhookBody } from '../src/docs/webhook-signature.ts';
import { PermanentJobError } from '../src/jobs/job-errors.ts';
import type { Processor } from '../src/jobs/ports.ts';
import { createWebhookRepository } from '../src/storage/webhook-repository.ts';
import type { ProcessorDeps } from './processors.ts';

/** How much of a refusing receiver's answer is kept as lastError. */
const SNIPPET_BYTES = 500;

/** The start of a response body, without reading (or waiting for) the rest. */
async function snippetOf(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < SNIPPET_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, SNIPPET_BYTES)).trim();
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause ? `${error.message}: ${cause.code ?? cause.message}` : error.message;
}

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
 */
export function createWebhookDeliverProcessor({ prisma, config, logger }: ProcessorDeps): Processor<'webhook-deliver'> {
  const store = createWebhookRepository(prisma);
  const { timeoutMs, disableAfter } = config.webhooks;

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
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Tandem-Webhooks/1',
          [WEBHOOK_HEADERS.event]: delivery.event,
          [WEBHOOK_HEADERS.delivery]: delivery.id,
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signWebhookBody(webhook.secret, timestamp, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      if (status >= 200 && status < 300) {
        await response.body?.cancel().catch(() => undefined);
      } else {
        const snippet = await snippetOf(response).catch(() => '');
        error = `HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
      }
    } catch (failure) {
      error = describeFailure(failure, timeoutMs);
    }

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
