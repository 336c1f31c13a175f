import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';

/**
 * Request validation, reporting every problem at once and refusing unknown fields rather
 * than dropping them. Bodies are JSON and must have the right types ({"append": 1} is an
 * error, not "1"); the querystring, params and headers arrive as strings, so there numbers
 * are converted.
 */
export function useRequestValidation(app: FastifyInstance): void {
  const options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false } as const;
  const strict = new Ajv({ ...options, coerceTypes: false });
  const coercing = new Ajv({ ...options, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
}
