import { Ajv } from 'ajv';
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';

/** INTERFACE.md: a 400 lists at most this many problems, however many the request has. */
export const MAX_LISTED_PROBLEMS = 50;

/**
 * Request validation, reporting every problem at once and refusing unknown fields rather
 * than dropping them. Bodies are JSON and must have the right types ({"append": 1} is an
 * error, not "1"); the querystring, params and headers arrive as strings, so there numbers
 * are converted.
 *
 * "Every problem" stops at MAX_LISTED_PROBLEMS in the answer: with all of them, a request
 * bought an answer many times its size (5,000 unknown properties, 5,000 problems). The work
 * of finding them stays proportional to the body, which the body limit bounds, and the
 * largest arrays are refused before the schema runs (TOO_MANY_EDITS).
 */
export function useRequestValidation(app: FastifyInstance): void {
  const options = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false } as const;
  const strict = new Ajv({ ...options, coerceTypes: false });
  const coercing = new Ajv({ ...options, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
  // Fastify's own formatter writes every problem into the message, which becomes the detail.
  app.setSchemaErrorFormatter((errors, dataVar) => new Error(validationSummary(errors, dataVar)));
}

/** "body/edits/0 must ..., body/edits/1 must ..." for the first problems, and how many there were in all. */
function validationSummary(errors: FastifySchemaValidationError[], dataVar: string): string {
  const listed = errors
    .slice(0, MAX_LISTED_PROBLEMS)
    .map((error) => `${dataVar}${error.instancePath} ${error.message ?? 'is invalid'}`)
    .join(', ');
  if (errors.length <= MAX_LISTED_PROBLEMS) return listed;
  return `${errors.length} problems; the first ${MAX_LISTED_PROBLEMS}: ${listed}`;
}

/** The problems a 400 lists: the first MAX_LISTED_PROBLEMS, as JSON pointers into the part that failed. */
export function listedProblems(errors: readonly FastifySchemaValidationError[]): { path: string; message: string | undefined }[] {
  return errors.slice(0, MAX_LISTED_PROBLEMS).map((issue) => ({ path: issue.instancePath, message: issue.message }));
}
