import Compile, { type Validator } from 'typebox/compile';
import { JOBS, type JobName, type JobPayload } from './job-types.ts';

/** One compiled validator per job: every published and every processed job is checked. */
const validators = new Map<string, Validator>();

function validatorOf(name: string): Validator | undefined {
  let validator = validators.get(name);
  if (!validator) {
    const job = (JOBS as Record<string, { payload: (typeof JOBS)[JobName]['payload'] }>)[name];
    if (!job) return undefined;
    validators.set(name, (validator = Compile(job.payload)));
  }
  return validator;
}

/** Null when `payload` fits the job's schema; otherwise what is wrong, for the log. */
export function payloadProblem(name: string, payload: unknown): string | null {
  const validator = validatorOf(name);
  if (!validator) return `unknown job "${name}"`;
  if (validator.Check(payload)) return null;
  const error = validator.Errors(payload)[0];
  return `${name}: ${error?.instancePath || 'payload'} ${error?.message ?? 'does not match its schema'}`;
}

export function assertPayload<N extends JobName>(name: N, payload: unknown): asserts payload is JobPayload<N> {
  const problem = payloadProblem(name, payload);
  if (problem) throw new TypeError(`Refusing to publish a job with a bad payload: ${problem}`);
}
