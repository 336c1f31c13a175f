import { Worker } from 'node:worker_threads';
import type { ServerTarget } from '../servers.ts';
import type { ClientLoad, LoadTask } from './worker.ts';

/**
 * Runs one load task in a worker thread (so the load client has a core of its own, as far as
 * two cores allow) and answers its checkpoints with `onCheckpoint`.
 */
export function runTask<T>(
  target: ServerTarget,
  task: LoadTask,
  onCheckpoint: (name: string) => Promise<void> | void = () => undefined,
): Promise<{ result: T; client: ClientLoad }> {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), {
    workerData: { target: { name: target.name, dialect: target.dialect, wsUrl: target.wsUrl, wsUrls: target.wsUrls, httpUrl: target.httpUrl }, task },
    execArgv: ['--import', 'tsx'],
  });
  return new Promise((resolve, reject) => {
    worker.on('message', async (message: { type: string; name?: string; result?: T; client?: ClientLoad; message?: string }) => {
      if (message.type === 'checkpoint') {
        try {
          await onCheckpoint(message.name!);
          worker.postMessage({ type: 'continue' });
        } catch (error) {
          await worker.terminate();
          reject(error);
        }
      } else if (message.type === 'result') {
        resolve({ result: message.result!, client: message.client! });
        void worker.terminate();
      } else {
        reject(new Error(`${target.name} ${task.kind}: ${message.message}`));
        void worker.terminate();
      }
    });
    worker.on('error', reject);
  });
}
