import type { IncomingMessage } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Credentials } from '../../access/credentials.ts';
import { describePrincipal } from '../../access/principal.ts';
import { AppError, toProblem } from '../../errors.ts';
import { requireCredential } from '../auth/authenticate.ts';
import { type OriginRules, ownOriginsOf } from '../request-origin.ts';
import type { McpServices } from './mcp-server.ts';
import type { McpSession, McpSessionLimits, McpSessions } from './mcp-sessions.ts';

export interface McpDeps extends Omit<McpServices, 'logger'> {
  credentials: Credentials;
  /** Which browser pages may call /mcp (request-origin.ts). */
  origins: OriginRules;
  sessionLimits: McpSessionLimits;
}

interface LoadedMcp {
  sessions: McpSessions;
  isInitialize(body: unknown): boolean;
  retryAfterSeconds: number;
}

/**
 * The Model Context Protocol endpoint, /mcp (Streamable HTTP, stateful: a session per client,
 * named by the Mcp-Session-Id header). Every request is authenticated like a REST request, by
 * its own `Authorization: Bearer` credential, so a revoked key stops working at once; Fastify
 * parses the JSON, then the SDK's transport takes over the raw request and response.
 * Registered after the abuse limits, so the per-credential rate limit counts these requests too.
 */
export async function mcpEndpoint(app: FastifyInstance, deps: McpDeps): Promise<void> {
  // Origin (and Host) before the credential: the MCP specification requires Streamable HTTP
  // servers to validate Origin, since a page on any site can make a browser POST here. The
  // SDK's own check sits in its transport, after the session lookup, and answers JSON-RPC;
  // this one answers every request with the contract's problem+json before any work is done.
  const { origins } = deps;
  app.addHook('onRequest', async (request) => {
    const refusal = origins.refusal(request.headers, { origin: true, host: origins.mcpHost });
    if (refusal !== null) throw new AppError('FORBIDDEN', refusal);
  });
  requireCredential(app, deps.credentials);
  // RFC 6750: a 401 names the scheme it wants.
  app.addHook('onError', async (_request, reply, error) => {
    if (error instanceof AppError && error.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="tandem"');
  });

  // The SDK and its schemas (zod) load with the first /mcp request: a node no agent talks to
  // does not hold them (about 10 MB of RSS at idle, measured).
  let loaded: Promise<LoadedMcp> | undefined;
  const mcp = () =>
    (loaded ??= (async () => {
      const [{ createMcpSessions, FULL_RETRY_AFTER_SECONDS }, { isInitializeRequest }] = await Promise.all([
        import('./mcp-sessions.ts'),
        import('@modelcontextprotocol/sdk/types.js'),
      ]);
      return {
        sessions: createMcpSessions({ ...deps, logger: app.log }, deps.sessionLimits),
        isInitialize: (body) => (Array.isArray(body) ? body.some(isInitializeRequest) : isInitializeRequest(body)),
        retryAfterSeconds: FULL_RETRY_AFTER_SECONDS,
      };
    })());
  // preClose, before the server stops accepting: open GET streams would otherwise hold the close up.
  app.addHook('preClose', async () => {
    if (loaded) await (await loaded).sessions.close();
  });

  async function sessionFor(request: FastifyRequest, { sessions, isInitialize }: LoadedMcp): Promise<McpSession> {
    const id = request.headers['mcp-session-id'];
    if (typeof id === 'string' && id !== '') return sessions.find(id, request.principal);
    if (request.method === 'POST' && isInitialize(request.body)) {
      // The SDK's DNS-rebinding protection as well: the session answers only on the Host it was
      // opened on, and only to the origins that passed above.
      const host = request.headers.host;
      return sessions.open(request.principal, request.ip, {
        hosts: origins.mcpHost && host !== undefined ? [host] : [],
        origins: [...origins.listedOrigins, ...ownOriginsOf(host)],
      });
    }
    throw new AppError('VALIDATION_FAILED', 'No Mcp-Session-Id header: start a session by POSTing an initialize request');
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const loadedMcp = await mcp();
    let session: McpSession;
    try {
      session = await sessionFor(request, loadedMcp);
    } catch (error) {
      if (error instanceof AppError && error.code === 'MCP_SESSIONS_FULL') reply.header('retry-after', String(loadedMcp.retryAfterSeconds));
      throw error;
    }
    // The transport writes to the raw response: what hooks put on the reply (rate-limit and
    // CORS headers) would be lost with the hijack.
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) reply.raw.setHeader(name, value);
    reply.hijack();

    const raw = request.raw as IncomingMessage & { auth?: AuthInfo };
    raw.auth = { token: '', clientId: describePrincipal(request.principal), scopes: [], extra: { principal: request.principal } };
    session.openRequests += 1;
    reply.raw.once('close', () => {
      session.openRequests -= 1;
      session.lastSeen = Date.now();
    });
    try {
      await session.transport.handleRequest(raw, reply.raw, request.body);
    } catch (error) {
      const problem = toProblem(new AppError('INTERNAL', undefined, { cause: error }), { instance: '/mcp', requestId: request.id });
      request.log.error({ err: error }, 'MCP request failed');
      if (reply.raw.headersSent) reply.raw.destroy();
      else reply.raw.writeHead(500, { 'content-type': 'application/problem+json' }).end(JSON.stringify(problem));
    } finally {
      loadedMcp.sessions.settle(session);
    }
  }

  const schema = {
    tags: ['mcp'],
    summary: 'Model Context Protocol (Streamable HTTP): POST JSON-RPC messages, GET the notification stream, DELETE the session',
    description: 'Tools and resources over the same documents, for MCP clients; see the README ("For agents: MCP").',
  };
  app.route({ method: ['POST', 'GET', 'DELETE'], url: '/mcp', schema, handler: handle });
}
