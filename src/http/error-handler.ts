import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toProblem } from '../errors.ts';
import { listedProblems } from './validation.ts';

/** Every error leaves as application/problem+json built from the one registry in errors.ts. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error);
    // A failure (500) with its stack; a refusal the node chose (503 at a limit, while shutting
    // down or not ready, 501) in one line: it is expected, and alarms count error lines.
    if (appError.status === 500) request.log.error({ err: error }, 'request failed');
    else if (appError.status > 500) request.log.warn({ code: appError.code, detail: appError.message }, 'request refused');
    sendProblem(request, reply, appError);
  });

  app.setNotFoundHandler((request, reply) => {
    sendProblem(request, reply, new AppError('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`));
  });
}

/**
 * For Fastify's `frameworkErrors` option: errors raised before routing (a URL that is not
 * valid percent-encoding) would otherwise bypass the error handler and answer plain JSON.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(request, reply, toAppError(error));
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send(toProblem(error, { instance: request.url.split('?')[0] ?? request.url, requestId: request.id }));
}

function toAppError(error: FastifyError): AppError {
  if (error instanceof AppError) return error;
  if (error.validation) {
    return new AppError('VALIDATION_FAILED', error.message, { details: listedProblems(error.validation) });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_BAD_URL':
      return new AppError('VALIDATION_FAILED', 'The URL is not valid percent-encoding');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('VALIDATION_FAILED', error.message);
  }
  // Any other client error Fastify raised before our handler (a body that is not valid JSON, ...).
  if (error.statusCode === 400) return new AppError('VALIDATION_FAILED', error.message);
  return new AppError('INTERNAL', 'Something went wrong on our side; the request id identifies it in the logs', {
    cause: error,
  });
}
