/**
 * Thrown by a processor when trying again cannot help (the document is gone, the payload
 * names nothing): the job fails at once instead of retrying.
 */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}
