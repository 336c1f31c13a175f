import type { FastifyBaseLogger } from 'fastify';

/** Query parameters that carry credentials (y-websocket clients send `?token=`). */
const SECRET_PARAMS = /([?&](?:token|key|access_token)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
}

/**
 * The request logger, minus secrets: Fastify logs each request's URL, and a socket's URL
 * holds its token. Headers (Authorization) are not logged by Fastify's serializer at all.
 */
export function withoutSecrets(logger: FastifyBaseLogger): FastifyBaseLogger {
  return logger.child(
    {},
    {
      serializers: {
        req: (request: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }) => ({
          method: request.method,
          url: redactUrl(request.url),
          host: request.host,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort,
        }),
      },
    },
  );
}
