import { randomBytes, randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newDocumentKeys } from '../../src/access/document-keys.ts';
import { loadConfig } from '../../src/config.ts';
import type { JobPayload } from '../../src/jobs/job-types.ts';
import type { JobPublisher, JobQueues } from '../../src/jobs/ports.ts';
import { createAccessRepository } from '../../src/storage/access-repository.ts';
import { createAccountRepository } from '../../src/storage/account-repository.ts';
import { createCommentRepository } from '../../src/storage/comment-repository.ts';
import { type Database, openDatabase } from '../../src/storage/database.ts';
import { createDocumentRepository } from '../../src/storage/document-repository.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { createNotifyMentionsProcessor } from '../../workers/notify-mentions.ts';
import { restAs, signUp, startAuthNode, type TestUser, verifyEmail } from '../helpers/auth.ts';
import { waitFor } from '../helpers/clients.ts';
import { RUNNER_KINDS, startJobRunner, type TestJobRunner } from '../helpers/job-runners.ts';
import { TEST_DATABASE_URL, type TestNode, uniqueDocId } from '../helpers/node.ts';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Every queue empty: what was published has run (or failed for good). */
async function settled(jobs: JobQueues): Promise<void> {
  await waitFor(async () => Object.values(await jobs.counts()).every((c) => c.waiting + c.active + c.delayed === 0), 'the queues to drain');
}

/**
 * The notify-mentions processor on both runners (in-process, and BullMQ workers on real
 * Redis, as `npm run worker` runs it), against real Postgres.
 */
