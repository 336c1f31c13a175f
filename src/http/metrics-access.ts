import type { FastifyRequest } from 'fastify';
import { hashSecret, sameHash } from '../access/secrets.ts';
import { AppError } from '../errors.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
/** What reverse proxies add to say whom they forward (nginx's X-Real-IP among them). */
const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'x-forwarded-host', 'via'] as const;

/**
 * Who may read /metrics. With METRICS_TOKEN set: its bearers only. Without it: only a scraper
 * on this machine, talking to the node directly; a request that came through a proxy (it
 * carries forwarding headers) is not local, whatever address the proxy connected from.
 * Metrics are no secret in themselves, but they tell an outsider how busy the node is, which
 * documents' traffic comes and goes, and when an attack starts to bite.
 */
export function checkMetricsAccess(request: FastifyRequest, metricsToken: string | null): void {
  if (metricsToken !== null) {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !sameHash(hashSecret(bearer), hashSecret(metricsToken))) {
      throw new AppError('UNAUTHORIZED', '/metrics needs Authorization: Bearer <METRICS_TOKEN>');
    }
    return;
  }
  const proxied = PROXY_HEADERS.some((name) => request.headers[name] !== undefined);
  if (proxied || !LOOPBACK.has(request.socket.remoteAddress ?? '')) {
    throw new AppError('FORBIDDEN', '/metrics answers only this machine; set METRICS_TOKEN to scrape it from elsewhere');
  }
}
