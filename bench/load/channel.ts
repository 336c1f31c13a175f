import { parentPort } from 'node:worker_threads';

/**
 * The worker's side of the conversation with the bench: a task pauses at checkpoints (for
 * instance "all clients connected") so that the main thread can read the server's memory or
 * CPU at exactly that moment, then tells it to go on.
 */
let waiting: (() => void) | undefined;
parentPort?.on('message', (message: { type: string }) => {
  if (message.type === 'continue') {
    const resume = waiting;
    waiting = undefined;
    resume?.();
  }
});

export function checkpoint(name: string): Promise<void> {
  return new Promise((resolve) => {
    waiting = resolve;
    parentPort!.postMessage({ type: 'checkpoint', name });
  });
}
