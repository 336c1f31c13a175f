import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInProcessBus } from './bus/in-process-bus.ts';
import { createRedisBus } from './bus/redis-bus.ts';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { type CollabServer, createCollabServer } from './collab/collab-server.ts';
import type { Config } from './config.ts';
import { runIfMain } from './entry-point.ts';
import { projectRoot } from './project-root.ts';
import { type Closable, closeSteps } from './shutdown.ts';
import { unsavedUpdatesReport } from './shutdown-report.ts';
import { createNodeMetrics } from './http/metrics.ts';
import { openDatabase } from './storage/database.ts';
import { createBlame } from './docs/blame.ts';
import { createReverter } from './docs/revert.ts';
import { createDocumentHistory } from './docs/document-history.ts';
import { createDocumentSearch } from './docs/document-search.ts';
import { createCommentService } from './docs/comments.ts';
import { createNotificationService } from './docs/notifications.ts';
import { createCommentRepository } from './storage/comment-repository.ts';
import { createSuggestionService } from './docs/suggestions.ts';
import { createSuggestionRepository } from './storage/suggestion-repository.ts';
import { createNotificationRepository } from './storage/notification-repository.ts';
import { createWebhookService } from './docs/webhooks.ts';
import { createWebhookRepository } from './storage/webhook-repository.ts';
import { createDocumentService } from './docs/document-service.ts';
import { createContentWorkPool } from './docs/content-work-pool.ts';
import { createDocumentWriter } from './docs/document-writes.ts';
import { createAuthorshipStore } from './storage/authorship-repository.ts';
import { createDocumentRepository } from './storage/document-repository.ts';
import { createDocumentStore } from './storage/document-store.ts';
import { migrate } from './storage/migrate.ts';
import { createAccessService } from './access/access-service.ts';
import { createEmailVerification } from './access/email-verification.ts';
import { watchAccessChanges } from './access/access-watch.ts';
import { createAuthorizer } from './access/authorizer.ts';
import { newDocumentKeys } from './access/document-keys.ts';
import { createPasswordHasher } from './access/passwords.ts';
import { createAccessRepository } from './storage/access-repository.ts';
import { createAccountRepository } from './storage/account-repository.ts';
import { createInvitationRepository } from './storage/invitation-repository.ts';
import { createVerificationRepository } from './storage/verification-repository.ts';
import { createAuditLog } from './storage/audit-log.ts';
import { createOpLogWriter } from './storage/op-log.ts';
import { createDocumentEvents } from './jobs/document-events.ts';
import { createInProcessJobs } from './jobs/in-process-jobs.ts';
import type { JobPublisher, JobQueues } from './jobs/ports.ts';
import { retryPolicy } from './jobs/retry-policy.ts';
import { createProcessors } from '../workers/processors.ts';

const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };

export interface RunningNode extends Closable {
  url: string;
}

