import Compile from 'typebox/compile';
import { JOBS, type JobName, type JobPayload } from './job-types.ts';

/** One compiled validator per job, made once: every published and every processed job is checked. */
const validators = new Map(Object.entries(JOBS).map(([name, job]) => [name, Compile(job.payload)]));

/** Null when `payload` fits the job's schema; otherwise what is wrong, for the log. */
export function payloadProblem(name: string, payload: unknown): string | null {
  const validator = validators.get(name);
  if (!validator) return `unknown job "${name}"`;
  if (validator.Check(payload)) return null;
  const error = validator.Errors(payload)[0];
  return `${name}: ${error?.instancePath || 'payload'} ${error?.message ?? 'does not match its schema'}`;
}

export function assertPayload<N extends JobName>(name: N, payload: unknown): asserts payload is JobPayload<N> {
  const problem = payloadProblem(name, payload);
  if (problem) throw new TypeError(`Refusing to publish a job with a bad payload: ${problem}`);
}
