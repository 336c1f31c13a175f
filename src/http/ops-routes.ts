import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { AppError } from '../errors.ts';
import Type from 'typebox';
import { sendProblem } from './error-handler.ts';
import { checkMetricsAccess } from './metrics-access.ts';
import { Problem } from './rest/schemas.ts';

export interface OpsOptions {
  service: { name: string; version: string };
  /** Named checks of the dependencies this node needs; each throws when its dependency is down. */
  readinessChecks: Record<string, () => Promise<void>>;
  metrics: Registry;
  /** Bearer token /metrics asks for (null: local scrapers only). */
  metricsToken: string | null;
}

export function registerOpsRoutes(app: FastifyInstance, options: OpsOptions): void {
  app.get(
    '/health',
    { schema: { tags: ['operations'], summary: 'Liveness', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: 200 when every dependency answers, else 503',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks: Type.Record(Type.String(), Type.String()) }),
          503: Problem,
        },
      },
    },
    async (request, reply) => {
    const results = await Promise.all(
      Object.entries(options.readinessChecks).map(async ([name, check]) => {
        try {
          await check();
          return [name, 'ok'] as const;
        } catch (error) {
          request.log.warn({ err: error, dependency: name }, 'readiness check failed');
          return [name, 'down'] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    if (results.every(([, state]) => state === 'ok')) return { status: 'ready', checks };
    const down = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
    return sendProblem(request, reply, new AppError('NOT_READY', `Not answering: ${down.join(', ')}`, { details: checks }));
    },
  );

  app.get(
    '/v1',
    {
      schema: {
        tags: ['operations'],
        summary: 'The service, its version and what it offers',
        response: {
          200: Type.Object({
            service: Type.String(),
            version: Type.String(),
            capabilities: Type.Object({
              websocket: Type.Object({ yWebsocket: Type.String(), hocuspocus: Type.String() }),
              rest: Type.Object({ documents: Type.String(), changes: Type.String(), openapi: Type.String() }),
              mcp: Type.String({ description: 'Model Context Protocol endpoint (Streamable HTTP)' }),
              patchFormats: Type.Array(Type.String()),
              contentType: Type.String(),
            }),
          }),
        },
      },
    },
    async () => ({
      service: options.service.name,
      version: options.service.version,
      capabilities: {
        websocket: { yWebsocket: '/ws/:id', hocuspocus: '/collab' },
        rest: { documents: '/v1/documents', changes: '/v1/sync', openapi: '/docs/json' },
        mcp: '/mcp',
        patchFormats: ['text/x-diff', 'application/json'],
        contentType: 'markdown: Y.Text "content"; prosemirror: Y.XmlFragment "default" (read and written as markdown)',
      },
    }),
  );

  app.get(
    '/metrics',
    { schema: { tags: ['operations'], summary: 'Prometheus metrics (text): METRICS_TOKEN bearers, or this machine when it is unset' } },
    async (request, reply) => {
    checkMetricsAccess(request, options.metricsToken);
    reply.type(options.metrics.contentType);
    return options.metrics.metrics();
    },
  );
}
