import { createHash } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import type { OriginRules } from './request-origin.ts';
import { type PasswordLimitsConfig, refuseOverLimit, registerPasswordLimits } from './password-limits.ts';
import { registerSocketLimits } from './socket-limits.ts';

export type AbuseLimitsConfig = Pick<
  Config,
  | 'allowedOrigins'
  | 'rateLimitPerMinute'
  | 'socketConnectionsPerMinute'
  | 'socketMessagesPerSecond'
  | 'collabSocketMessagesPerSecond'
  | 'socketMaxQueuedMessages'
> &
  PasswordLimitsConfig;

export interface AbuseLimitsOptions {
  config: AbuseLimitsConfig;
  /** With REDIS_URL: counters live in Redis, so a client's budget is the same whichever node it reaches. */
  redis?: Redis | undefined;
  /** Which browser pages may call the node (request-origin.ts). */
  origins: OriginRules;
}

/** Polled by load balancers and Prometheus: limiting them would make a busy node look dead. */
const UNLIMITED_PATHS = new Set(['/health', '/ready', '/metrics']);
/** Where registerOpenApi serves Swagger UI (its page, static files and /docs/json). */
const DOCS_PREFIX = '/docs';
/** Redis keys of REST and socket-connection counters start with this. */
const REDIS_NAMESPACE = 'tandem:rate-limit:';
/**
 * Each address also has a ceiling of this many times the per-credential limit, whatever
 * valid credentials it sends: a user can make many API keys, each with a bucket of its own.
 * Generous, so that many honest agents behind one NAT still fit.
 */
const ADDRESS_CEILING_FACTOR = 10;
const RATE_LIMIT_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After'];

/**
 * A JSON API has nothing to run or embed: any page that renders one of our answers as HTML
 * (a sniffing browser, an old proxy) gets no script, no frame, no form target.
 */
const API_CSP = {
  useDefaults: false,
  directives: {
    'default-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"],
  },
};

/**
 * Swagger UI loads its scripts, styles and the OpenAPI document from this origin and sets
 * element styles from script. No upgrade-insecure-requests (helmet's default): a node is often
 * reached over plain http (local runs, behind a TLS-terminating proxy that talks http to it),
 * and browsers would then fetch the UI's own scripts over https and show an empty page.
 */
const DOCS_CSP = {
  useDefaults: false,
  directives: {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'connect-src': ["'self'"],
    'font-src': ["'self'", 'data:'],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'", "'unsafe-inline'"],
  },
};

/**
 * Security headers, CORS and rate limits for every route registered after this call (the
 * rate limiter attaches itself to routes as they are added), so buildApp calls it before any
 * route. WebSocket routes get their own limits (socket-limits.ts) instead of the REST one.
 */
export async function registerAbuseLimits(app: FastifyInstance, options: AbuseLimitsOptions): Promise<void> {
  const { config, redis, origins } = options;

  // Added before the plugins so that it sees every route first, the plugins' own routes
  // (CORS preflight, Swagger UI's static files) included, and marks what they should skip.
  app.addHook('onRoute', (route) => classifyRoute(route));

  // AUTH=off: nothing else stands between a page on another site (or a rebound name) and
  // every document. Before the rate limits: a refused page spends no one's budget.
  // WebSocket upgrades are refused with a close code instead (socket-limits.ts).
  if (origins.everything) {
    app.addHook('onRequest', async (request) => {
      if (request.ws) return;
      const refusal = origins.refusal(request.headers, { origin: true, host: true });
      if (refusal !== null) throw new AppError('FORBIDDEN', refusal);
    });
  }

  await app.register(rateLimit, {
    global: true,
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: restKeyOf,
    // The limiter protects the service; an outage of its counter store must not take the
    // REST API down with it. /ready reports Redis as down meanwhile.
    skipOnError: true,
    ...(redis ? { redis, nameSpace: REDIS_NAMESPACE } : {}),
    // Thrown, so the one error handler answers it as problem+json like every other error;
    // Retry-After and the X-RateLimit-* headers are already on the reply by then.
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}`),
  });

  const countAddress = app.createRateLimit({
    max: config.rateLimitPerMinute * ADDRESS_CEILING_FACTOR,
    timeWindow: 60_000,
    keyGenerator: (request) => `address:${normalizeIP(request.ip)}`,
  });
  // An app-level onRequest hook runs before the API's credential check, so refused floods of
  // bad tokens are counted too.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.rateLimit === false) return;
    await refuseOverLimit(countAddress, request, (max) => `More than ${max} requests per minute from this address`);
  });
  registerPasswordLimits(app, config);

  await app.register(cors, {
    // false: no CORS headers at all, so browsers keep other origins out of every answer.
    origin: config.allowedOrigins ?? false,
    credentials: true,
    methods: ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'],
    // Mcp-Session-Id: browser MCP clients read their session from it (/mcp).
    exposedHeaders: ['ETag', 'Location', 'Mcp-Session-Id', ...RATE_LIMIT_HEADERS],
    // Browsers cache a preflight this long (seconds; Chrome caps it at 7200).
    maxAge: 600,
  });

  await app.register(helmet, {
    contentSecurityPolicy: API_CSP,
    frameguard: { action: 'deny' },
  });

  registerSocketLimits(app, {
    origins,
    connectionsPerMinute: config.socketConnectionsPerMinute,
    messages: {
      perDocumentPerSecond: config.socketMessagesPerSecond,
      collabSocketPerSecond: config.collabSocketMessagesPerSecond,
      maxQueued: config.socketMaxQueuedMessages,
    },
  });
}

/**
 * One bucket per credential, whichever address it comes from (an agent behind rotating
 * addresses, many agents behind one NAT), else one per address. Only a credential that was
 * checked and accepted has a bucket of its own (request.principal is set by
 * auth/authenticate.ts, whose hook runs before this one): a request with none, with a refused
 * one, or to a public route (login, register), counts against its address, whatever it
 * presents; so does every request with AUTH=off, where any token is accepted. Otherwise each
 * made-up token would open a fresh bucket.
 *
 * The key holds a hash, never the token: keys are stored in Redis, readable by whoever can
 * read Redis. The hash is of the token alone, so that writing the scheme or the spaces
 * differently opens no other bucket.
 */
function restKeyOf(request: FastifyRequest): string {
  const authorization = request.headers.authorization?.trim();
  const checked = request.principal !== undefined && request.principal !== null && request.principal.kind !== 'open';
  if (checked && authorization) {
    const token = /^\S+\s+(\S.*)$/.exec(authorization)?.[1] ?? authorization;
    return `credential:${createHash('sha256').update(token).digest('base64url')}`;
  }
  return addressKeyOf(request);
}

/** normalizeIP: the plugin's default key, which puts a whole IPv6 /64 into one bucket. */
const addressKeyOf = (request: FastifyRequest) => `ip:${normalizeIP(request.ip)}`;

function classifyRoute(route: RouteOptions): void {
  const unlimited =
    route.websocket === true ||
    route.method === 'OPTIONS' || // CORS preflights: answered by @fastify/cors, cheap, cached by browsers
    (typeof route.url === 'string' && UNLIMITED_PATHS.has(route.url));
  if (unlimited) route.config = { ...route.config, rateLimit: false };
  // Upgrades answer with 101 and a socket, never with a page: headers would be computed for nothing.
  if (route.websocket === true) route.helmet = false;
  else if (typeof route.url === 'string' && (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`))) {
    route.helmet = { contentSecurityPolicy: DOCS_CSP, frameguard: { action: 'deny' } };
  }
}
