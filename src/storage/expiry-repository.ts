import { randomUUID } from 'node:crypto';
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts';
import { CLOCK_NOW_SQL } from './change-clock.ts';

export interface ExpiryPolicy {
  /** Documents untouched this long expire, unless their workspace sets its own number of days. */
  afterDays: number;
  /** Owners are warned this long before, and expiry waits at least this long after the warning. */
  warningDays: number;
  /** Deleted documents are purged this long after deletion. */
  deletedRetentionDays: number;
}

export interface ExpiringDocument {
  id: string;
  workspaceId: string | null;
  updatedAt: Date;
  expiresAt: Date;
}

export interface ExpiryStore {
  /** Live documents inside their warning period whose owners were not warned since their last change. */
  toWarn(now: Date, policy: ExpiryPolicy, limit: number): Promise<ExpiringDocument[]>;
  /** Stores a `document.expiring` notification for every owner of the workspace (once per idle spell) and marks the document warned. */
  warn(document: ExpiringDocument, now: Date): Promise<void>;
  /** Soft-deletes the documents that are past their time and were warned long enough ago; returns their ids. */
  expire(now: Date, policy: ExpiryPolicy, limit: number): Promise<string[]>;
  /** Deletes for good the documents deleted longer ago than the retention, with their log, snapshots, versions, comments, shares and keys. */
  purge(now: Date, policy: ExpiryPolicy, limit: number): Promise<number>;
  /** Deletes refresh and socket tokens that can no longer be used. */
  purgeSpentCredentials(now: Date): Promise<number>;
  /** Deletes finished webhook deliveries older than the listed history (pending ones are still being tried). */
  purgeOldDeliveries(now: Date): Promise<number>;
}

const DAY_MS = 86_400_000;
/** How long webhook deliveries stay listed (GET .../deliveries). */
const KEEP_DELIVERIES_DAYS = 30;

export function createExpiryStore(prisma: PrismaClient): ExpiryStore {
  return {
    async toWarn(now, policy, limit) {
      const rows = await prisma.$queryRaw<{ id: string; workspace_id: string | null; updated_at: Date; days: number }[]>`
        SELECT d.id, d.workspace_id, d.updated_at, COALESCE(w.expire_after_days, ${policy.afterDays})::int AS days
        FROM documents d LEFT JOIN workspaces w ON w.id = d.workspace_id
        WHERE d.deleted_at IS NULL
          AND d.updated_at < ${now}::timestamptz - make_interval(days => COALESCE(w.expire_after_days, ${policy.afterDays}) - ${policy.warningDays})
          AND (d.expiry_warned_at IS NULL OR d.expiry_warned_at < d.updated_at)
        ORDER BY d.updated_at
        LIMIT ${limit}`;
      return rows.map((row) => ({
        id: row.id,
        workspaceId: row.workspace_id,
        updatedAt: row.updated_at,
        expiresAt: new Date(row.updated_at.getTime() + row.days * DAY_MS),
      }));
    },

    async warn(document, now) {
      const owners = document.workspaceId
        ? await prisma.workspaceMember.findMany({ where: { workspaceId: document.workspaceId, role: 'owner' }, select: { userId: true } })
        : [];
      await prisma.$transaction([
        // One warning per owner per idle spell: the key names the last change it is about.
        prisma.notification.createMany({
          data: owners.map(({ userId }) => ({
            id: randomUUID(),
            userId,
            kind: 'document.expiring',
            documentId: document.id,
            payload: { documentId: document.id, expiresAt: document.expiresAt.toISOString() },
            dedupeKey: `document.expiring:${document.id}:${userId}:${document.updatedAt.toISOString()}`,
          })),
          skipDuplicates: true,
        }),
        // Only if nobody touched it meanwhile (then the warning is moot, and the next spell gets its own).
        prisma.document.updateMany({ where: { id: document.id, updatedAt: document.updatedAt }, data: { expiryWarnedAt: now } }),
      ]);
    },

    async expire(now, policy, limit) {
      // One statement: a document edited after it was picked no longer matches, so it stays.
      const rows = await prisma.$queryRaw<{ id: string }[]>`
        WITH due AS (
          SELECT d.id FROM documents d LEFT JOIN workspaces w ON w.id = d.workspace_id
          WHERE d.deleted_at IS NULL
            AND d.updated_at < ${now}::timestamptz - make_interval(days => COALESCE(w.expire_after_days, ${policy.afterDays}))
            AND d.expiry_warned_at >= d.updated_at
            AND d.expiry_warned_at <= ${now}::timestamptz - make_interval(days => ${policy.warningDays})
          ORDER BY d.updated_at
          LIMIT ${limit}
          FOR UPDATE OF d SKIP LOCKED
        ),
        -- Every node re-checks its sockets when the access epoch moves: those on these documents close (4404).
        epoch AS (UPDATE access_epoch SET value = value + 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM due))
        UPDATE documents d SET deleted_at = ${now}, change_seq = ${Prisma.raw(CLOCK_NOW_SQL)}
        FROM due WHERE d.id = due.id
        RETURNING d.id`;
      return rows.map((row) => row.id);
    },

    async purge(now, policy, limit) {
      const cutoff = new Date(now.getTime() - policy.deletedRetentionDays * DAY_MS);
      const due = await prisma.document.findMany({ where: { deletedAt: { lt: cutoff } }, select: { id: true }, take: limit });
      if (due.length === 0) return 0;
      const ids = due.map((row) => row.id);
      const [, purged] = await prisma.$transaction([
        prisma.documentShare.deleteMany({ where: { documentId: { in: ids } } }),
        // Cascades to the log, snapshots, named versions and comments; the keys live on the row.
        prisma.document.deleteMany({ where: { id: { in: ids }, deletedAt: { lt: cutoff } } }),
      ]);
      return purged.count;
    },

    async purgeSpentCredentials(now) {
      const [refresh, socket] = await prisma.$transaction([
        prisma.refreshToken.deleteMany({ where: { expiresAt: { lt: now } } }),
        prisma.socketToken.deleteMany({ where: { expiresAt: { lt: now } } }),
      ]);
      return refresh.count + socket.count;
    },

    async purgeOldDeliveries(now) {
      const before = new Date(now.getTime() - KEEP_DELIVERIES_DAYS * DAY_MS);
      const { count } = await prisma.webhookDelivery.deleteMany({ where: { createdAt: { lt: before }, status: { not: 'pending' } } });
      return count;
    },
  };
}
