import { normalizeIP } from '@fastify/rate-limit';
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { describePrincipal, type Principal } from '../../access/principal.ts';
import { AppError } from '../../errors.ts';
import { createMcpServer, type McpServices } from './mcp-server.ts';

/** A session with no request open for this long is closed (its client gets 404 and initializes again). */
export const SESSION_IDLE_MS = 30 * 60_000;
const SWEEP_EVERY_MS = 60_000;
/** What a refused client is told to wait (s): about the time the sweeper takes to find idle sessions. */
export const FULL_RETRY_AFTER_SECONDS = 60;

/**
 * How many sessions a node keeps (each holds an MCP server, its subscriptions and SDK state,
 * a few hundred KB). Per user: opening one more closes that user's least recently used one;
 * its client gets 404 on its next request and initializes again, as the MCP specification
 * tells it to, so only the user who opened too many loses anything. Per node: new sessions
 * are refused with 503 and Retry-After, and none is closed: closing the oldest would let
 * one flood end everyone else's work, while a 503 on initialize is an error any client
 * reports (or retries) without losing a session it had.
 */
export interface McpSessionLimits {
  perUser: number;
  perNode: number;
}

export interface McpSession {
  readonly transport: StreamableHTTPServerTransport;
  /** describePrincipal of the credential that opened it: later requests must come from the same. */
  readonly owner: string;
  /** Whose sessions it counts among: the user behind a token or API key; for a document key, the client's address. */
  readonly holder: string;
  /** The principal of the latest request (a user's access token is renewed every 15 minutes). */
  principal: Principal;
  lastSeen: number;
  /** Requests in progress, an open GET stream included: a session with one is never idle. */
  openRequests: number;
  close(): Promise<void>;
}

export type McpSessions = ReturnType<typeof createMcpSessions>;

/**
 * All of a user's credentials (their tokens, every API key of theirs) count together. A
 * document key belongs to no user, and documents cost nothing to make: counted per key, one
 * account's write keys filled the node. Its sessions count per client address instead
 * (normalizeIP: a whole IPv6 /64 is one address).
 */
function holderOf(principal: Principal, ip: string): string {
  if (principal.kind === 'user' || principal.kind === 'api-key') return `user:${principal.userId}`;
  if (principal.kind === 'document-key') return `address:${normalizeIP(ip)}`;
  return describePrincipal(principal);
}

/**
 * This node's MCP sessions, in memory: a session lives on the node that opened it (resource
 * subscriptions need a live connection there). Another node answers its id with 404
 * MCP_SESSION_NOT_FOUND, and the client initializes a new session, as the MCP specification
 * asks of it.
 */
export function createMcpSessions(services: McpServices, limits: McpSessionLimits) {
  /** Every session that counts: initialized ones and those whose initialize is under way. */
  const live = new Set<McpSession>();
  const byId = new Map<string, McpSession>();
  let closed = false;

  /** Stops counting it at once; the SDK's close (and its onclose) follows. */
  async function closeQuietly(session: McpSession, why: string): Promise<void> {
    live.delete(session);
    services.logger.debug({ sessionId: session.transport.sessionId, why }, 'closing MCP session');
    await session.close().catch((error: unknown) => services.logger.warn({ err: error }, 'could not close an MCP session'));
  }

  const heldBy = (holder: string) => [...live].filter((session) => session.holder === holder);

  /** Keeps a holder within the per-user limit by closing their least recently used sessions, idle ones first. */
  function makeRoomFor(holder: string, keep: McpSession): void {
    const others = heldBy(holder)
      .filter((session) => session !== keep)
      .sort((a, b) => Number(a.openRequests > 0) - Number(b.openRequests > 0) || a.lastSeen - b.lastSeen);
    for (const session of others.slice(0, Math.max(0, others.length + 1 - limits.perUser))) {
      void closeQuietly(session, 'too many sessions for one user');
    }
  }

  const sweeper = setInterval(() => {
    const idleSince = Date.now() - SESSION_IDLE_MS;
    for (const session of live) {
      if (session.openRequests === 0 && session.lastSeen < idleSince) void closeQuietly(session, 'idle');
    }
  }, SWEEP_EVERY_MS);
  sweeper.unref();

  return {
    /**
     * A new session for `principal`, counted from now on; it can be found by its id once its
     * initialize request succeeds. `allowed`: the Host and Origins the SDK's own
     * DNS-rebinding protection admits for it (empty: not checked).
     */
    async open(principal: Principal, ip: string, allowed: { hosts: string[]; origins: string[] }): Promise<McpSession> {
      if (closed) throw new AppError('SHUTTING_DOWN');
      const holder = holderOf(principal, ip);
      // A holder at their own limit gives one of theirs up for it: the node holds no more than before.
      if (live.size >= limits.perNode && heldBy(holder).length < limits.perUser) {
        throw new AppError('MCP_SESSIONS_FULL', `This node holds ${limits.perNode} MCP sessions, its most; try again in a minute`);
      }
      // Assigned before the transport can call back: the server only reads it while handling requests.
      let session: McpSession | undefined;
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        // The SDK checks each request's Host and Origin against these (empty: not checked).
        enableDnsRebindingProtection: true,
        allowedHosts: allowed.hosts,
        allowedOrigins: allowed.origins,
        onsessioninitialized: (id) => {
          if (!session || !live.has(session)) return; // closed meanwhile
          byId.set(id, session);
          makeRoomFor(holder, session);
        },
      });
      const { server, subscriptions } = createMcpServer(services, () => session!.principal);
      server.server.onclose = () => {
        if (session) live.delete(session);
        if (transport.sessionId !== undefined && byId.get(transport.sessionId) === session) byId.delete(transport.sessionId);
        subscriptions.close().catch((error: unknown) => services.logger.warn({ err: error }, 'could not end MCP subscriptions'));
      };
      await server.connect(transport);
      session = { transport, owner: describePrincipal(principal), holder, principal, lastSeen: Date.now(), openRequests: 0, close: () => server.close() };
      live.add(session);
      return session;
    },

    /** After the request that opened `session`: one whose initialize did not succeed is dropped. */
    settle(session: McpSession): void {
      if (session.transport.sessionId === undefined && live.has(session)) void closeQuietly(session, 'initialize did not succeed');
    },

    /** The session `id`, for a request by `principal`: 404 when this node has no such session, 403 for another credential. */
    find(id: string, principal: Principal): McpSession {
      const session = byId.get(id);
      if (!session || !live.has(session)) throw new AppError('MCP_SESSION_NOT_FOUND');
      if (session.owner !== describePrincipal(principal)) {
        throw new AppError('FORBIDDEN', 'This MCP session was opened with another credential');
      }
      session.principal = principal;
      session.lastSeen = Date.now();
      return session;
    },

    get size(): number {
      return live.size;
    },

    /** Shutdown: ends every session (open streams included) and its subscriptions. */
    async close(): Promise<void> {
      closed = true;
      clearInterval(sweeper);
      await Promise.all([...live].map((session) => closeQuietly(session, 'shutting down')));
    },
  };
}
