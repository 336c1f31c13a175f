import { AppError } from '../errors.ts';
import type { NotificationPosition, NotificationRecord, NotificationStore } from '../storage/notification-repository.ts';

export interface NotificationPage {
  notifications: NotificationRecord[];
  /** Pass it back as `cursor` for the next (older) page; null on the last one. */
  nextCursor: string | null;
  unreadCount: number;
}

export interface NotificationService {
  /** A user's notifications, newest first. */
  list(userId: string, options: { unreadOnly: boolean; cursor?: string | undefined; limit: number }): Promise<NotificationPage>;
  markRead(userId: string, id: string): Promise<NotificationRecord>;
  markAllRead(userId: string): Promise<number>;
}

/** Cursors are opaque to clients: base64url of "<createdAt ms>:<id>" of the last one seen. */
function encodeCursor(position: NotificationPosition): string {
  return Buffer.from(`${position.createdAt.getTime()}:${position.id}`).toString('base64url');
}

function decodeCursor(cursor: string): NotificationPosition {
  const match = /^(\d{1,15}):(.+)$/s.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new AppError('VALIDATION_FAILED', 'cursor is not one this server handed out');
  return { createdAt: new Date(Number(match[1])), id: match[2]! };
}

export function createNotificationService(store: NotificationStore): NotificationService {
  return {
    async list(userId, { unreadOnly, cursor, limit }) {
      const after = cursor ? decodeCursor(cursor) : undefined;
      // One more than asked tells whether another page follows.
      const [rows, unreadCount] = await Promise.all([store.page(userId, { unreadOnly, after, limit: limit + 1 }), store.unreadCount(userId)]);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { notifications: page, nextCursor: rows.length > limit && last ? encodeCursor(last) : null, unreadCount };
    },

    async markRead(userId, id) {
      const notification = await store.markRead(userId, id);
      if (!notification) throw new AppError('NOTIFICATION_NOT_FOUND', `You have no notification ${id}`);
      return notification;
    },

    markAllRead: (userId) => store.markAllRead(userId),
  };
}
