import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { retryPolicy } from '../../src/jobs/retry-policy.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createWebhookRepository, type WebhookStore } from '../../src/storage/webhook-repository.ts';
import { createProcessors } from '../../workers/processors.ts';
import { signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { waitFor } from '../helpers/clients.ts';
import { RUNNER_KINDS, startJobRunner, type TestJobRunner } from '../helpers/job-runners.ts';
import { TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { closedPortUrl, startSilentReceiver, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

/**
 * Issue 16, finding 2 (webhook SSRF) and the webhook half of finding 16 (receivers' bodies in
 * the log). An ordinary account owns a workspace, so it may register webhooks: none of them may
 * reach this machine or its private network unless the operator set WEBHOOK_ALLOW_PRIVATE=true.
 *
 * Only loopback forms are ever delivered to here (this machine may send nothing to other
 * private ranges, not even by mistake); the other ranges are refused at create time, by the
 * same address classification the delivery-time filter applies.
 */

/** Every way the audit (and a few more) wrote "somewhere private", at registration. */
const PRIVATE_URLS = [
  'http://127.0.0.1:8080/hook',
  'http://localhost:8080/hook',
  'http://LOCALHOST./hook',
  'https://app.localhost/hook',
  'http://[::1]:8080/hook',
  'http://2130706433/hook',
  'http://0x7f000001/hook',
  'http://127.1/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://10.1.2.3/hook',
  'http://172.16.0.1/hook',
  'http://192.168.1.1/hook',
  'http://100.64.0.1/hook',
  'http://[fd00::1]/hook',
  'http://[fe80::1]/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://[::ffff:10.0.0.1]/hook',
  'http://[::127.0.0.1]/hook',
  'http://[::169.254.169.254]/latest/meta-data/',
  'http://0.0.0.0:8080/hook',
  'http://[::]/hook',
  'http://redis:6379/',
  'http://postgres:5432/',
  'http://metadata.google.internal/computeMetadata/v1/',
  'http://printer.local/hook',
];

describe('webhook URLs at registration, without WEBHOOK_ALLOW_PRIVATE', () => {
  let node: TestNode;
  let owner: TestUser;
  let workspaceId: string;
  let path: string;
  let sql: pg.Client;

  beforeAll(async () => {
    node = await startAuthNode();
    owner = await signUp(node, 'ssrf-owner');
    // A workspace with no documents: nothing in it ever makes an event, so even a hook the
    // code under test wrongly accepted is never called.
    const workspace = await owner.rest.post('/v1/workspaces', { name: 'ssrf' });
    workspaceId = workspace.body.id;
    path = `/v1/workspaces/${workspaceId}/webhooks`;
    sql = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await sql.connect();
  });
  afterEach(async () => {
    for (const webhook of (await owner.rest.get(path)).body.webhooks ?? []) await owner.rest.delete(`${path}/${webhook.id}`);
  });
  afterAll(async () => {
    await node?.close();
    await sql?.end();
  });

  it('refuses every private, loopback, link-local, unspecified and internal-name form with 422 WEBHOOK_URL_NOT_ALLOWED', async () => {
    const accepted: string[] = [];
    for (const url of PRIVATE_URLS) {
      const response = await owner.rest.post(path, { url, events: ['document.updated'] });
      if (response.status !== 422) {
        accepted.push(`${url} → ${response.status}`);
        continue;
      }
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({ status: 422, code: 'WEBHOOK_URL_NOT_ALLOWED' });
      expect(response.body.detail).toMatch(/public/);
    }
    expect(accepted).toEqual([]);
    expect((await owner.rest.get(path)).body.webhooks).toEqual([]);
  });

  it('does not enable again a disabled hook whose stored URL is private (from before the rule, or while it was allowed)', async () => {
    const id = uniqueDocId('wh-stored');
    await sql.query(`INSERT INTO webhooks (id, workspace_id, url, events, secret, disabled_at) VALUES ($1, $2, 'http://127.0.0.1:9/hook', '{document.updated}', 'whsec_xxxxxxxxxxxxxxxx', now())`, [
      id,
      workspaceId,
    ]);
    const enabled = await owner.rest.post(`${path}/${id}/enable`);
    expect([enabled.status, enabled.body.code]).toEqual([422, 'WEBHOOK_URL_NOT_ALLOWED']);
    expect((await owner.rest.get(`${path}/${id}`)).body.active).toBe(false);
  });

  it('still takes public names and addresses', async () => {
    for (const url of ['https://hooks.example.com/tandem', 'http://93.184.215.14/hook', 'https://[2606:4700::1111]/hook', 'https://hooks.example.com.:8443/x']) {
      const response = await owner.rest.post(path, { url, events: ['document.updated'] });
      expect(response.status, url).toBe(201);
    }
  });
});

/** The delivery-time check, on both runners: what was stored before the rule (or while the setting was on) is still never called. */
describe.each(RUNNER_KINDS)('webhook deliveries on the %s runner', (kind) => {
  let database: Database;
  let store: WebhookStore;
  let sql: pg.Client;
  let runner: TestJobRunner | undefined;
  const closers: (() => Promise<void>)[] = [];

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
    await Promise.all(closers.splice(0).map((close) => close()));
  });
  afterAll(async () => {
    await database?.close();
    await sql?.end();
  });

  /** The real processors, one try per delivery; every line the runner and the processors log is kept. */
  async function start(env: Record<string, string>): Promise<{ runner: TestJobRunner; logs: string[] }> {
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, WEBHOOK_ATTEMPTS: '1', WEBHOOK_BACKOFF_MS: '20', WEBHOOK_DISABLE_AFTER: '100', ...env });
    const logs: string[] = [];
    const logger = pino({ level: 'trace' }, { write: (line: string) => void logs.push(line) });
    runner = await startJobRunner(kind, {
      processors: (jobs) => createProcessors({ prisma: database.prisma, sql: database.sql, jobs, config, logger }),
      retry: retryPolicy(config),
      logger,
    });
    return { runner, logs };
  }

  async function workspaceWithDocument(label: string): Promise<{ workspaceId: string; documentId: string }> {
    const workspaceId = uniqueDocId(`ws-${label}`);
    const documentId = uniqueDocId(`doc-${label}`);
    await sql.query('INSERT INTO workspaces (id, name) VALUES ($1, $2)', [workspaceId, label]);
    await sql.query('INSERT INTO documents (id, workspace_id) VALUES ($1, $2)', [documentId, workspaceId]);
    return { workspaceId, documentId };
  }

  /** Stored as it is, past the registration check: a hook from before the rule, or from while WEBHOOK_ALLOW_PRIVATE was on. */
  const storedHook = (workspaceId: string, url: string) =>
    store.create({ id: uniqueDocId('wh'), workspaceId, url, events: ['document.updated'], secret: `whsec_test_${randomBytes(16).toString('hex')}` });

  /** Publishes one event and waits until each hook's delivery is done with (one try each). */
  async function deliverOnce(runner: TestJobRunner, documentId: string, hookIds: string[]) {
    await runner.jobs.publish('webhook-event', { event: 'document.updated', documentId, data: { version: 1 } });
    const latest = async () => Promise.all(hookIds.map(async (id) => (await store.deliveries(id, 10))[0]));
    await waitFor(async () => (await latest()).every((delivery) => delivery !== undefined && delivery.status !== 'pending'), 'every delivery to be tried');
    return latest();
  }

  async function receiver(answer?: (index: number) => number, options?: Parameters<typeof startWebhookReceiver>[1]): Promise<WebhookReceiver> {
    const started = await startWebhookReceiver(answer, options);
    closers.push(() => started.close());
    return started;
  }

  it('never calls a receiver on this machine, however its address is written or resolved, and stores only "address not allowed"', async () => {
    const { runner } = await start({});
    // Listens on every local address, so each form below would reach it if it were called.
    const target = await receiver(() => 200, { host: '::' });
    const { workspaceId, documentId } = await workspaceWithDocument('ssrf-delivery');
    const port = target.port;
    const urls = [
      `http://127.0.0.1:${port}/hook`,
      `http://localhost:${port}/hook`, // a name that resolves to loopback when the delivery is made
      `http://[::1]:${port}/hook`,
      `http://2130706433:${port}/hook`,
      `http://0x7f.1:${port}/hook`,
      `http://[::ffff:127.0.0.1]:${port}/hook`,
      `http://[::127.0.0.1]:${port}/hook`,
      `http://0.0.0.0:${port}/hook`,
      `http://[::]:${port}/hook`,
    ];
    const hooks = await Promise.all(urls.map((url) => storedHook(workspaceId, url)));

    const deliveries = await deliverOnce(runner, documentId, hooks.map((hook) => hook.id));
    expect.soft(target.received.map((request) => request.headers.host)).toEqual([]);
    for (const [index, delivery] of deliveries.entries()) {
      const { status, lastStatus, lastError } = delivery!;
      expect({ url: urls[index], status, lastStatus, lastError }).toEqual({ url: urls[index], status: 'failed', lastStatus: null, lastError: 'address not allowed' });
    }
    for (const hook of hooks) expect(await store.find(workspaceId, hook.id)).toMatchObject({ lastStatus: null, lastError: 'address not allowed', consecutiveFailures: 1 });
  });

  it('with WEBHOOK_ALLOW_PRIVATE=true the same local receiver is called', async () => {
    const { runner } = await start({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    const target = await receiver();
    const { workspaceId, documentId } = await workspaceWithDocument('ssrf-allowed');
    const hook = await storedHook(workspaceId, `http://localhost:${target.port}/hook`);
    await runner.jobs.publish('webhook-event', { event: 'document.updated', documentId, data: { version: 1 } });
    await waitFor(async () => (await store.deliveries(hook.id, 10))[0]?.status === 'delivered', 'the delivery');
    expect(target.received).toHaveLength(1);
  });

  it("stores a refusing receiver's status only: its body is neither stored, shown nor logged", async () => {
    const marker = `internal-secret-${randomBytes(8).toString('hex')}`;
    const { runner, logs } = await start({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    const target = await receiver(() => 500, { refusalBody: `{"error":"db down","dsn":"postgres://admin:${marker}@10.0.0.7/prod"}` });
    const { workspaceId, documentId } = await workspaceWithDocument('ssrf-body');
    const hook = await storedHook(workspaceId, target.url);

    const [delivery] = await deliverOnce(runner, documentId, [hook.id]);
    expect(target.received).toHaveLength(1);
    expect(logs.length).toBeGreaterThan(0);
    expect.soft(logs.filter((line) => line.includes(marker))).toEqual([]);
    expect(delivery).toMatchObject({ status: 'failed', lastStatus: 500, lastError: 'HTTP 500' });
    expect(await store.find(workspaceId, hook.id)).toMatchObject({ lastStatus: 500, lastError: 'HTTP 500' });
  });

  it('a refused connection and a receiver that never answers fail alike, so failures map no ports', async () => {
    const { runner } = await start({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_MS: '300' });
    const silent = await startSilentReceiver();
    closers.push(() => silent.close());
    const { workspaceId, documentId } = await workspaceWithDocument('ssrf-ports');
    const refused = await storedHook(workspaceId, await closedPortUrl());
    const hanging = await storedHook(workspaceId, silent.url);

    const [whenRefused, whenHanging] = await deliverOnce(runner, documentId, [refused.id, hanging.id]);
    expect(silent.connections).toBeGreaterThan(0);
    expect(whenRefused).toMatchObject({ lastStatus: null });
    expect(whenHanging).toMatchObject({ lastStatus: null });
    expect(whenRefused!.lastError).toBe(whenHanging!.lastError);
    expect(whenRefused!.lastError).toBe('no answer');
  });
});
