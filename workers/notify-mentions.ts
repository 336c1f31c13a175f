import { createAuthorizer } from '../src/access/authorizer.ts';
import { atLeast } from '../src/access/permissions.ts';
import { notifyMentions } from '../src/docs/mentions.ts';
import { PermanentJobError } from '../src/jobs/job-errors.ts';
import type { Processor } from '../src/jobs/ports.ts';
import { createAccessRepository } from '../src/storage/access-repository.ts';
import { createCommentRepository } from '../src/storage/comment-repository.ts';
import { createDocumentRepository } from '../src/storage/document-repository.ts';
import { createNotificationRepository } from '../src/storage/notification-repository.ts';
import type { ProcessorDeps } from './processors.ts';

/** notify-mentions: a 'mention' notification (and webhook event) for each reader a comment mentions. */
export function createNotifyMentionsProcessor({ prisma, sql, jobs, logger }: ProcessorDeps): Processor<'notify-mentions'> {
  const authorizer = createAuthorizer(createAccessRepository(prisma, sql));
  const documents = createDocumentRepository(prisma);
  const deps = {
    comments: createCommentRepository(prisma),
    notifications: createNotificationRepository(prisma),
    document: (id: string) => documents.find(id),
    canRead: async (userId: string, documentId: string) =>
      atLeast((await authorizer.permission({ kind: 'user', userId, expiresAt: null }, documentId)).permission, 'read'),
    jobs,
  };
  return async ({ commentId }, { attempt }) => {
    const outcome = await notifyMentions(deps, commentId, attempt);
    if (outcome.kind === 'gone') throw new PermanentJobError(outcome.reason);
    if (outcome.notified.length > 0) logger.info({ commentId, notified: outcome.notified }, 'mentions notified');
  };
}
