import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Authorizer } from '../../access/authorizer.ts';
import type { DocumentHistory } from '../../docs/document-history.ts';
import { Problem } from './schemas.ts';

/** The change feed: an agent polls it with the cursor it got last time. */
export function registerSyncRoutes(app: FastifyInstance, history: DocumentHistory, authorizer: Authorizer): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/sync',
    {
      schema: {
        tags: ['sync'],
        summary: 'Documents created, changed or deleted since the cursor (all of them without one), and the next cursor',
        querystring: Type.Object({
          cursor: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        }),
        response: {
          200: Type.Object({
            changes: Type.Array(
              Type.Object({
                id: Type.String(),
                version: Type.Integer(),
                deleted: Type.Boolean(),
                updatedAt: Type.String({ format: 'date-time' }),
              }),
            ),
            cursor: Type.String(),
            hasMore: Type.Boolean(),
          }),
          400: Problem,
        },
      },
    },
    async (request) => {
      const page = await history.changes(request.query.cursor, request.query.limit ?? 100, await authorizer.scopeOf(request.principal));
      return { ...page, changes: page.changes.map((change) => ({ ...change, updatedAt: change.updatedAt.toISOString() })) };
    },
  );
}
