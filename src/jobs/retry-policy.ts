import type { Config } from '../config.ts';
import type { JobName } from './job-types.ts';
import type { RetryPolicy } from './ports.ts';

/** Webhook deliveries retry on their own policy (a subscriber may be down for minutes); the rest on the common one. */
export function retryPolicy(config: Pick<Config, 'jobs' | 'webhooks'>): (name: JobName) => RetryPolicy {
  return (name) =>
    name === 'webhook-deliver'
      ? { attempts: config.webhooks.attempts, backoffMs: config.webhooks.backoffMs }
      : { attempts: config.jobs.attempts, backoffMs: config.jobs.backoffMs };
}
