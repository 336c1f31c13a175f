import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { CollabServer } from './collab/collab-server.ts';
import type { Config } from './config.ts';
import { type AbuseLimitsConfig, registerAbuseLimits } from './http/abuse-limits.ts';
import { answerFrameworkError, registerErrorHandling } from './http/error-handler.ts';
import type { AccessService } from './access/access-service.ts';
import { type AccountStore, createAccountService } from './access/account-service.ts';
import type { Authorizer } from './access/authorizer.ts';
import { createCredentials } from './access/credentials.ts';
import type { PasswordHasher } from './access/passwords.ts';
import type { AccessStore, AuditLog } from './access/ports.ts';
import { socketAccessFor } from './access/socket-access.ts';
import { canSignTokens, registerJwt } from './http/auth/jwt.ts';
import { withoutSecrets } from './http/log-redaction.ts';
import { registerOpenApi } from './http/openapi.ts';
import { useRequestValidation } from './http/validation.ts';
import { type RestDeps, restApi } from './http/rest/rest-api.ts';
import { type McpDeps, mcpEndpoint } from './http/mcp/mcp-route.ts';
import { registerOpsRoutes } from './http/ops-routes.ts';
import { originRulesFor } from './http/request-origin.ts';
import { trackPendingUpgrades } from './http/pending-upgrades.ts';
import { registerSocketRoutes } from './http/socket-routes.ts';
import { registerWebRoutes } from './http/web-routes.ts';

export interface AppDeps {
  config: Pick<Config, 'maxMessageBytes' | 'jwt' | 'auth' | 'trustProxy' | 'metricsToken' | 'host' | 'allowedHosts' | 'mcpSessions'> & AbuseLimitsConfig;
  /** Shared rate-limit counters (REDIS_URL); without it each node counts on its own. */
  redis?: Redis | undefined;
  rest: Omit<RestDeps, 'credentials' | 'authorizer' | 'access' | 'accounts'>;
  /** What /mcp needs besides the REST services: search, and documents' changes for resource notifications. */
  mcp: Pick<McpDeps, 'search' | 'changes'>;
  access: {
    store: AccessStore;
    authorizer: Authorizer;
    service: AccessService;
    audit: AuditLog;
    accounts: AccountStore;
    passwords: PasswordHasher;
  };
  logger: FastifyBaseLogger;
  collab: CollabServer;
  service: { name: string; version: string };
  readinessChecks: Record<string, () => Promise<void>>;
  metrics: Registry;
}

/** A number of hops as proxy-addr's function form (Fastify's types omit the number form). */
function trustProxyOption(value: Config['trustProxy']) {
  return typeof value === 'number' ? (_address: string, hop: number) => hop < value : value;
}

/** Builds the HTTP/WebSocket app of one node. Never listens: main.ts and tests do. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Document ids are up to 128 characters, more once percent-encoded; longer ones must reach
  // our own check (400 / 4400) instead of Fastify's 414.
  const app = Fastify({
    loggerInstance: withoutSecrets(deps.logger),
    routerOptions: { maxParamLength: 1024 },
    // Behind nginx every request comes from nginx: TRUST_PROXY makes request.ip the client's.
    trustProxy: trustProxyOption(deps.config.trustProxy),
    frameworkErrors: answerFrameworkError,
    // One limit for what a client may send, over a socket or in a request body.
    bodyLimit: deps.config.maxMessageBytes,
  });
  registerErrorHandling(app);
  useRequestValidation(app);

  const upgrades = trackPendingUpgrades(app.server);
  await app.register(websocket, {
    options: { maxPayload: deps.config.maxMessageBytes },
    // On shutdown every socket hears 1001 (going away) so clients reconnect elsewhere.
    preClose(done) {
      upgrades.abort();
      for (const client of this.websocketServer.clients) client.close(1001, 'SHUTTING_DOWN');
      done();
    },
  });

  const origins = originRulesFor(deps.config);
  // Before every route: the rate limiter and the socket limits attach to routes as they are added.
  await registerAbuseLimits(app, { config: deps.config, redis: deps.redis, origins });
  // First of the routes, so that it sees every route registered after it.
  await registerOpenApi(app, deps.service);
  registerOpsRoutes(app, {
    service: deps.service,
    readinessChecks: deps.readinessChecks,
    metrics: deps.metrics,
    metricsToken: deps.config.metricsToken,
  });
  await registerJwt(app, deps.config.jwt);
  const credentials = createCredentials({
    store: deps.access.store,
    open: deps.config.auth === 'off',
    verifyJwt: (token) => app.jwt.verify(token),
  });
  const { authorizer, audit } = deps.access;
  // Made here, not in main.ts: it signs with app.jwt, which exists only once registerJwt ran.
  const accounts = createAccountService({
    store: deps.access.accounts,
    audit,
    passwords: deps.access.passwords,
    signAccessToken: (userId) => app.jwt.sign({ sub: userId }),
    canSign: canSignTokens(deps.config.jwt),
    accessTokenTtlSeconds: deps.config.jwt.accessTokenTtlSeconds,
  });
  const socketAccessDeps = { credentials, authorizer, audit };
  registerSocketRoutes(app, deps.collab, (ip) => socketAccessFor(socketAccessDeps, ip), upgrades);
  await app.register(restApi, { prefix: '/v1', ...deps.rest, credentials, authorizer, access: deps.access.service, accounts });
  await app.register(mcpEndpoint, { ...deps.rest, ...deps.mcp, credentials, authorizer, service: deps.service, origins, sessionLimits: deps.config.mcpSessions });
  await registerWebRoutes(app);
  return app;
}