/** The composition root of a node: config → database → op log → rooms → app → listen. */
export async function startNode(config: Readonly<Config>, logger: Logger): Promise<RunningNode> {
  const db = await openDatabase(config.storage, logger);
  const applied = await migrate(db);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

  let collab: CollabServer | undefined;
  let jobs: JobQueues | undefined;
  const metrics = createNodeMetrics(() => collab, () => jobs);
  // With Redis, jobs go to BullMQ and `npm run worker` runs them; without, this node runs the
  // same processors on timers. Processors publish follow-up jobs through the same queues.
  const publisher: JobPublisher = { publish: (name, payload, options) => jobs!.publish(name, payload, options) };
  if (config.redisUrl) {
    // Loaded only here: a node without Redis need not hold BullMQ's code.
    const { createBullmqQueues } = await import('./jobs/bullmq-jobs.ts');
    jobs = createBullmqQueues({ redisUrl: config.redisUrl, prefix: config.jobs.prefix, retry: retryPolicy(config), logger });
  } else {
    jobs = createInProcessJobs({
      processors: createProcessors({ prisma: db.prisma, sql: db.sql, jobs: publisher, config, logger }),
      retry: retryPolicy(config),
      schedule: { compactSweepMs: config.compaction.sweepMs, expireSweepMs: config.expiry.sweepMs },
      logger,
    });
  }
  const store = createDocumentStore(db.prisma);
  const opLog = createOpLogWriter(db.sql, logger, { observeCommitLag: metrics.observeCommitLag });
  const events = createDocumentEvents(publisher, { debounceMs: config.webhooks.debounceMs, compactEvery: config.snapshotEvery, logger });
  const bus = config.redisUrl ? createRedisBus(config.redisUrl, logger) : createInProcessBus();
  collab = createCollabServer({
    bus,
    nodeId: randomUUID(),
    busRepairIntervalMs: config.busRepairIntervalMs,
    observeBus: { caughtUp: metrics.countCatchUp, adopted: metrics.countAdoption },
    storage: {
      ensure: (id, createIn) => store.ensure(id, createIn && { workspaceId: createIn.workspaceId, ...newDocumentKeys().hashes }),
      load: (id) => store.load(id),
      loadAfter: (id, seq) => store.loadAfter(id, seq),
      heads: (ids) => store.heads(ids),
      // Compaction runs in the background (a worker, or this node's in-process jobs).
      afterUnload: async (id) => events.unloaded(id),
    },
    opLog: {
      async append(id, update, by, newClients) {
        const seq = await opLog.append(id, update, by, newClients);
        events.committed(id, seq);
        return seq;
      },
      whenDurable: (id) => opLog.whenDurable(id),
    },
    logger,
    maxMessageBytes: config.maxMessageBytes,
    maxDocumentBytes: config.maxDocumentBytes,
    idleTimeoutMs: config.socketIdleTimeoutMs,
    awarenessLimits: config.awareness,
  });

  const live = {
    write: collab.write,
    disconnectAll: collab.disconnectAll,
    whenDurable: (id: string) => opLog.whenDurable(id),
  };
  const repository = createDocumentRepository(db.prisma);
  // One thread: the machine's other core is the event loop's.
  const work = createContentWorkPool({ threads: 1 });
  const writer = createDocumentWriter({ repository, stored: store, live, maxDocumentBytes: config.maxDocumentBytes, work });
  const documents = createDocumentService({ repository, stored: store, live, writer, work, maxDocumentBytes: config.maxDocumentBytes, events });
  const authorship = createAuthorshipStore(db.prisma);
  const history = createDocumentHistory({ repository, documents, authorship });
  const blame = createBlame({ documents, stored: store, authorship, work });
  const reverter = createReverter({ documents, stored: store, authorship, work });
  const comments = createCommentService({ store: createCommentRepository(db.prisma), documents, jobs: publisher, logger });
  const notifications = createNotificationService(createNotificationRepository(db.prisma));
  const suggestions = createSuggestionService({ store: createSuggestionRepository(db.prisma), writer, documents, authorship, events, logger });

  // Shared rate-limit counters. No offline queue and one retry: while Redis is away a count
  // fails at once and the limiters let requests through, instead of each request waiting.
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'tandem-rate-limits' })
    : undefined;
  redis?.on('error', (error) => logger.warn({ err: error }, 'Redis (rate limits) does not answer'));

  const accessStore = createAccessRepository(db.prisma, db.sql);
  const webhooks = createWebhookService({
    store: createWebhookRepository(db.prisma),
    roleOf: (workspaceId, userId) => accessStore.role(workspaceId, userId),
    allowPrivateUrls: config.webhooks.allowPrivate,
  });
  const audit = createAuditLog(db.prisma, logger);
  const authorizer = createAuthorizer(accessStore);
  const accessService = createAccessService({
    store: accessStore,
    invitations: createInvitationRepository(db.prisma),
    authorizer,
    audit,
    maxApiKeysPerUser: config.maxApiKeysPerUser,
  });
  const accountStore = createAccountRepository(db.prisma);
  const verification = createEmailVerification({ store: createVerificationRepository(db.prisma), accounts: accountStore, audit });

  const app = await buildApp({
    rest: { documents, history, blame, reverter, jobs: publisher, comments, suggestions, notifications, webhooks, verification, adminToken: config.adminToken },
    mcp: {
      search: createDocumentSearch({ documents }),
      // Every commit is confirmed on the bus (by whichever node committed it), and reaches this node's subscribers too.
      changes: {
        watch: (id, changed) => bus.subscribe(id, (message) => message.kind === 'committed' && changed(Math.max(...message.commits.map((commit) => commit.seq)))),
      },
    },
    access: {
      store: accessStore,
      authorizer,
      service: accessService,
      audit,
      accounts: accountStore,
      passwords: createPasswordHasher({ N: config.passwordScryptN }),
    },
    config,
    redis,
    logger,
    collab,
    service: { name: 'tandem', version: pkg.version },
    metrics: metrics.registry,
    readinessChecks: {
      database: async () => {
        await db.prisma.$queryRaw`SELECT 1`;
      },
      ...(redis ? { redis: async () => void (await redis.ping()) } : {}),
    },
  });

  const accessWatch = watchAccessChanges({
    store: accessStore,
    intervalMs: config.accessRecheckMs,
    logger,
    onChange: () => collab.recheckAccess(),
  });

  const address = await app.listen({ port: config.port, host: config.host });
  const url = address.replace('0.0.0.0', '127.0.0.1');
  logger.info(
    {
      url,
      storage: db.kind === 'postgres' ? 'postgres' : `embedded (PGlite in ${config.storage.kind === 'embedded' ? config.storage.dataDir : ''})`,
      bus: bus.distributed ? 'redis' : 'in-process',
      auth: config.auth,
    },
    `Tandem listening on ${url} · storage: ${db.kind === 'postgres' ? 'Postgres' : 'embedded PGlite'} · bus: ${bus.distributed ? 'Redis' : 'in-process'} · ${
      config.auth === 'off' ? 'AUTH=off: anyone may read and change every document (local experiments only)' : 'auth: on'
    }`,
  );
  if (config.auth === 'on' && config.jwt.kind === 'secret' && config.jwt.generated) {
    logger.warn('JWT_SECRET is not set: user tokens are signed with a random secret that lasts until this process exits; set JWT_SECRET (32+ characters) to keep sessions across restarts and nodes');
  }

  const steps = closeSteps();
  return {
    url,
    async close() {
      // Order matters: stop accepting and close sockets (1001), let rooms unload, make every
      // accepted update durable, and only then let go of the database. With the database away,
      // the rooms and the op log wait (and keep retrying) until SHUTDOWN_TIMEOUT_MS; then the
      // process calls abandon() below and exits.
      await steps.run('stopping the access watch', () => accessWatch.close());
      await steps.run('closing the listener, REST requests and sockets', () => app.close());
      // quit() refuses while disconnected (no offline queue): then just drop the connection.
      await steps.run('closing the rate-limit Redis connection', async () => redis?.quit().catch(() => redis.disconnect()));
      await steps.run('letting rooms unload (each waits until its updates are durable)', () => collab.close());
      await steps.run('committing the accepted updates left in the op log', () => opLog.close());
      await steps.run('sending the last document events', () => events.close());
      await steps.run('stopping background jobs', () => jobs.close());
      await steps.run('closing the bus', () => bus.close());
      await steps.run('stopping the content work thread', () => work.close());
      await steps.run('closing the database', () => db.close());
    },
    abandon() {
      // From here on no commit resolves, so no client or REST caller is told "saved" for an
      // update this report calls unsaved.
      return unsavedUpdatesReport(opLog.abandon(), steps.current);
    },
  };
}

runIfMain({ moduleUrl: import.meta.url, name: 'Tandem', stopping: 'shutting down: closing sockets and flushing the op log', start: startNode });
