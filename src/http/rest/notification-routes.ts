import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Principal } from '../../access/principal.ts';
import type { NotificationService } from '../../docs/notifications.ts';
import { AppError } from '../../errors.ts';
import type { NotificationRecord } from '../../storage/notification-repository.ts';
import { NotificationList, NotificationParams, NotificationsQuery, NotificationView } from './comment-schemas.ts';
import { Problem } from './schemas.ts';

const tags = ['notifications'];
const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));

/** Notifications are a person's inbox: only their own sign-in reads it, not keys made for agents. */
function signedInUser(principal: Principal): string {
  if (principal.kind === 'user') return principal.userId;
  throw new AppError('FORBIDDEN', 'Notifications belong to a signed-in user: use a user token, not an API key or a document key');
}

const toJson = (notification: NotificationRecord) => ({
  id: notification.id,
  kind: notification.kind,
  documentId: notification.documentId,
  commentId: notification.commentId,
  data: notification.payload,
  readAt: notification.readAt?.toISOString() ?? null,
  createdAt: notification.createdAt.toISOString(),
});

/** The caller's notifications (mentions, ...): list, mark read. */
export function registerNotificationRoutes(app: FastifyInstance, notifications: NotificationService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/notifications',
    {
      schema: {
        tags,
        summary: 'Your notifications, newest first, a page at a time (`nextCursor`); `unread=true` for the unread ones',
        querystring: NotificationsQuery,
        response: { 200: NotificationList, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const page = await notifications.list(signedInUser(request.principal), {
        unreadOnly: request.query.unread ?? false,
        cursor: request.query.cursor,
        limit: request.query.limit ?? 50,
      });
      return { ...page, notifications: page.notifications.map(toJson) };
    },
  );

  api.post(
    '/notifications/:notificationId/read',
    {
      schema: {
        tags,
        summary: 'Mark a notification read (again: no change)',
        params: NotificationParams,
        response: { 200: NotificationView, ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => toJson(await notifications.markRead(signedInUser(request.principal), request.params.notificationId)),
  );

  api.post(
    '/notifications/read-all',
    {
      schema: {
        tags,
        summary: 'Mark every unread notification read',
        response: { 200: Type.Object({ updated: Type.Integer() }), ...problems(401, 403) },
      },
    },
    async (request) => ({ updated: await notifications.markAllRead(signedInUser(request.principal)) }),
  );
}
