import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { AppError } from '../errors.ts';
import { sendProblem } from './error-handler.ts';

export interface OpsOptions {
  service: { name: string; version: string };
  /** Named checks of the dependencies this node needs; each throws when its dependency is down. */
  readinessChecks: Record<string, () => Promise<void>>;
  metrics: Registry;
}

export function registerOpsRoutes(app: FastifyInstance, options: OpsOptions): void {
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (request, reply) => {
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
  });

  app.get('/v1', async () => ({
    service: options.service.name,
    version: options.service.version,
    capabilities: {
      websocket: { yWebsocket: '/ws/:id', hocuspocus: '/collab' },
      contentType: 'Y.Text "content" (markdown)',
    },
  }));

  app.get('/metrics', async (_request, reply) => {
    reply.type(options.metrics.contentType);
    return options.metrics.metrics();
  });
}
