import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { ServerTarget } from '../servers.ts';
import { connect, sleep, withTimeout } from './clients.ts';

export interface TraceTask {
  kind: 'trace';
  path: string;
  /** Replay only the first txns (quick runs). */
  limit?: number | undefined;
  room: string;
}

interface SequentialTrace {
  startContent: string;
  endContent: string;
  txns: { patches: [number, number, string][] }[];
}

/**
 * A real keystroke history typed through one client, one Yjs transaction per txn, as fast as
 * the socket takes it, while a second client watches; done when the watcher has the text.
 */
export async function runTrace(target: ServerTarget, task: TraceTask): Promise<{ txns: number; totalMs: number; finalLength: number }> {
  const trace = JSON.parse(gunzipSync(readFileSync(task.path)).toString('utf8')) as SequentialTrace;
  const txns = trace.txns.slice(0, task.limit ?? trace.txns.length);
  const writer = connect(target, task.room);
  const watcher = connect(target, task.room);
  await withTimeout(Promise.all([writer.ready, watcher.ready]), 60_000, `${target.name}: trace clients`);

  const started = performance.now();
  writer.text.insert(0, trace.startContent);
  for (const [i, txn] of txns.entries()) {
    writer.doc.transact(() => {
      for (const [pos, del, ins] of txn.patches) {
        if (del > 0) writer.text.delete(pos, del);
        if (ins) writer.text.insert(pos, ins);
      }
    });
    // Let the sockets drain now and then, as a person's typing would.
    if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
  }
  const expected = writer.text.toString();
  if (task.limit === undefined && expected !== trace.endContent) throw new Error('the trace replayed to the wrong text');
  const deadline = performance.now() + 600_000;
  while (watcher.text.length !== expected.length || watcher.text.toString() !== expected) {
    if (performance.now() > deadline) throw new Error(`${target.name}: the watcher never caught up`);
    await sleep(10);
  }
  const totalMs = performance.now() - started;
  writer.destroy();
  watcher.destroy();
  return { txns: txns.length, totalMs, finalLength: expected.length };
}
