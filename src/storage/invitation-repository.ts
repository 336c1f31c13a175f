import type { InvitationStore } from '../access/ports.ts';
import type { Role, SharePermission } from '../access/permissions.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';

const fields = { email: true, createdAt: true } as const;

/**
 * Invitations by email in Postgres. A cap per workspace and per document keeps one account
 * from filling the table; re-inviting an address already waiting changes its role instead.
 */
export function createInvitationRepository(prisma: PrismaClient): InvitationStore {
  return {
    async workspaceInvitation(workspaceId, email) {
      const row = await prisma.workspaceInvitation.findUnique({ where: { workspaceId_email: { workspaceId, email } }, select: { role: true } });
      return (row?.role as Role | undefined) ?? null;
    },

    async inviteToWorkspace({ workspaceId, email, role, invitedBy }, limit) {
      const others = await prisma.workspaceInvitation.count({ where: { workspaceId, email: { not: email } } });
      if (others >= limit) return null;
      const row = await prisma.workspaceInvitation.upsert({
        where: { workspaceId_email: { workspaceId, email } },
        create: { workspaceId, email, role, invitedBy },
        update: { role, invitedBy },
        select: { ...fields, role: true },
      });
      return { ...row, role: row.role as Role };
    },

    async workspaceInvitations(workspaceId) {
      const rows = await prisma.workspaceInvitation.findMany({ where: { workspaceId }, orderBy: { createdAt: 'asc' }, select: { ...fields, role: true } });
      return rows.map((row) => ({ ...row, role: row.role as Role }));
    },

    async removeWorkspaceInvitation(workspaceId, email) {
      return (await prisma.workspaceInvitation.deleteMany({ where: { workspaceId, email } })).count > 0;
    },

    async inviteToDocument({ documentId, email, permission, invitedBy }, limit) {
      const others = await prisma.shareInvitation.count({ where: { documentId, email: { not: email } } });
      if (others >= limit) return null;
      const row = await prisma.shareInvitation.upsert({
        where: { documentId_email: { documentId, email } },
        create: { documentId, email, permission, invitedBy },
        update: { permission, invitedBy },
        select: { ...fields, permission: true },
      });
      return { ...row, permission: row.permission as SharePermission };
    },

    async documentInvitations(documentId) {
      const rows = await prisma.shareInvitation.findMany({ where: { documentId }, orderBy: { createdAt: 'asc' }, select: { ...fields, permission: true } });
      return rows.map((row) => ({ ...row, permission: row.permission as SharePermission }));
    },

    async removeDocumentInvitation(documentId, email) {
      return (await prisma.shareInvitation.deleteMany({ where: { documentId, email } })).count > 0;
    },
  };
}
