import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/docs/webhook-signature.ts';
import { restAs, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { waitFor } from '../helpers/clients.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const EVENTS = ['document.updated', 'document.deleted'];

/** The webhook REST API on a node with access control on, and deliveries through the node's own jobs. */
describe('webhook routes', () => {
  let node: TestNode;
  let owner: TestUser;
  let admin: TestUser;
  let member: TestUser;
  let outsider: TestUser;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    // No REDIS_URL: the node runs the webhook processors itself. Quick retries, quick disabling.
    // The receivers listen on 127.0.0.1, so private addresses are allowed here (webhook-ssrf.test.ts: without).
    node = await startAuthNode({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_DEBOUNCE_MS: '0', WEBHOOK_BACKOFF_MS: '20', WEBHOOK_DISABLE_AFTER: '2', JOB_BACKOFF_MS: '20' });
    [owner, admin, member, outsider] = (await Promise.all(['wh-owner', 'wh-admin', 'wh-member', 'wh-outsider'].map((label) => signUp(node, label)))) as [
      TestUser,
      TestUser,
      TestUser,
      TestUser,
    ];
    expect((await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: admin.id, role: 'admin' })).status).toBe(204);
    expect((await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: member.id, role: 'member' })).status).toBe(204);
  });
  afterAll(async () => {
    await node?.close();
    await Promise.all(receivers.map((receiver) => receiver.close()));
  });

  async function receiver(answer?: (index: number) => number): Promise<WebhookReceiver> {
    const started = await startWebhookReceiver(answer);
    receivers.push(started);
    return started;
  }

  const hooksPath = (workspaceId: string) => `/v1/workspaces/${workspaceId}/webhooks`;

  it('an owner registers, lists and deletes webhooks; the secret is shown only when created', async () => {
    const path = hooksPath(owner.workspaceId);
    const created = await owner.rest.post(path, { url: 'https://hooks.example.com/tandem', events: EVENTS });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      workspaceId: owner.workspaceId,
      url: 'https://hooks.example.com/tandem',
      events: EVENTS,
      active: true,
      consecutiveFailures: 0,
      disabledAt: null,
      lastStatus: null,
      lastDeliveryAt: null,
    });
    expect(created.body.secret).toMatch(/^whsec_[\w-]{40,}$/);

    const mine = await owner.rest.post(path, { url: 'http://hooks.example.com/other', events: ['mention'], secret: 'my-own-secret-of-some-length' });
    expect(mine.status).toBe(201);
    expect(mine.body.secret).toBe('my-own-secret-of-some-length');

    const listed = await owner.rest.get(path);
    expect(listed.status).toBe(200);
    const ids = listed.body.webhooks.map((webhook: { id: string }) => webhook.id);
    expect(ids).toEqual(expect.arrayContaining([created.body.id, mine.body.id]));
    for (const webhook of listed.body.webhooks) expect(webhook).not.toHaveProperty('secret');
    const one = await owner.rest.get(`${path}/${created.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty('secret');
    expect((await owner.rest.get(`${path}/${created.body.id}/deliveries`)).body).toEqual({ deliveries: [] });

    expect((await owner.rest.delete(`${path}/${created.body.id}`)).status).toBe(204);
    const gone = await owner.rest.delete(`${path}/${created.body.id}`);
    expect([gone.status, gone.body.code]).toEqual([404, 'WEBHOOK_NOT_FOUND']);
    expect((await owner.rest.get(path)).body.webhooks.map((webhook: { id: string }) => webhook.id)).not.toContain(created.body.id);
  });

  it('a workspace admin may manage webhooks; a member may not, and an outsider learns nothing', async () => {
    const path = hooksPath(owner.workspaceId);
    const byAdmin = await admin.rest.post(path, { url: 'https://hooks.example.com/admin', events: ['comment.created'] });
    expect(byAdmin.status).toBe(201);
    expect((await admin.rest.get(path)).status).toBe(200);

    for (const response of [
      await member.rest.post(path, { url: 'https://hooks.example.com/member', events: ['comment.created'] }),
      await member.rest.get(path),
      await member.rest.get(`${path}/${byAdmin.body.id}/deliveries`),
      await member.rest.delete(`${path}/${byAdmin.body.id}`),
      await member.rest.post(`${path}/${byAdmin.body.id}/enable`),
    ]) {
      expect(response.status).toBe(403);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('FORBIDDEN');
    }
    for (const response of [await outsider.rest.get(path), await outsider.rest.delete(`${path}/${byAdmin.body.id}`)]) {
      expect([response.status, response.body.code]).toEqual([404, 'WORKSPACE_NOT_FOUND']);
    }
    // A hook of another workspace is not found through one's own.
    const elsewhere = await outsider.rest.get(`${hooksPath(outsider.workspaceId)}/${byAdmin.body.id}`);
    expect([elsewhere.status, elsewhere.body.code]).toEqual([404, 'WEBHOOK_NOT_FOUND']);
    expect((await outsider.rest.delete(`${hooksPath(outsider.workspaceId)}/${byAdmin.body.id}`)).status).toBe(404);
    // An agent acts for its user only with the admin scope; a document key never.
    const writeKey = await owner.rest.post('/v1/api-keys', { scopes: ['write'] });
    const adminKey = await owner.rest.post('/v1/api-keys', { scopes: ['admin'] });
    const document = await owner.rest.post('/v1/documents', { id: uniqueDocId('wh-keys') });
    expect((await restAs(node, writeKey.body.key).get(path)).status).toBe(403);
    expect((await restAs(node, document.body.writeKey).get(path)).status).toBe(403);
    expect((await restAs(node, adminKey.body.key).get(path)).status).toBe(200);
    expect((await admin.rest.delete(`${path}/${byAdmin.body.id}`)).status).toBe(204);
  });

  it('refuses bad URLs, events and secrets with 400 problem+json', async () => {
    const path = hooksPath(owner.workspaceId);
    const bodies = [
      { url: 'ftp://hooks.example.com/x', events: EVENTS },
      { url: 'not a url', events: EVENTS },
      { url: 'https://user:password@hooks.example.com/x', events: EVENTS },
      { url: 'https://hooks.example.com/x', events: [] },
      { url: 'https://hooks.example.com/x', events: ['document.exploded'] },
      { url: 'https://hooks.example.com/x', events: ['mention', 'mention'] },
      { url: 'https://hooks.example.com/x', events: EVENTS, secret: 'short' },
      { url: 'https://hooks.example.com/x', events: EVENTS, extra: true },
      { events: EVENTS },
    ];
    for (const body of bodies) {
      const response = await owner.rest.post(path, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
  });

  it('documents changed and deleted over REST reach a registered receiver, signed', async () => {
    const target = await receiver();
    const created = await owner.rest.post(hooksPath(owner.workspaceId), { url: target.url, events: EVENTS });
    expect(created.status).toBe(201);
    const id = uniqueDocId('wh-doc');
    expect((await owner.rest.post('/v1/documents', { id, content: '# hooks\n' })).status).toBe(201);
    const written = await owner.rest.patch(`/v1/documents/${id}`, { edits: [{ append: 'more\n' }] });
    expect(written.status).toBe(200);

    const about = (event: string) => target.received.filter((delivery) => delivery.headers['tandem-event'] === event && JSON.parse(delivery.rawBody).documentId === id);
    await waitFor(() => about('document.updated').some((delivery) => JSON.parse(delivery.rawBody).data.version === written.body.version), 'document.updated of the patch');
    expect((await owner.rest.delete(`/v1/documents/${id}`)).status).toBe(204);
    await waitFor(() => about('document.deleted').length === 1, 'document.deleted');

    for (const delivery of [...about('document.updated'), ...about('document.deleted')]) {
      const { rawBody, headers } = delivery;
      expect(verifyWebhookSignature({ secret: created.body.secret, body: rawBody, timestamp: headers['tandem-timestamp'] as string, signature: headers['tandem-signature'] as string })).toBe(true);
      expect(JSON.parse(rawBody).workspaceId).toBe(owner.workspaceId);
    }
    await waitFor(async () => {
      const { deliveries } = (await owner.rest.get(`${hooksPath(owner.workspaceId)}/${created.body.id}/deliveries`)).body;
      return deliveries.length >= 2 && deliveries.every((delivery: { status: string }) => delivery.status === 'delivered');
    }, 'the deliveries to be recorded as delivered');
    const listed = (await owner.rest.get(hooksPath(owner.workspaceId))).body.webhooks.find((webhook: { id: string }) => webhook.id === created.body.id);
    expect(listed).toMatchObject({ active: true, consecutiveFailures: 0, lastStatus: 200 });
    expect(listed.lastDeliveryAt).not.toBeNull();
    expect((await owner.rest.delete(`${hooksPath(owner.workspaceId)}/${created.body.id}`)).status).toBe(204);
  });

  it('a hook that keeps failing is disabled, shows why, and can be enabled again', async () => {
    const target = await receiver(() => 503);
    const workspace = await owner.rest.post('/v1/workspaces', { name: 'failing hooks' });
    const path = hooksPath(workspace.body.id);
    const created = await owner.rest.post(path, { url: target.url, events: ['document.updated'] });
    const id = uniqueDocId('wh-failing');
    expect((await owner.rest.post('/v1/documents', { id, workspaceId: workspace.body.id, content: 'x' })).status).toBe(201);
    expect((await owner.rest.patch(`/v1/documents/${id}`, { edits: [{ append: 'y' }] })).status).toBe(200);

    await waitFor(async () => (await owner.rest.get(`${path}/${created.body.id}`)).body.active === false, 'the hook to be disabled');
    const disabled = (await owner.rest.get(`${path}/${created.body.id}`)).body;
    expect(disabled).toMatchObject({ consecutiveFailures: 2, lastStatus: 503 });
    expect(disabled.disabledAt).not.toBeNull();
    expect(disabled.lastError).toBe('HTTP 503');
    await waitFor(async () => (await owner.rest.get(`${path}/${created.body.id}/deliveries`)).body.deliveries.some((delivery: { status: string }) => delivery.status === 'failed'), 'a failed delivery');
    const failed = (await owner.rest.get(`${path}/${created.body.id}/deliveries`)).body.deliveries.find((delivery: { status: string }) => delivery.status === 'failed');
    expect(failed).toMatchObject({ event: 'document.updated', lastStatus: 503 });
    expect(failed.payload).toMatchObject({ id: failed.id, event: 'document.updated', documentId: id });

    const enabled = await owner.rest.post(`${path}/${created.body.id}/enable`);
    expect(enabled.status).toBe(200);
    expect(enabled.body).toMatchObject({ active: true, consecutiveFailures: 0, disabledAt: null });
  });
});
