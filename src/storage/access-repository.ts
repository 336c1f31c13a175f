import type {
  AccessAdminStore,
  AccessStore,
  ApiKeyRecord,
  DocumentAccessRecord,
  SocketTokenGrant,
} from '../access/ports.ts';
import type { Role, Scope, SharePermission } from '../access/permissions.ts';
import { AppError } from '../errors.ts';
import type { SqlQuery } from './database.ts';
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts';

type Tx = Prisma.TransactionClient;

const bumpEpoch = (tx: Tx) => tx.$executeRaw`UPDATE access_epoch SET value = value + 1 WHERE id = 1`;

function toApiKey(row: {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  scopes: string[];
  workspaceId: string | null;
  documentIds: string[];
  createdAt: Date;
  revokedAt: Date | null;
}): ApiKeyRecord {
  return { ...row, scopes: row.scopes as Scope[] };
}

const apiKeyFields = {
  id: true,
  userId: true,
  name: true,
  prefix: true,
  scopes: true,
  workspaceId: true,
  documentIds: true,
  createdAt: true,
  revokedAt: true,
} as const;

const workspaceFields = { id: true, name: true, createdAt: true, expireAfterDays: true } as const;

const DOCUMENT_ACCESS_SQL =
  'SELECT id, workspace_id AS "workspaceId", read_key_hash AS "readKeyHash", write_key_hash AS "writeKeyHash", deleted_at AS "deletedAt" FROM documents WHERE id = $1';

/**
 * Who may do what, in Postgres: the reads the authorizer makes, and the changes to them. The
 * document lookup goes past Prisma's runtime (`sql`), as the op log's statements do: every
 * socket makes it as it connects, and in a burst of connections what Prisma allocates per
 * query lived long enough to be promoted, about 7 KB of old space per connection (bench S4:
 * 21 -> 14 KB of RSS per idle connection).
 */
