import { createHmac, randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { verifyWebhookSignature } from '../../src/docs/webhook-signature.ts';
import type { JobPayload, WebhookEvent } from '../../src/jobs/job-types.ts';
import { retryPolicy } from '../../src/jobs/retry-policy.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createWebhookRepository, type WebhookStore } from '../../src/storage/webhook-repository.ts';
import { createProcessors } from '../../workers/processors.ts';
import { waitFor } from '../helpers/clients.ts';
import { RUNNER_KINDS, startJobRunner, type TestJobRunner } from '../helpers/job-runners.ts';
import { TEST_DATABASE_URL, uniqueDocId } from '../helpers/node.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const ALL_EVENTS: WebhookEvent[] = ['document.updated', 'document.deleted', 'comment.created', 'mention'];

/** The webhook processors on both runners, against real Postgres, Redis and HTTP receivers. */
describe.each(RUNNER_KINDS)('webhooks on the %s runner', (kind) => {
  let database: Database;
  let store: WebhookStore;
  let sql: pg.Client;
  let runner: TestJobRunner | undefined;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    database = await openDatabase({ kind: 'postgres', url: TEST_DATABASE_URL }, pino({ level: 'silent' }));
    await migrate(database); // when this file runs first on a fresh database
    store = createWebhookRepository(database.prisma);
    sql = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await sql.connect();
  });
  afterEach(async () => {
    await runner?.close();
    runner = undefined;
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });
  afterAll(async () => {
    await database?.close();
    await sql?.end();
  });

  /**
   * A runner of the real processors with quick retries; `env` adjusts the webhook settings.
   * The receivers listen on 127.0.0.1, which only WEBHOOK_ALLOW_PRIVATE lets deliveries reach
   * (webhook-ssrf.test.ts is about what happens without it).
   */
  async function start(env: Record<string, string> = {}): Promise<TestJobRunner> {
    const config = loadConfig({
      DATABASE_URL: TEST_DATABASE_URL,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      JOB_BACKOFF_MS: '20',
      WEBHOOK_BACKOFF_MS: '20',
      WEBHOOK_ATTEMPTS: '8',
      WEBHOOK_DISABLE_AFTER: '10',
      ...env,
    });
    const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
    runner = await startJobRunner(kind, {
      processors: (jobs) => createProcessors({ prisma: database.prisma, sql: database.sql, jobs, config, logger }),
      retry: retryPolicy(config),
    });
    return runner;
  }

  async function receiver(answer?: (index: number) => number): Promise<WebhookReceiver> {
    const started = await startWebhookReceiver(answer);
    receivers.push(started);
    return started;
  }

  /** A workspace of its own with one document in it. */
  async function workspaceWithDocument(label: string): Promise<{ workspaceId: string; documentId: string }> {
    const workspaceId = uniqueDocId(`ws-${label}`);
    const documentId = uniqueDocId(`doc-${label}`);
    await sql.query('INSERT INTO workspaces (id, name) VALUES ($1, $2)', [workspaceId, label]);
    await sql.query('INSERT INTO documents (id, workspace_id) VALUES ($1, $2)', [documentId, workspaceId]);
    return { workspaceId, documentId };
  }

  async function hook(workspaceId: string, url: string, events: WebhookEvent[] = ALL_EVENTS) {
    const secret = `whsec_test_${randomBytes(16).toString('hex')}`;
    const webhook = await store.create({ id: uniqueDocId('wh'), workspaceId, url, events, secret });
    return { ...webhook, secret };
  }

  const deliveriesOf = (webhookId: string) => store.deliveries(webhookId, 100);
  const webhookOf = async (workspaceId: string, id: string) => (await store.find(workspaceId, id))!;

  /** Nothing of the webhook queue waits, runs or is scheduled for a retry. */
  async function idle(jobs: TestJobRunner['jobs']): Promise<void> {
    await waitFor(async () => {
      const { webhooks } = await jobs.counts();
      return webhooks.waiting + webhooks.active + webhooks.delayed === 0;
    }, 'the webhook queue to be idle');
  }

  it('a receiver gets a signed delivery it can verify, with the event and the document', async () => {
    const { jobs } = await start();
    const target = await receiver();
    const { workspaceId, documentId } = await workspaceWithDocument('signed');
    const webhook = await hook(workspaceId, target.url);

    await jobs.publish('webhook-event', { event: 'document.updated', documentId, data: { version: 7 } });
    await waitFor(() => target.received.length === 1, 'the delivery');

    const [delivery] = target.received;
    const timestamp = delivery!.headers['tandem-timestamp'] as string;
    const signature = delivery!.headers['tandem-signature'] as string;
    // What a receiver does by hand: HMAC-SHA256 over "<timestamp>.<raw body>" with the secret.
    const expected = `v1=${createHmac('sha256', webhook.secret).update(`${timestamp}.${delivery!.rawBody}`).digest('hex')}`;
    expect(signature).toBe(expected);
    expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
    expect(verifyWebhookSignature({ secret: webhook.secret, body: delivery!.rawBody, timestamp, signature })).toBe(true);
    // A different secret, a changed body or an old timestamp does not verify.
    expect(verifyWebhookSignature({ secret: 'whsec_other', body: delivery!.rawBody, timestamp, signature })).toBe(false);
    expect(verifyWebhookSignature({ secret: webhook.secret, body: `${delivery!.rawBody} `, timestamp, signature })).toBe(false);
    expect(verifyWebhookSignature({ secret: webhook.secret, body: delivery!.rawBody, timestamp, signature, nowSeconds: Number(timestamp) + 3600 })).toBe(false);

    expect(delivery!.headers['content-type']).toBe('application/json');
    expect(delivery!.headers['tandem-event']).toBe('document.updated');
    const body = JSON.parse(delivery!.rawBody);
    expect(body).toMatchObject({ id: delivery!.headers['tandem-delivery'], event: 'document.updated', workspaceId, documentId, data: { version: 7 } });
    expect(Object.keys(body)).toEqual(['id', 'event', 'createdAt', 'workspaceId', 'documentId', 'data']);
    expect(Number.isNaN(Date.parse(body.createdAt))).toBe(false);

    await waitFor(async () => (await deliveriesOf(webhook.id))[0]?.status === 'delivered', 'the delivery to be recorded');
    const [row] = await deliveriesOf(webhook.id);
    expect(row).toMatchObject({ id: body.id, event: 'document.updated', status: 'delivered', attempts: 1, lastStatus: 200, lastError: null });
    expect(await webhookOf(workspaceId, webhook.id)).toMatchObject({ consecutiveFailures: 0, disabledAt: null, lastStatus: 200 });
  });

  it('a receiver that fails three times then succeeds gets the event once, and a republished event is not delivered again', async () => {
    const { jobs } = await start();
    const target = await receiver((index) => (index < 3 ? 500 : 200));
    const { workspaceId, documentId } = await workspaceWithDocument('flaky');
    const webhook = await hook(workspaceId, target.url, ['comment.created']);
    const event: JobPayload<'webhook-event'> = { event: 'comment.created', documentId, data: { commentId: 'c-1' }, eventId: uniqueDocId('evt') };

    await jobs.publish('webhook-event', event);
    await waitFor(async () => (await deliveriesOf(webhook.id))[0]?.status === 'delivered', 'the delivery to succeed');
    await idle(jobs);
    // The same event again (a retried publisher): stored and sent once all the same.
    await jobs.publish('webhook-event', event);
    await idle(jobs);

    const rows = await deliveriesOf(webhook.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'delivered', attempts: 4, lastStatus: 200, lastError: null });
    expect(target.received.map((delivery) => delivery.answered)).toEqual([500, 500, 500, 200]);
    expect(new Set(target.received.map((delivery) => delivery.headers['tandem-delivery']))).toEqual(new Set([rows[0]!.id]));
    expect(target.succeeded(rows[0]!.id)).toBe(1);
    expect(await webhookOf(workspaceId, webhook.id)).toMatchObject({ consecutiveFailures: 0, disabledAt: null, lastStatus: 200 });
  });

  it('a receiver that always fails is disabled, and later events are not delivered to it', async () => {
    const { jobs } = await start({ WEBHOOK_DISABLE_AFTER: '3' });
    const failing = await receiver(() => 500);
    const healthy = await receiver();
    const { workspaceId, documentId } = await workspaceWithDocument('failing');
    const bad = await hook(workspaceId, failing.url);
    const good = await hook(workspaceId, healthy.url);

    await jobs.publish('webhook-event', { event: 'document.updated', documentId, data: { version: 1 } });
    await waitFor(async () => (await webhookOf(workspaceId, bad.id)).disabledAt !== null, 'the failing hook to be disabled');
    await idle(jobs);

    expect(failing.received).toHaveLength(3);
    expect(await webhookOf(workspaceId, bad.id)).toMatchObject({ consecutiveFailures: 3, lastStatus: 500 });
    const [failed] = await deliveriesOf(bad.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, lastStatus: 500 });
    // The status only: the receiver's body ("receiver says no") is never kept.
    expect(failed!.lastError).toBe('HTTP 500');

    // A later event reaches the healthy hook only.
    await jobs.publish('webhook-event', { event: 'document.deleted', documentId });
    await waitFor(() => healthy.received.some((delivery) => delivery.headers['tandem-event'] === 'document.deleted'), 'the healthy hook to get the later event');
    await idle(jobs);
    expect(failing.received).toHaveLength(3);
    expect(await deliveriesOf(bad.id)).toHaveLength(1);
    expect((await deliveriesOf(good.id)).map((row) => row.status)).toEqual(['delivered', 'delivered']);
  });

  it('events a hook did not subscribe to are not delivered to it', async () => {
    const { jobs } = await start();
    const commentsOnly = await receiver();
    const everything = await receiver();
    const { workspaceId, documentId } = await workspaceWithDocument('subscribed');
    const narrow = await hook(workspaceId, commentsOnly.url, ['comment.created']);
    await hook(workspaceId, everything.url);

    await jobs.publish('webhook-event', { event: 'document.updated', documentId, data: { version: 2 } });
    await jobs.publish('webhook-event', { event: 'mention', documentId, data: { commentId: 'c-2', userId: 'u-1' } });
    await waitFor(() => everything.received.length === 2, 'both events at the hook that wants everything');
    await idle(jobs);
    expect(commentsOnly.received).toHaveLength(0);
    expect(await deliveriesOf(narrow.id)).toHaveLength(0);

    await jobs.publish('webhook-event', { event: 'comment.created', documentId, data: { commentId: 'c-3' } });
    await waitFor(() => commentsOnly.received.length === 1, 'the comment event');
    expect(commentsOnly.received[0]!.headers['tandem-event']).toBe('comment.created');
  });

  it('an event of a document outside any workspace, or of no document, delivers nothing and fails nothing', async () => {
    const { jobs } = await start();
    const target = await receiver();
    const { workspaceId } = await workspaceWithDocument('orphan');
    await hook(workspaceId, target.url);
    const orphan = uniqueDocId('doc-no-workspace');
    await sql.query('INSERT INTO documents (id) VALUES ($1)', [orphan]);

    await jobs.publish('webhook-event', { event: 'document.updated', documentId: orphan, data: { version: 1 } });
    await jobs.publish('webhook-event', { event: 'document.deleted', documentId: uniqueDocId('never-was') });
    await idle(jobs);
    expect(target.received).toHaveLength(0);
    expect((await jobs.counts()).webhooks.failed).toBe(0);
  });
});