describe.each(RUNNER_KINDS)('notify-mentions on the %s runner', (kind) => {
  let db: Database;
  let runner: TestJobRunner | undefined;
  const config = loadConfig({ DATABASE_URL: TEST_DATABASE_URL, LOG_LEVEL: 'silent' });
  let author: { id: string; email: string; workspaceId: string };
  let member: { id: string; email: string };
  let guest: { id: string; email: string };
  let outsider: { id: string; email: string };

  async function user(label: string) {
    const id = randomUUID();
    const email = `${label}-${randomBytes(6).toString('hex')}@example.com`;
    const workspaceId = randomUUID();
    await createAccountRepository(db.prisma).createUser({ id, email, name: label, passwordHash: 'unused' }, { id: workspaceId, name: label });
    return { id, email, workspaceId };
  }

  beforeAll(async () => {
    db = await openDatabase({ kind: 'postgres', url: TEST_DATABASE_URL }, logger);
    await migrate(db);
    [author, member, guest, outsider] = await Promise.all(['mn-author', 'mn-member', 'mn-guest', 'mn-outsider'].map(user)) as [typeof author, typeof member, typeof guest, typeof outsider];
    await createAccessRepository(db.prisma, db.sql).setMember(author.workspaceId, member.id, 'member');
  });
  afterEach(async () => {
    await runner?.close();
    runner = undefined;
  });
  afterAll(async () => {
    await db?.close();
  });

  /** A document of the author's, shared for reading with the guest, and a comment on it. */
  async function commentOn(body: string) {
    const documentId = uniqueDocId('mn-doc');
    await createDocumentRepository(db.prisma).create({ id: documentId, title: '', workspaceId: author.workspaceId, ...newDocumentKeys().hashes });
    await createAccessRepository(db.prisma, db.sql).setShare(documentId, guest.id, 'read');
    const comment = await createCommentRepository(db.prisma).create({
      id: randomUUID(),
      documentId,
      parentId: null,
      authorId: author.id,
      authorName: 'mn-author',
      body,
      anchorStart: null,
      anchorEnd: null,
      quote: '',
    });
    return { documentId, commentId: comment.id };
  }

  /** Runs notify-mentions with a recording stand-in for the webhook fan-out (another processor's job). */
  async function start(options: { publisher?: (jobs: JobPublisher) => JobPublisher } = {}) {
    const events: JobPayload<'webhook-event'>[] = [];
    let runs = 0;
    runner = await startJobRunner(kind, {
      processors: (jobs) => {
        const notify = createNotifyMentionsProcessor({ prisma: db.prisma, sql: db.sql, jobs: options.publisher?.(jobs) ?? jobs, config, logger });
        return {
          'notify-mentions': async (payload, context) => {
            runs += 1;
            await notify(payload, context);
          },
          'webhook-event': async (payload) => {
            events.push(payload);
          },
        };
      },
    });
    return { jobs: runner.jobs, events, runs: () => runs };
  }

  const notificationsOf = (commentId: string) =>
    db.prisma.notification.findMany({ where: { commentId }, orderBy: { userId: 'asc' } });

  it('notifies each mentioned reader exactly once, even when the job runs twice or twice at once', async () => {
    const { jobs, events } = await start();
    const { documentId, commentId } = await commentOn(
      `@${member.email} and @${guest.email.toUpperCase()}: see this. Not @${outsider.email}, nor @nobody@example.com, nor me (@${author.email}).`,
    );
    await Promise.all([jobs.publish('notify-mentions', { commentId }), jobs.publish('notify-mentions', { commentId })]);
    await settled(jobs);
    await jobs.publish('notify-mentions', { commentId });
    await settled(jobs);

    const stored = await notificationsOf(commentId);
    expect(stored.map((n) => n.userId).sort()).toEqual([member.id, guest.id].sort());
    for (const notification of stored) {
      expect(notification).toMatchObject({ kind: 'mention', documentId, commentId, readAt: null, dedupeKey: `mention:${commentId}:${notification.userId}` });
      expect(notification.payload).toMatchObject({ threadId: commentId, author: { id: author.id, name: 'mn-author' } });
    }
    // The outsider may not read the document: nothing for them, nor for the author.
    expect(await db.prisma.notification.count({ where: { userId: { in: [outsider.id, author.id] }, commentId } })).toBe(0);
    // One mention event per notified user, for the webhooks.
    expect(events.map((e) => [e.event, e.documentId, e.data?.userId]).sort()).toEqual(
      [['mention', documentId, member.id], ['mention', documentId, guest.id]].sort(),
    );
    expect((await jobs.counts()).notifications.failed).toBe(0);
  });

  it('a retry after a failed publish still announces what the first try stored', async () => {
    let refused = 0;
    const { jobs, events, runs } = await start({
      publisher: (inner) => ({
        async publish(name, payload, options) {
          // The queue fails once, after the notification was stored.
          if (name === 'webhook-event' && refused === 0) {
            refused += 1;
            throw new Error('queue away');
          }
          await inner.publish(name, payload, options);
        },
      }),
    });
    const { commentId } = await commentOn(`ping @${member.email}`);
    await jobs.publish('notify-mentions', { commentId });
    await waitFor(() => events.length === 1, 'the mention event');
    await settled(jobs);
    expect(runs()).toBe(2);
    expect(events.map((e) => e.data?.userId)).toEqual([member.id]);
    expect((await notificationsOf(commentId)).map((n) => n.userId)).toEqual([member.id]);
  });

  it('a comment that is gone, or whose document is deleted, fails for good without retries', async () => {
    const { jobs, runs } = await start();
    await jobs.publish('notify-mentions', { commentId: `gone-${randomUUID()}` });
    const { documentId, commentId } = await commentOn(`@${member.email}`);
    await db.prisma.document.update({ where: { id: documentId }, data: { deletedAt: new Date() } });
    await jobs.publish('notify-mentions', { commentId });
    // "failed" is final: the jobs are done, so the number of runs is final too.
    await waitFor(async () => (await jobs.counts()).notifications.failed === 2, 'both jobs to fail');
    expect(runs()).toBe(2);
    expect(await notificationsOf(commentId)).toEqual([]);
  });
});

