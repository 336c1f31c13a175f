import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { ServerTarget } from '../servers.ts';
import { type ColdSyncTask, runColdSync } from './cold-sync.ts';
import { type FanoutTask, runFanout } from './fanout.ts';
import { type IdleTask, runIdle } from './idle.ts';
import { type RestWritesTask, runRestWrites } from './rest-writes.ts';
import { runTrace, type TraceTask } from './trace.ts';

export type LoadTask = FanoutTask | ColdSyncTask | IdleTask | RestWritesTask | TraceTask;

/** How busy the load client itself was: if it saturates, the figures measure it, not the server. */
export interface ClientLoad {
  eventLoopUtilization: number;
  loopDelayP99Ms: number;
  /** CPU time of the load client's thread. */
  cpuMs: number;
}

async function run(target: ServerTarget, task: LoadTask): Promise<unknown> {
  switch (task.kind) {
    case 'fanout':
      return runFanout(target, task);
    case 'cold-sync':
      return runColdSync(target, task);
    case 'idle':
      return runIdle(target, task);
    case 'rest-writes':
      return runRestWrites(task);
    case 'trace':
      return runTrace(target, task);
  }
}

const { target, task } = workerData as { target: ServerTarget; task: LoadTask };
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const elu = performance.eventLoopUtilization();
// This thread's CPU alone (the bench's main thread only waits).
const cpu = process.threadCpuUsage();
try {
  const result = await run(target, task);
  delay.disable();
  const client: ClientLoad = {
    eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
    loopDelayP99Ms: delay.percentile(99) / 1e6,
    cpuMs: (process.threadCpuUsage(cpu).user + process.threadCpuUsage(cpu).system) / 1000,
  };
  parentPort!.postMessage({ type: 'result', result, client });
} catch (error) {
  parentPort!.postMessage({ type: 'error', message: (error as Error).stack ?? String(error) });
}