export function createAccessRepository(prisma: PrismaClient, sql: SqlQuery): AccessStore & AccessAdminStore {
  return {
    async document(id) {
      const [row] = await sql.query<DocumentAccessRecord>('tandem_access_document', DOCUMENT_ACCESS_SQL, [id]);
      return row ?? null;
    },

    async documentByKeyHash(hash) {
      const row = await prisma.document.findFirst({
        where: { OR: [{ readKeyHash: hash }, { writeKeyHash: hash }] },
        select: { id: true, writeKeyHash: true },
      });
      if (!row) return null;
      return { documentId: row.id, permission: row.writeKeyHash === hash ? 'write' : 'read', keyHash: hash };
    },

    async role(workspaceId, userId) {
      const row = await prisma.workspaceMember.findUnique({
        where: { workspaceId_userId: { workspaceId, userId } },
        select: { role: true },
      });
      return (row?.role as Role | undefined) ?? null;
    },

    async share(documentId, userId) {
      const row = await prisma.documentShare.findUnique({
        where: { documentId_userId: { documentId, userId } },
        select: { permission: true },
      });
      return (row?.permission as SharePermission | undefined) ?? null;
    },

    async userExists(userId) {
      return (await prisma.user.count({ where: { id: userId } })) > 0;
    },

    async visibility(userId) {
      const [memberships, shares] = await Promise.all([
        prisma.workspaceMember.findMany({ where: { userId, role: { not: 'guest' } }, select: { workspaceId: true } }),
        prisma.documentShare.findMany({ where: { userId }, select: { documentId: true } }),
      ]);
      return { workspaceIds: memberships.map((row) => row.workspaceId), documentIds: shares.map((row) => row.documentId) };
    },

    async homeWorkspace(userId) {
      const row = await prisma.workspaceMember.findFirst({
        where: { userId, role: 'owner' },
        orderBy: { createdAt: 'asc' },
        select: { workspaceId: true },
      });
      return row?.workspaceId ?? null;
    },

    async apiKeyByHash(hash) {
      const row = await prisma.apiKey.findUnique({ where: { keyHash: hash }, select: apiKeyFields });
      return row ? toApiKey(row) : null;
    },

    async apiKey(id) {
      const row = await prisma.apiKey.findUnique({ where: { id }, select: apiKeyFields });
      return row ? toApiKey(row) : null;
    },

    async saveSocketToken(hash, grant, expiresAt) {
      await prisma.socketToken.create({ data: { tokenHash: hash, ...grant, expiresAt } });
    },

    async consumeSocketToken(hash) {
      // One statement: of two sockets racing with one token, exactly one gets the row.
      const rows = await prisma.$queryRaw<SocketTokenGrant[]>`
        UPDATE socket_tokens SET used_at = now()
        WHERE token_hash = ${hash} AND used_at IS NULL AND expires_at > now()
        RETURNING credential_kind AS "credentialKind", subject, credential_hash AS "credentialHash", document_id AS "documentId",
          credential_expires_at AS "credentialExpiresAt"`;
      // Spent tokens are deleted by the expiry sweep (workers/expire-sweep.ts), not on this path.
      return rows[0] ?? null;
    },

    async epoch() {
      const row = await prisma.accessEpoch.findUnique({ where: { id: 1 }, select: { value: true } });
      return row?.value ?? 0n;
    },

    async createApiKey(key, maxActive) {
      return prisma.$transaction(async (tx) => {
        // The user's row as a lock: two requests at once cannot both take the last free place.
        await tx.$queryRaw`SELECT id FROM users WHERE id = ${key.userId} FOR UPDATE`;
        const active = await tx.apiKey.count({ where: { userId: key.userId, revokedAt: null } });
        if (active >= maxActive) return null;
        return toApiKey(await tx.apiKey.create({ data: key, select: apiKeyFields }));
      });
    },

    async apiKeysOf(userId) {
      const rows = await prisma.apiKey.findMany({
        where: { userId, revokedAt: null },
        orderBy: { createdAt: 'asc' },
        select: apiKeyFields,
      });
      return rows.map(toApiKey);
    },

    async revokeApiKey(userId, keyId) {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.apiKey.updateMany({
          where: { id: keyId, userId, revokedAt: null },
          data: { revokedAt: new Date() },
        });
        if (count > 0) await bumpEpoch(tx);
        return count > 0;
      });
    },

    async createWorkspace(id, name, ownerId) {
      return prisma.workspace.create({
        data: { id, name, members: { create: { userId: ownerId, role: 'owner' } } },
        select: workspaceFields,
      });
    },

    async workspacesOf(userId) {
      const rows = await prisma.workspaceMember.findMany({
        where: { userId },
        orderBy: { createdAt: 'asc' },
        select: { role: true, workspace: { select: workspaceFields } },
      });
      return rows.map((row) => ({ ...row.workspace, role: row.role as Role }));
    },

    async updateWorkspace(id, changes) {
      return prisma.workspace.update({ where: { id }, data: changes, select: workspaceFields });
    },

    async members(workspaceId) {
      const rows = await prisma.workspaceMember.findMany({
        where: { workspaceId },
        orderBy: { createdAt: 'asc' },
        select: { role: true, user: { select: { id: true, email: true, name: true } } },
      });
      return rows.map((row) => ({ userId: row.user.id, email: row.user.email, name: row.user.name, role: row.role as Role }));
    },

    async verifiedUserIdByEmail(email) {
      const row = await prisma.user.findFirst({ where: { email, emailVerifiedAt: { not: null } }, select: { id: true } });
      return row?.id ?? null;
    },

    async setMember(workspaceId, userId, role) {
      await prisma.$transaction(async (tx) => {
        await lockMembers(tx, workspaceId);
        await tx.workspaceMember.upsert({
          where: { workspaceId_userId: { workspaceId, userId } },
          create: { workspaceId, userId, role },
          update: { role },
        });
        await tx.$executeRaw`DELETE FROM workspace_invitations WHERE workspace_id = ${workspaceId} AND email = (SELECT email FROM users WHERE id = ${userId})`;
        await requireOwner(tx, workspaceId);
        await bumpEpoch(tx);
      });
    },

    async removeMember(workspaceId, userId) {
      return prisma.$transaction(async (tx) => {
        await lockMembers(tx, workspaceId);
        const { count } = await tx.workspaceMember.deleteMany({ where: { workspaceId, userId } });
        await requireOwner(tx, workspaceId);
        if (count > 0) await bumpEpoch(tx);
        return count > 0;
      });
    },

    async shares(documentId) {
      const rows = await prisma.documentShare.findMany({
        where: { documentId },
        orderBy: { createdAt: 'asc' },
        select: { permission: true, user: { select: { id: true, email: true } } },
      });
      return rows.map((row) => ({ userId: row.user.id, email: row.user.email, permission: row.permission as SharePermission }));
    },

    async setShare(documentId, userId, permission) {
      await prisma.$transaction(async (tx) => {
        await tx.documentShare.upsert({
          where: { documentId_userId: { documentId, userId } },
          create: { documentId, userId, permission },
          update: { permission },
        });
        await tx.$executeRaw`DELETE FROM share_invitations WHERE document_id = ${documentId} AND email = (SELECT email FROM users WHERE id = ${userId})`;
        await bumpEpoch(tx);
      });
    },

    async removeShare(documentId, userId) {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.documentShare.deleteMany({ where: { documentId, userId } });
        if (count > 0) await bumpEpoch(tx);
        return count > 0;
      });
    },

    async setDocumentKeys(documentId, hashes) {
      await prisma.$transaction(async (tx) => {
        await tx.document.update({ where: { id: documentId }, data: hashes });
        await bumpEpoch(tx);
      });
    },
  };
}

/**
 * Membership changes of one workspace queue up on the workspace row, so that two owners
 * demoting each other at once cannot both succeed and leave it without an owner.
 */
async function lockMembers(tx: Tx, workspaceId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM workspaces WHERE id = ${workspaceId} FOR UPDATE`;
}

/** Checked after the change, inside its transaction: a refusal rolls the change back. */
async function requireOwner(tx: Tx, workspaceId: string): Promise<void> {
  const owners = await tx.workspaceMember.count({ where: { workspaceId, role: 'owner' } });
  if (owners === 0) throw new AppError('LAST_OWNER');
}
