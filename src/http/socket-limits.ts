import { normalizeIP } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { WebSocket } from 'ws';
import { closeCodeFor } from '../errors.ts';
import type { OriginRules } from './request-origin.ts';

/**
 * Limits for WebSocket routes: which pages may open one (request-origin.ts) and a connection
 * rate per address, both decided before the upgrade; the message budgets a socket is then
 * paced to (socket-pacing.ts).
 *
 * A refused socket is accepted and closed at once with 4403 FORBIDDEN / 1013 RATE_LIMITED and
 * the code as reason, rather than the upgrade being answered with HTTP 403 / 429: a browser's
 * WebSocket API shows neither the status nor the body of a failed upgrade (only an error event
 * and close 1006, like a network failure), while a close code and reason reach the page and the
 * provider. 1013 ("try again later") and not a 44xx for the rate: y-websocket gives up for good
 * after any 44xx, so clients refused in a reconnect storm would never come back.
 */

export interface SocketLimitsOptions {
  /** Which browser pages may open a socket (Origin; Host as well with AUTH=off). */
  origins: OriginRules;
  connectionsPerMinute: number;
  messages: MessageLimits;
}

/** What one socket may send before it is read more slowly (sustained rates; bursts of twice each pass). */
export interface MessageLimits {
  /** Per document: a /ws/:id socket's, and each document's on a /collab socket. */
  perDocumentPerSecond: number;
  /** A /collab socket over all its documents. */
  collabSocketPerSecond: number;
  /** Messages read but not yet handed on past which a socket is abusive (closed 1013). */
  maxQueued: number;
}

/** What the checks before the upgrade decided for one socket. */
interface SocketAdmission {
  refusal: 'FORBIDDEN' | 'RATE_LIMITED' | null;
  limits: MessageLimits;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set on WebSocket upgrades by registerSocketLimits, before the socket exists. */
    socketAdmission: SocketAdmission | null;
  }
}

/**
 * Call after @fastify/rate-limit is registered (its counter store, in Redis when configured,
 * also counts connections) and before the WebSocket routes are.
 */
export function registerSocketLimits(app: FastifyInstance, options: SocketLimitsOptions): void {
  app.decorateRequest('socketAdmission', null);
  const countConnection = app.createRateLimit({
    max: options.connectionsPerMinute,
    timeWindow: 60_000,
    // Apart from the REST keys (credential:…, ip:…). In Redis the plugin puts its child-store
    // prefix in front: tandem:rate-limit:undefinedundefined-socket-connections:<ip> (a limiter
    // made with createRateLimit belongs to no route, hence the two undefineds).
    keyGenerator: (request) => `socket-connections:${normalizeIP(request.ip)}`,
  });
  const { origins } = options;
  const check = { origin: origins.everything || origins.socketOrigins, host: origins.everything };

  // The decision needs the counter store (async), and the socket must get its listeners in the
  // same tick as it opens (the rooms buffer what arrives while they load): so it is made in a
  // hook before the upgrade and only read by the handler.
  async function decide(request: FastifyRequest): Promise<void> {
    if (!request.ws) return; // a plain GET on a socket route: answered 404, nothing to admit
    // Browsers always send an Origin on upgrades; a client without one is not a page.
    if (origins.refusal(request.headers, check) !== null) {
      // Not counted: else any page a user has open could use up that user's connection budget.
      request.socketAdmission = { refusal: 'FORBIDDEN', limits: options.messages };
      return;
    }
    const counted = await countConnection(request);
    const limited = !counted.isAllowed && counted.isExceeded;
    request.socketAdmission = { refusal: limited ? 'RATE_LIMITED' : null, limits: options.messages };
  }

  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.websocket !== true) return;
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [...existing, decide];
  });
}

/**
 * For a WebSocket route's handler, first thing: closes a socket refused before the upgrade
 * (and returns null), else returns the message limits it was admitted with.
 */
export function admitSocket(socket: WebSocket, request: FastifyRequest): MessageLimits | null {
  const admission = request.socketAdmission;
  if (admission === null) {
    // The route was registered before registerSocketLimits: refuse rather than run unlimited.
    request.log.error({ url: request.url }, 'WebSocket route without socket limits');
    socket.close(closeCodeFor('INTERNAL'), 'INTERNAL');
    return null;
  }
  if (admission.refusal !== null) {
    request.log.debug({ refusal: admission.refusal, origin: request.headers.origin, ip: request.ip }, 'socket refused');
    socket.close(closeCodeFor(admission.refusal), admission.refusal);
    return null;
  }
  return admission.limits;
}
