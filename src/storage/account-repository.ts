import type { AccountStore } from '../access/account-ports.ts';
import type { Role } from '../access/permissions.ts';
import { Prisma, type PrismaClient } from '../generated/prisma/client.ts';

type Tx = Prisma.TransactionClient;

const userFields = { id: true, email: true, name: true, createdAt: true, emailVerifiedAt: true } as const;

const isUniqueViolation = (error: unknown) =>
  error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';

/**
 * Rotation and family revocation of one family take turns. Without it, a revocation could
 * run while a rotation's new token is inserted but not committed yet: the revocation would
 * not see that row, and the newest token of a family found leaked would stay valid.
 */
async function lockFamily(tx: Tx, familyId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${familyId}))`;
}

/** Users and refresh tokens in Postgres (or PGlite). */
export { userFields };

export function createAccountRepository(prisma: PrismaClient): AccountStore {
  return {
    async createUser(user, workspace) {
      try {
        // One nested write is one transaction: no user without their workspace, nor the reverse.
        return await prisma.user.create({
          data: {
            ...user,
            memberships: { create: { role: 'owner', workspace: { create: workspace } } },
          },
          select: userFields,
        });
      } catch (error) {
        // The unique index on users.email decides between two registrations racing for one address.
        if (isUniqueViolation(error)) return null;
        throw error;
      }
    },

    async userByEmail(email) {
      return prisma.user.findUnique({ where: { email }, select: { ...userFields, passwordHash: true } });
    },

    async replacePasswordHash(userId, previous, next) {
      const { count } = await prisma.user.updateMany({ where: { id: userId, passwordHash: previous }, data: { passwordHash: next } });
      return count === 1;
    },

    async user(id) {
      return prisma.user.findUnique({ where: { id }, select: userFields });
    },

    async workspacesOf(userId) {
      const rows = await prisma.workspaceMember.findMany({
        where: { userId },
        orderBy: { createdAt: 'asc' },
        select: { role: true, workspace: { select: { id: true, name: true } } },
      });
      return rows.map((row) => ({ ...row.workspace, role: row.role as Role }));
    },

    async saveRefreshToken(token) {
      await prisma.refreshToken.create({ data: token });
    },

    async refreshToken(tokenHash) {
      return prisma.refreshToken.findUnique({
        where: { tokenHash },
        select: { tokenHash: true, userId: true, familyId: true, expiresAt: true, usedAt: true, revokedAt: true },
      });
    },

    async rotateRefreshToken(tokenHash, next) {
      return prisma.$transaction(async (tx) => {
        await lockFamily(tx, next.familyId);
        const now = new Date();
        // Conditional: a second refresh with the same token finds it used and changes nothing.
        const { count } = await tx.refreshToken.updateMany({
          where: { tokenHash, usedAt: null, revokedAt: null, expiresAt: { gt: now } },
          data: { usedAt: now },
        });
        if (count !== 1) return false;
        await tx.refreshToken.create({ data: next });
        return true;
      });
    },

    async revokeRefreshFamily(familyId) {
      return prisma.$transaction(async (tx) => {
        await lockFamily(tx, familyId);
        const { count } = await tx.refreshToken.updateMany({
          where: { familyId, revokedAt: null },
          data: { revokedAt: new Date() },
        });
        return count;
      });
    },
  };
}
