import type { Logger } from 'pino';
import type { Config } from '../src/config.ts';
import type { PrismaClient } from '../src/generated/prisma/client.ts';
import type { SqlQuery } from '../src/storage/database.ts';
import type { JobPublisher, Processors } from '../src/jobs/ports.ts';
import { createCompactProcessor, createCompactSweepProcessor } from './compact.ts';
import { createExpireSweepProcessor } from './expire-sweep.ts';
import { createNotifyMentionsProcessor } from './notify-mentions.ts';
import { createWebhookDeliverProcessor } from './webhook-deliver.ts';
import { createWebhookEventProcessor } from './webhook-event.ts';

/** What every processor may use. Built by src/main.ts (in-process jobs) and workers/main.ts (BullMQ). */
export interface ProcessorDeps {
  prisma: PrismaClient;
  /** Statements past Prisma's runtime (database.ts). */
  sql: SqlQuery;
  /** To chain work: an event fans out into deliveries, a comment into notifications. */
  jobs: JobPublisher;
  config: Readonly<Config>;
  logger: Logger;
}

/** Every job's processor, one file per processor beside this one. */
export function createProcessors(deps: ProcessorDeps): Processors {
  return {
    compact: createCompactProcessor(deps),
    'compact-sweep': createCompactSweepProcessor(deps),
    'expire-sweep': createExpireSweepProcessor(deps),
    'notify-mentions': createNotifyMentionsProcessor(deps),
    'webhook-event': createWebhookEventProcessor(deps),
    'webhook-deliver': createWebhookDeliverProcessor(deps),
  };
}
