import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';

export interface NotificationRecord {
  id: string;
  userId: string;
  /** 'mention' (a comment names the user), 'document.expiring', ... */
  kind: string;
  documentId: string | null;
  commentId: string | null;
  payload: Record<string, unknown>;
  readAt: Date | null;
  createdAt: Date;
}

export interface NewNotification {
  id: string;
  userId: string;
  kind: string;
  documentId: string | null;
  commentId: string | null;
  payload: Record<string, unknown>;
  /** Unique: a notification with the same key is never stored twice (retried jobs). */
  dedupeKey: string;
}

/** Where a page of notifications starts: after this (createdAt, id), newest first. */
export interface NotificationPosition {
  createdAt: Date;
  id: string;
}

/** Users' notifications (storage/notification-repository.ts). */
export interface NotificationStore {
  /** Stores those whose dedupe key is new, in one statement, and returns only them. */
  insertNew(notifications: NewNotification[]): Promise<NotificationRecord[]>;
  /** The stored notifications with these dedupe keys. */
  withDedupeKeys(keys: string[]): Promise<NotificationRecord[]>;
  /** A user's notifications, newest first, after `after`. */
  page(userId: string, options: { unreadOnly: boolean; after?: NotificationPosition | undefined; limit: number }): Promise<NotificationRecord[]>;
  unreadCount(userId: string): Promise<number>;
  /** Marks one read (keeping the first read time); null when the user has no such notification. */
  markRead(userId: string, id: string): Promise<NotificationRecord | null>;
  /** Marks every unread one read; how many. */
  markAllRead(userId: string): Promise<number>;
}

function toRecord(row: {
  id: string;
  userId: string;
  kind: string;
  documentId: string | null;
  commentId: string | null;
  payload: Prisma.JsonValue;
  readAt: Date | null;
  createdAt: Date;
}): NotificationRecord {
  const payload = row.payload !== null && typeof row.payload === 'object' && !Array.isArray(row.payload) ? row.payload : {};
  return { ...row, payload: payload as Record<string, unknown> };
}

const fields = { id: true, userId: true, kind: true, documentId: true, commentId: true, payload: true, readAt: true, createdAt: true } as const;

export function createNotificationRepository(prisma: PrismaClient): NotificationStore {
  return {
    async insertNew(notifications) {
      if (notifications.length === 0) return [];
      // ON CONFLICT (dedupe_key) DO NOTHING: two runs of one job at once store each row once,
      // and each run learns which rows it stored itself.
      const rows = await prisma.notification.createManyAndReturn({
        data: notifications.map((notification) => ({ ...notification, payload: notification.payload as Prisma.InputJsonObject })),
        skipDuplicates: true,
        select: fields,
      });
      return rows.map(toRecord);
    },

    async withDedupeKeys(keys) {
      if (keys.length === 0) return [];
      return (await prisma.notification.findMany({ where: { dedupeKey: { in: keys } }, select: fields })).map(toRecord);
    },

    async page(userId, { unreadOnly, after, limit }) {
      const rows = await prisma.notification.findMany({
        where: {
          userId,
          ...(unreadOnly ? { readAt: null } : {}),
          ...(after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
        select: fields,
      });
      return rows.map(toRecord);
    },

    unreadCount: (userId) => prisma.notification.count({ where: { userId, readAt: null } }),

    async markRead(userId, id) {
      await prisma.notification.updateMany({ where: { id, userId, readAt: null }, data: { readAt: new Date() } });
      const row = await prisma.notification.findFirst({ where: { id, userId }, select: fields });
      return row && toRecord(row);
    },

    async markAllRead(userId) {
      const { count } = await prisma.notification.updateMany({ where: { userId, readAt: null }, data: { readAt: new Date() } });
      return count;
    },
  };
}
