import type { Extension, Hocuspocus } from '@hocuspocus/server';
import type { Logger } from 'pino';
import { AppError, isErrorCode } from '../errors.ts';
import type { SocketAccess, SocketGrant } from './ports.ts';

/** Where each socket's SocketAccess travels: Hocuspocus's per-connection context. */
export const SOCKET_ACCESS = 'tandemSocketAccess';
export const SOCKET_GRANT = 'tandemSocketGrant';

/**
 * Authentication per document, on both dialects: Hocuspocus asks once per document a socket
 * opens (on /collab a failed attempt leaves no state behind, so a later good one starts
 * clean), and a read-only grant makes Hocuspocus refuse the connection's document updates
 * (not applied, not logged, not broadcast) while it still syncs and shares awareness.
 */
export function accessExtension(logger: Logger): Extension {
  return {
    extensionName: 'tandem-access',
    async onAuthenticate({ token, documentName, context, connectionConfig }) {
      const access = context[SOCKET_ACCESS] as SocketAccess | undefined;
      if (!access) throw { reason: 'UNAUTHORIZED' };
      try {
        const grant = await access.authorize(token, documentName);
        connectionConfig.readOnly = grant.readOnly;
        return { [SOCKET_GRANT]: grant };
      } catch (error) {
        if (error instanceof AppError && isErrorCode(error.code)) {
          logger.debug({ documentId: documentName, code: error.code, reason: error.message }, 'socket refused');
          // Hocuspocus sends the reason in its PermissionDenied message; the y-websocket
          // bridge turns it into the close code, a Hocuspocus client sees it as is.
          throw { reason: error.code };
        }
        throw error;
      }
    },
  };
}

/**
 * Re-checks every live connection's grant: a connection that lost access is closed with
 * FORBIDDEN, one that may now only read is made read-only (and the other way round).
 */
export async function recheckConnections(hocuspocus: Hocuspocus, logger: Logger): Promise<void> {
  const checks: Promise<void>[] = [];
  for (const document of hocuspocus.documents.values()) {
    for (const connection of document.getConnections()) {
      const grant = connection.context[SOCKET_GRANT] as SocketGrant | undefined;
      if (!grant) continue;
      checks.push(
        grant.recheck().then(
          (now) => {
            if (now === null) {
              connection.close({ code: 4403, reason: 'FORBIDDEN' });
            } else {
              connection.readOnly = now === 'read';
            }
          },
          (error: unknown) => logger.warn({ err: error, documentId: document.name }, 'could not re-check a socket; keeping it as it is'),
        ),
      );
    }
  }
  await Promise.all(checks);
}