/** The whole path on a node (in-process jobs): a comment over REST → the job → GET /v1/notifications. */
describe('mentions end to end', () => {
  let node: TestNode;
  let ada: TestUser;
  let bob: TestUser;
  let eve: TestUser;
  let documentId: string;

  beforeAll(async () => {
    node = await startAuthNode();
    [ada, bob, eve] = (await Promise.all(['mention-ada', 'mention-bob', 'mention-eve'].map((label) => signUp(node, label)))) as [TestUser, TestUser, TestUser];
    documentId = uniqueDocId('mention-e2e');
    expect((await ada.rest.post('/v1/documents', { id: documentId, content: 'Plan: ship on Friday.\n' })).status).toBe(201);
    await verifyEmail(node, bob);
    expect((await ada.rest.put(`/v1/documents/${documentId}/shares`, { email: bob.email, permission: 'write' })).status).toBe(204);
  });
  afterAll(async () => {
    await node?.close();
  });

  async function inbox(user: TestUser, query = '') {
    const response = await user.rest.get(`/v1/notifications${query}`);
    expect(response.status).toBe(200);
    return response.body as { notifications: { id: string; kind: string; commentId: string; documentId: string; readAt: string | null; data: Record<string, unknown> }[]; nextCursor: string | null; unreadCount: number };
  }

  it('user A mentions B in a comment: B is notified, reads it and marks it read; C, without access, is not', async () => {
    const comment = await ada.rest.post(`/v1/documents/${documentId}/comments`, {
      body: `@${bob.email} can we make Friday? (cc @${eve.email})`,
      anchor: { quote: 'Friday' },
    });
    expect(comment.status).toBe(201);
    await waitFor(async () => (await inbox(bob)).notifications.length === 1, "bob's notification");
    const first = await inbox(bob);
    expect(first.unreadCount).toBe(1);
    expect(first.notifications[0]).toMatchObject({
      kind: 'mention',
      documentId,
      commentId: comment.body.id,
      readAt: null,
      data: { threadId: comment.body.id, author: { id: ada.id, name: 'mention-ada' }, excerpt: comment.body.body },
    });
    // Eve cannot read the document; the same job that notified Bob decided about her.
    expect((await inbox(eve)).notifications).toEqual([]);
    // Bob follows the notification to the thread.
    const threads = (await bob.rest.get(`/v1/documents/${documentId}/comments`)).body.threads;
    expect(threads.map((t: { id: string }) => t.id)).toContain(comment.body.id);

    const id = first.notifications[0]!.id;
    const read = await bob.rest.post(`/v1/notifications/${id}/read`);
    expect(read.status).toBe(200);
    expect(read.body.readAt).toEqual(expect.any(String));
    expect((await bob.rest.post(`/v1/notifications/${id}/read`)).body.readAt).toBe(read.body.readAt);
    expect(await inbox(bob, '?unread=true')).toEqual({ notifications: [], nextCursor: null, unreadCount: 0 });
    expect((await inbox(bob)).notifications).toHaveLength(1);

    // Only Bob may mark Bob's notification.
    const notHers = await ada.rest.post(`/v1/notifications/${id}/read`);
    expect([notHers.status, notHers.body.code]).toEqual([404, 'NOTIFICATION_NOT_FOUND']);
  });

  it('newest first, a page at a time; read-all; deleting a comment takes its notification along', async () => {
    const thread = await ada.rest.post(`/v1/documents/${documentId}/comments`, { body: `first, @${bob.email}` });
    await waitFor(async () => (await inbox(bob, '?unread=true')).unreadCount === 1, 'the first');
    const reply = await ada.rest.post(`/v1/documents/${documentId}/comments`, { body: `second, @${bob.email}`, parentId: thread.body.id });
    await waitFor(async () => (await inbox(bob, '?unread=true')).unreadCount === 2, 'the second');

    const page1 = await inbox(bob, '?unread=true&limit=1');
    expect(page1.notifications.map((n) => n.commentId)).toEqual([reply.body.id]);
    expect(page1.notifications[0]!.data.threadId).toBe(thread.body.id);
    const page2 = await inbox(bob, `?unread=true&limit=1&cursor=${page1.nextCursor}`);
    expect(page2.notifications.map((n) => n.commentId)).toEqual([thread.body.id]);
    expect(page2.nextCursor).toBeNull();

    expect((await ada.rest.call('DELETE', `/v1/documents/${documentId}/comments/${reply.body.id}`)).status).toBe(204);
    expect((await inbox(bob, '?unread=true')).notifications.map((n) => n.commentId)).toEqual([thread.body.id]);
    expect((await bob.rest.post('/v1/notifications/read-all')).body).toEqual({ updated: 1 });
    expect((await inbox(bob, '?unread=true')).unreadCount).toBe(0);
  });

  it('notifications are for signed-in users only; bad queries and unknown ids are refused', async () => {
    const key = await bob.rest.post('/v1/api-keys', { scopes: ['read'] });
    const byKey = await restAs(node, key.body.key).get('/v1/notifications');
    expect([byKey.status, byKey.body.code]).toEqual([403, 'FORBIDDEN']);
    const keys = await ada.rest.post('/v1/documents', { id: uniqueDocId('mention-keys') });
    expect((await restAs(node, keys.body.readKey).get('/v1/notifications')).status).toBe(403);
    expect((await restAs(node, keys.body.writeKey).post('/v1/notifications/read-all')).status).toBe(403);
    const anonymous = await fetch(`${node.url}/v1/notifications`);
    expect([anonymous.status, ((await anonymous.json()) as { code: string }).code]).toEqual([401, 'UNAUTHORIZED']);

    for (const query of ['?limit=0', '?limit=x', '?unread=perhaps', '?cursor=bm9wZQ']) {
      const response = await bob.rest.get(`/v1/notifications${query}`);
      expect([response.status, response.body.code], query).toEqual([400, 'VALIDATION_FAILED']);
    }
    const unknown = await bob.rest.post('/v1/notifications/nope/read');
    expect([unknown.status, unknown.body.code]).toEqual([404, 'NOTIFICATION_NOT_FOUND']);
  });
});
