import type { VerificationStore } from '../access/account-ports.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { userFields } from './account-repository.ts';

/** Email verification tokens, and what verifying an address sets off, in Postgres. */
export function createVerificationRepository(prisma: PrismaClient): VerificationStore {
  return {
    async saveVerificationToken(token) {
      // One live token per user: issuing a new one voids the ones handed out before.
      await prisma.$transaction([
        prisma.emailVerificationToken.deleteMany({ where: { userId: token.userId } }),
        prisma.emailVerificationToken.create({ data: token }),
      ]);
    },

    async consumeVerificationToken(tokenHash) {
      // Deleted whether or not it has expired: a token is spent by being presented.
      const rows = await prisma.$queryRaw<{ userId: string; email: string; expiresAt: Date }[]>`
        DELETE FROM email_verification_tokens WHERE token_hash = ${tokenHash}
        RETURNING user_id AS "userId", email, expires_at AS "expiresAt"`;
      const row = rows[0];
      if (!row || row.expiresAt.getTime() <= Date.now()) return null;
      return { userId: row.userId, email: row.email };
    },

    async verifyEmail(userId, email) {
      return prisma.$transaction(async (tx) => {
        const found = await tx.user.findFirst({ where: { id: userId, email }, select: userFields });
        if (!found) return null;
        // Verified again (a second token, the operator): the first time stands.
        const user = found.emailVerifiedAt
          ? found
          : await tx.user.update({ where: { id: userId }, data: { emailVerifiedAt: new Date() }, select: userFields });
        // An existing membership or share is kept as it is: an old invitation never changes a
        // role that was set since.
        const memberships = await tx.$executeRaw`
          INSERT INTO workspace_members (workspace_id, user_id, role)
          SELECT workspace_id, ${userId}, role FROM workspace_invitations WHERE email = ${email}
          ON CONFLICT DO NOTHING`;
        await tx.workspaceInvitation.deleteMany({ where: { email } });
        const shares = await tx.$executeRaw`
          INSERT INTO document_shares (document_id, user_id, permission)
          SELECT document_id, ${userId}, permission FROM share_invitations WHERE email = ${email}
          ON CONFLICT DO NOTHING`;
        await tx.shareInvitation.deleteMany({ where: { email } });
        return { user, memberships, shares };
      });
    },
  };
}
