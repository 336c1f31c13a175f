import type { Processor } from '../src/jobs/ports.ts';
import { createExpiryStore } from '../src/storage/expiry-repository.ts';
import type { ProcessorDeps } from './processors.ts';

/** Documents handled per step of one sweep; the next sweep takes the rest. */
const BATCH = 500;

/**
 * expire-sweep: warns the owners of documents about to expire, soft-deletes the ones past
 * their time (they leave reads and show as deleted in the change feed, and can be restored
 * until purged), purges those deleted longer ago than the retention, and drops spent tokens
 * and webhook deliveries older than their 30 days of history.
 */
export function createExpireSweepProcessor({ prisma, config, jobs, logger }: ProcessorDeps): Processor<'expire-sweep'> {
  const store = createExpiryStore(prisma);
  const policy = { afterDays: config.expiry.afterDays, warningDays: config.expiry.warningDays, deletedRetentionDays: config.expiry.deletedRetentionDays };
  return async () => {
    const now = new Date();
    const warn = await store.toWarn(now, policy, BATCH);
    for (const document of warn) await store.warn(document, now);
    const expired = await store.expire(now, policy, BATCH);
    for (const documentId of expired) await jobs.publish('webhook-event', { event: 'document.deleted', documentId, data: { reason: 'expired' } });
    const purged = await store.purge(now, policy, BATCH);
    const tokens = await store.purgeSpentCredentials(now);
    const deliveries = await store.purgeOldDeliveries(now);
    if (warn.length + expired.length + purged + tokens + deliveries > 0) {
      logger.info({ warned: warn.length, expired: expired.length, purged, spentTokens: tokens, oldDeliveries: deliveries }, 'expiry sweep');
    }
  };
}
