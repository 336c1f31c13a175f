import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Credentials } from '../../access/credentials.ts';
import type { Principal } from '../../access/principal.ts';
import { AppError } from '../../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set for every /v1 route except those marked `config: { public: true }`. */
    principal: Principal;
    /** Why the credential was refused, until the preParsing hook answers with it. */
    credentialRefusal: unknown;
  }
  interface FastifyContextConfig {
    /** No credential needed (register, log in, refresh): the route checks what it needs itself. */
    public?: boolean;
  }
}

/**
 * `Authorization: Bearer <token>` → request.principal, or 401 before the body is read.
 *
 * A refusal is answered one step later (preParsing), not at once: the REST rate limiter is a
 * route-level onRequest hook, which Fastify runs after every hook added here, and it must see
 * the refused request first. It counts a request whose credential was refused against the
 * caller's address (abuse-limits.ts): a flood of made-up tokens is limited like requests
 * with none, instead of getting a fresh bucket per token.
 */
export function requireCredential(app: FastifyInstance, credentials: Credentials): void {
  // Null placeholders keep every request object the same shape (Fastify's advice for decorators).
  app.decorateRequest('principal', null as never);
  app.decorateRequest('credentialRefusal', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public) return;
    try {
      request.principal = await credentials.forRequest(bearerTokenOf(request));
    } catch (error) {
      request.credentialRefusal = error;
    }
  });
  app.addHook('preParsing', async (request) => {
    if (request.credentialRefusal !== null) throw request.credentialRefusal;
  });
}

export function bearerTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new AppError('UNAUTHORIZED', 'The Authorization header must be "Bearer <token>"');
  return match[1];
}
