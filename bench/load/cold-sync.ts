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

/**
 * Someone writing: words typed at a cursor that jumps elsewhere now and then, with a
 * backspace now and then. Typing in runs, as people do, is what keeps a Yjs document compact
 * (consecutive characters of one client merge into one item): 100k edits make about 1 MB of
 * text. Deterministic, with a fixed client id, so every server gets the same document.
 */
function buildDocument(edits: number): Y.Doc {
  const doc = new Y.Doc();
  doc.clientID = 7;
  const text = doc.getText('content');
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const words = ['lorem ', 'ipsum ', 'dolor ', 'sit ', 'amet, ', 'consectetur ', 'adipiscing ', 'elit.\n'];
  let cursor = 0;
  for (let i = 0; i < edits; i++) {
    if (random() < 0.02) cursor = Math.floor(random() * (text.length + 1));
    if (i % 20 === 19 && cursor > 3) {
      text.delete(cursor - 2, 2);
      cursor -= 2;
    } else {
      const word = words[Math.floor(random() * words.length)]!;
      text.insert(cursor, word);
      cursor += word.length;
    }
  }
  return doc;
}

/** Encoding the whole state and applying it to a fresh Y.Doc: the median of three, after a warm-up. */
function timeLocalSync(source: Y.Doc): number {
  const once = () => {
    const started = performance.now();
    Y.applyUpdate(new Y.Doc(), Y.encodeStateAsUpdate(source));
    return performance.now() - started;
  };
  once();
  return [once(), once(), once()].sort((a, b) => a - b)[1]!;
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
  const localMs = timeLocalSync(source);
  const state = Y.encodeStateAsUpdate(source);

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
