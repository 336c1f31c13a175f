import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProcessors } from '../../workers/processors.ts';
import { loadConfig } from '../../src/config.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { RUNNER_KINDS, runToCompletion, startJobRunner, type TestJobRunner } from '../helpers/job-runners.ts';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';

/**
 * Expiry, run by the expire-sweep processor on both runners against a real node's database:
 * warn the owners, then soft-delete (gone from reads, reported by the change feed), then purge.
 * Time passes by moving the documents' timestamps back, as the sweep reads them.
 */
describe.each(RUNNER_KINDS)('expiry on the %s runner', (kind) => {
  let node: TestNode;
  let owner: TestUser;
  let database: Database;
  let runner: TestJobRunner;
  let sql: pg.Client;
  const webhookEvents: { event: string; documentId: string }[] = [];
  beforeAll(async () => {
    node = await startAuthNode({ EXPIRE_SWEEP_MS: '0' });
    owner = await signUp(node, `expiry-${kind}`);
    const logger = pino({ level: 'silent' });
    const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, EXPIRE_AFTER_DAYS: '30', EXPIRY_WARNING_DAYS: '7', DELETED_RETENTION_DAYS: '30' });
    database = await openDatabase(config.storage, logger);
    runner = await startJobRunner(kind, {
      processors: (jobs) => ({
        ...createProcessors({ prisma: database.prisma, sql: database.sql, jobs, config, logger }),
        // Stands in for the webhook fan-out: records what the sweep announces.
        'webhook-event': async (payload) => void webhookEvents.push(payload),
      }),
    });
    sql = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await sql.connect();
  });
  afterAll(async () => {
    await runner?.close();
    await node?.close();
    await database?.close();
    await sql?.end();
  });

  const ago = (days: number) => new Date(Date.now() - days * 86_400_000);
  const setColumn = (id: string, column: string, value: Date) => sql.query(`UPDATE documents SET ${column} = $2 WHERE id = $1`, [id, value]);
  const sweep = () => runToCompletion(runner.jobs, 'expire-sweep', {});
  const notifications = async (documentId: string) =>
    (await sql.query('SELECT user_id, kind FROM notifications WHERE document_id = $1', [documentId])).rows as { user_id: string; kind: string }[];

  async function create(workspaceId = owner.workspaceId): Promise<string> {
    const id = uniqueDocId(`expiry-${kind}`);
    const created = await owner.rest.post('/v1/documents', { id, content: 'abandoned?', workspaceId });
    expect(created.status).toBe(201);
    return id;
  }

  it('warns the owners first, then deletes the document for reads and the change feed, then purges it', async () => {
    const [abandoned, touched] = [await create(), await create()];
    const cursor = (await owner.rest.get('/v1/sync')).body.cursor as string;
    for (const id of [abandoned, touched]) await setColumn(id, 'updated_at', ago(25));

    // Inside the warning period (30 - 7 days): a warning, nothing deleted.
    await sweep();
    expect(await notifications(abandoned)).toEqual([{ user_id: owner.id, kind: 'document.expiring' }]);
    expect((await owner.rest.get(`/v1/documents/${abandoned}`)).status).toBe(200);
    // Someone edits the other one: it is no longer abandoned.
    expect((await owner.rest.patch(`/v1/documents/${touched}`, { edits: [{ append: ' no, in use' }] })).status).toBe(200);

    // Someone still has it open, without typing.
    const viewer = yWebsocketClient(node.wsUrl, abandoned, { token: owner.accessToken });
    const viewerClosed: number[] = [];
    viewer.provider.on('connection-close', (event: CloseEvent | null) => void viewerClosed.push(event?.code ?? -1));
    await whenSynced(viewer.provider);

    // Past its time, warned more than 7 days ago: deleted.
    await setColumn(abandoned, 'updated_at', ago(31));
    await setColumn(abandoned, 'expiry_warned_at', ago(8));
    await sweep();
    expect((await owner.rest.get(`/v1/documents/${abandoned}`)).status).toBe(404);
    // Its socket is closed as for a DELETE (the node learns it from the access epoch).
    await waitFor(() => viewerClosed.length > 0, 'the viewer\'s socket to close');
    expect(viewerClosed).toEqual([4404]);
    viewer.provider.destroy();
    expect((await owner.rest.get(`/v1/documents/${touched}`)).status).toBe(200);
    const feed = (await owner.rest.get(`/v1/sync?cursor=${cursor}`)).body.changes as { id: string; deleted: boolean }[];
    expect(feed.find((change) => change.id === abandoned)).toMatchObject({ deleted: true });
    expect(feed.find((change) => change.id === touched)).toMatchObject({ deleted: false });
    expect(webhookEvents).toContainEqual(expect.objectContaining({ event: 'document.deleted', documentId: abandoned }));
    // It was warned with the other one, then touched: no second warning, no deletion.
    expect(await notifications(touched)).toHaveLength(1);

    // After the retention, it is purged with its log.
    await setColumn(abandoned, 'deleted_at', ago(31));
    await sweep();
    expect((await sql.query('SELECT 1 FROM documents WHERE id = $1', [abandoned])).rowCount).toBe(0);
    expect((await sql.query('SELECT 1 FROM document_updates WHERE document_id = $1', [abandoned])).rowCount).toBe(0);
  });

  it('is not deleted without a warning first, and a workspace may keep its documents longer', async () => {
    const unwarned = await create();
    await setColumn(unwarned, 'updated_at', ago(40));
    await sweep(); // warns now; expiry waits the warning period from here
    expect((await owner.rest.get(`/v1/documents/${unwarned}`)).status).toBe(200);
    expect(await notifications(unwarned)).toHaveLength(1);

    const longer = await owner.rest.call('PATCH', `/v1/workspaces/${owner.workspaceId}`, { json: { expireAfterDays: 365 } });
    expect(longer.status).toBe(200);
    expect(longer.body).toMatchObject({ id: owner.workspaceId, expireAfterDays: 365, role: 'owner' });
    try {
      const kept = await create();
      await setColumn(kept, 'updated_at', ago(100));
      await sweep();
      expect(await notifications(kept)).toEqual([]);
      expect((await owner.rest.get(`/v1/documents/${kept}`)).status).toBe(200);
    } finally {
      expect((await owner.rest.call('PATCH', `/v1/workspaces/${owner.workspaceId}`, { json: { expireAfterDays: null } })).body.expireAfterDays).toBeNull();
    }
  });

  it('only owners change how long a workspace keeps idle documents', async () => {
    const member = await signUp(node, `expiry-member-${kind}`);
    expect((await owner.rest.post(`/v1/workspaces/${owner.workspaceId}/members`, { userId: member.id, role: 'admin' })).status).toBe(204);
    const refused = await member.rest.call('PATCH', `/v1/workspaces/${owner.workspaceId}`, { json: { expireAfterDays: 1 } });
    expect(refused.status).toBe(403);
    expect((await owner.rest.call('PATCH', `/v1/workspaces/${owner.workspaceId}`, { json: { expireAfterDays: 0 } })).status).toBe(400);
    expect((await owner.rest.call('PATCH', `/v1/workspaces/${owner.workspaceId}`, { json: {} })).status).toBe(400);
  });

  it('purges expired socket tokens', async () => {
    const hash = `expired-${kind}-${Date.now()}`;
    await sql.query(`INSERT INTO socket_tokens (token_hash, credential_kind, subject, expires_at) VALUES ($1, 'user', 'x', $2)`, [hash, ago(1)]);
    await sweep();
    expect((await sql.query('SELECT 1 FROM socket_tokens WHERE token_hash = $1', [hash])).rowCount).toBe(0);
  });

  it('drops webhook deliveries older than their 30 days of history, unless still being tried', async () => {
    const hook = `wh_expiry_${kind}_${Date.now()}`;
    await sql.query(`INSERT INTO webhooks (id, workspace_id, url, events, secret) VALUES ($1, $2, 'http://127.0.0.1:9/', '{document.updated}', 'whsec_xxxxxxxxxxxxxxxx')`, [hook, owner.workspaceId]);
    const delivery = (id: string, status: string, days: number) =>
      sql.query(`INSERT INTO webhook_deliveries (id, webhook_id, event, payload, status, created_at) VALUES ($1, $2, 'document.updated', '{}', $3, $4)`, [`${hook}-${id}`, hook, status, ago(days)]);
    await delivery('old-delivered', 'delivered', 31);
    await delivery('old-pending', 'pending', 31);
    await delivery('recent-failed', 'failed', 2);
    await sweep();
    const left = (await sql.query('SELECT id FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id', [hook])).rows.map((row) => row.id);
    expect(left).toEqual([`${hook}-old-pending`, `${hook}-recent-failed`]);
  });
});
