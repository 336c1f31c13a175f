import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { describePrincipal, type Principal } from '../../access/principal.ts';
import { AppError } from '../../errors.ts';
import { createMcpServer, type McpServices } from './mcp-server.ts';

/** A session with no request open for this long is closed (its client gets 404 and initializes again). */
export const SESSION_IDLE_MS = 30 * 60_000;
const SWEEP_EVERY_MS = 60_000;
/**
 * Sessions one credential may hold on a node; opening one more closes its least recently
 * used. Bounds the memory of clients that never send DELETE, without refusing anyone.
 */
export const SESSIONS_PER_CREDENTIAL = 32;

export interface McpSession {
  readonly transport: StreamableHTTPServerTransport;
  /** describePrincipal of the credential that opened it: later requests must come from the same. */
  readonly owner: string;
  /** The principal of the latest request (a user's access token is renewed every 15 minutes). */
  principal: Principal;
  lastSeen: number;
  /** Requests in progress, an open GET stream included: a session with one is never idle. */
  openRequests: number;
  close(): Promise<void>;
}

export type McpSessions = ReturnType<typeof createMcpSessions>;

/**
 * This node's MCP sessions, in memory: a session lives on the node that opened it (resource
 * subscriptions need a live connection there). Another node answers its id with 404
 * MCP_SESSION_NOT_FOUND, and the client initializes a new session, as the MCP specification
 * asks of it.
 */
export function createMcpSessions(services: McpServices) {
  const sessions = new Map<string, McpSession>();
  let closed = false;

  async function closeQuietly(session: McpSession, why: string): Promise<void> {
    services.logger.debug({ sessionId: session.transport.sessionId, why }, 'closing MCP session');
    await session.close().catch((error: unknown) => services.logger.warn({ err: error }, 'could not close an MCP session'));
  }

  /** Keeps a credential within SESSIONS_PER_CREDENTIAL by closing its least recently used ones. */
  function makeRoomFor(owner: string): void {
    const own = [...sessions.values()].filter((session) => session.owner === owner).sort((a, b) => a.lastSeen - b.lastSeen);
    for (const session of own.slice(0, Math.max(0, own.length - SESSIONS_PER_CREDENTIAL))) {
      void closeQuietly(session, 'too many sessions for one credential');
    }
  }

  const sweeper = setInterval(() => {
    const idleSince = Date.now() - SESSION_IDLE_MS;
    for (const session of sessions.values()) {
      if (session.openRequests === 0 && session.lastSeen < idleSince) void closeQuietly(session, 'idle');
    }
  }, SWEEP_EVERY_MS);
  sweeper.unref();

  return {
    /** A new session for `principal`; it joins the map once its initialize request succeeds. */
    async open(principal: Principal, allowed: { hosts: string[]; origins: string[] }): Promise<McpSession> {
      if (closed) throw new AppError('SHUTTING_DOWN');
      const owner = describePrincipal(principal);
      // Assigned before the transport can call back: the server only reads it while handling requests.
      let session: McpSession | undefined;
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        // The SDK checks each request's Host and Origin against these (empty: not checked).
        enableDnsRebindingProtection: true,
        allowedHosts: allowed.hosts,
        allowedOrigins: allowed.origins,
        onsessioninitialized: (id) => {
          sessions.set(id, session!);
          makeRoomFor(owner);
        },
      });
      const { server, subscriptions } = createMcpServer(services, () => session!.principal);
      server.server.onclose = () => {
        if (transport.sessionId !== undefined && sessions.get(transport.sessionId) === session) sessions.delete(transport.sessionId);
        subscriptions.close().catch((error: unknown) => services.logger.warn({ err: error }, 'could not end MCP subscriptions'));
      };
      await server.connect(transport);
      session = { transport, owner, principal, lastSeen: Date.now(), openRequests: 0, close: () => server.close() };
      return session;
    },

    /** The session `id`, for a request by `principal`: 404 when this node has no such session, 403 for another credential. */
    find(id: string, principal: Principal): McpSession {
      const session = sessions.get(id);
      if (!session) throw new AppError('MCP_SESSION_NOT_FOUND');
      if (session.owner !== describePrincipal(principal)) {
        throw new AppError('FORBIDDEN', 'This MCP session was opened with another credential');
      }
      session.principal = principal;
      session.lastSeen = Date.now();
      return session;
    },

    get size(): number {
      return sessions.size;
    },

    /** Shutdown: ends every session (open streams included) and its subscriptions. */
    async close(): Promise<void> {
      closed = true;
      clearInterval(sweeper);
      await Promise.all([...sessions.values()].map((session) => closeQuietly(session, 'shutting down')));
    },
  };
}
