import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Credentials } from '../../access/credentials.ts';
import type { Principal } from '../../access/principal.ts';
import { AppError } from '../../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set for every /v1 route except those marked `config: { public: true }`. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** No credential needed (register, log in, refresh): the route checks what it needs itself. */
    public?: boolean;
  }
}

/** `Authorization: Bearer <token>` → request.principal, or 401 before validation runs. */
export function requireCredential(app: FastifyInstance, credentials: Credentials): void {
  // A null placeholder keeps every request object the same shape (Fastify's advice for decorators).
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public) return;
    request.principal = await credentials.forRequest(bearerTokenOf(request));
  });
}

export function bearerTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AppError('UNAUTHORIZED', 'The Authorization header must be "Bearer <token>"');
  return match[1];
}
