import * as Y from 'yjs';
import type { ServerTarget } from '../servers.ts';
import { checkpoint } from './channel.ts';
import { connect, sleep, withTimeout } from './clients.ts';

export interface ColdSyncTask {
  kind: 'cold-sync';
  edits: number;
  room: string;
  /** Also measure after every client has left (only meaningful for a server that persists). */
  afterUnload: boolean;
}

export interface ColdSyncResult {
  documentBytes: number;
  textLength: number;
  /** Encoding the state and applying it to a fresh Y.Doc, in this thread: the floor. */
  localMs: number;
  /** A fresh client's sync while another client holds the document open. */
  warmMs: number;
  /** A fresh client's sync after the document was unloaded (when asked for). */
  coldMs?: number;
}

/** Random typing: short inserts anywhere, with a deletion now and then. Deterministic. */
function buildDocument(edits: number): Y.Doc {
  const doc = new Y.Doc();
  const text = doc.getText('content');
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const words = ['lorem ', 'ipsum ', 'dolor ', 'sit ', 'amet, ', 'consectetur ', 'adipiscing ', 'elit.\n'];
  for (let i = 0; i < edits; i++) {
    const length = text.length;
    if (i % 10 === 9 && length > 20) text.delete(Math.floor(random() * (length - 5)), 3);
    else text.insert(Math.floor(random() * (length + 1)), words[Math.floor(random() * words.length)]!);
  }
  return doc;
}

async function timeFreshSync(target: ServerTarget, room: string, expectedLength: number): Promise<number> {
  const started = performance.now();
  const client = connect(target, room);
  try {
    await withTimeout(client.ready, 120_000, `${target.name}: fresh client sync`);
    while (client.text.length !== expectedLength) await sleep(1);
    return performance.now() - started;
  } finally {
    client.destroy();
  }
}

export async function runColdSync(target: ServerTarget, task: ColdSyncTask): Promise<ColdSyncResult> {
  const source = buildDocument(task.edits);
  const textLength = source.getText('content').length;
  const localStarted = performance.now();
  const state = Y.encodeStateAsUpdate(source);
  Y.applyUpdate(new Y.Doc(), state);
  const localMs = performance.now() - localStarted;

  const holder = connect(target, task.room);
  await withTimeout(holder.ready, 60_000, `${target.name}: holder sync`);
  Y.applyUpdate(holder.doc, state);
  // The document has reached the server once a second client receives all of it.
  const check = connect(target, task.room);
  await withTimeout(check.ready, 120_000, `${target.name}: check sync`);
  while (check.text.length !== textLength) await sleep(5);
  check.destroy();

  const warm: number[] = [];
  for (let i = 0; i < 3; i++) warm.push(await timeFreshSync(target, task.room, textLength));
  const result: ColdSyncResult = { documentBytes: state.length, textLength, localMs, warmMs: warm.sort((a, b) => a - b)[1]! };

  holder.destroy();
  if (task.afterUnload) {
    await checkpoint('unload');
    result.coldMs = await timeFreshSync(target, task.room, textLength);
  }
  return result;
}
