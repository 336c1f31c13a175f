import type { Logger } from 'pino';
import type { AuditEvent, AuditLog } from '../access/ports.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';

/**
 * Security events go to the audit_events table and to the log (at info, as `audit`). Writing
 * is fire and forget: a request is never failed, nor slowed, by its audit line.
 */
export function createAuditLog(prisma: PrismaClient, logger: Logger): AuditLog {
  return {
    record(event: AuditEvent) {
      logger.info({ audit: event }, `audit: ${event.kind}`);
      prisma.auditEvent
        .create({
          data: {
            kind: event.kind,
            actor: event.actor ?? null,
            target: event.target ?? null,
            ip: event.ip ?? null,
            ...(event.details ? { details: event.details as object } : {}),
          },
        })
        .catch((error: unknown) => logger.error({ err: error, audit: event }, 'could not store an audit event'));
    },
  };
}
