import Value from 'typebox/value';
import { JOBS, type JobName, type JobPayload } from './job-types.ts';

/** Null when `payload` fits the job's schema; otherwise what is wrong, for the log. */
export function payloadProblem(name: string, payload: unknown): string | null {
  const job = (JOBS as Record<string, { payload: (typeof JOBS)[JobName]['payload'] }>)[name];
  if (!job) return `unknown job "${name}"`;
  // Check is cheap; Errors walks the whole schema building every message, so only on failure.
  if (Value.Check(job.payload, payload)) return null;
  const error = Value.Errors(job.payload, payload)[0];
  return error ? `${name}: ${error.instancePath || 'payload'} ${error.message}` : null;
}

export function assertPayload<N extends JobName>(name: N, payload: unknown): asserts payload is JobPayload<N> {
  const problem = payloadProblem(name, payload);
  if (problem) throw new TypeError(`Refusing to publish a job with a bad payload: ${problem}`);
}
