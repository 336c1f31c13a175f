import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** The OpenAPI document, generated from the routes' TypeBox schemas: /docs (UI) and /docs/json. */
export async function registerOpenApi(app: FastifyInstance, service: { name: string; version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Tandem',
        version: service.version,
        description:
          'Agents read markdown and post patches; people edit live over WebSockets. Errors are application/problem+json.',
      },
      tags: [
        { name: 'documents', description: 'Create, read, replace, patch, delete' },
        { name: 'versions', description: 'History: list, name, read, restore' },
        { name: 'authors', description: 'Who wrote what (blame), and undoing one author (revert)' },
        { name: 'suggestions', description: 'Changes proposed against a version, applied when someone who may write accepts them' },
        { name: 'yjs', description: 'Raw Yjs state and updates' },
        { name: 'sync', description: 'The change feed' },
        { name: 'operations', description: 'Health, readiness, metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
