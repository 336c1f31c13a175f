import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { docFrom, inspectPostgres, type StoreInspector } from '../helpers/db-inspect.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts';

/** Longer than any test: the periodic check of the log's heads never runs here. */
const AN_HOUR_MS = String(60 * 60 * 1000);

/**
 * The repair after a Redis reconnect, with nothing else to hide its absence: both nodes
 * compare their rooms with the log's heads only once an hour, and after Redis is back nobody
 * types, so no later seq reveals a gap. Messages published while Redis is away are simply
 * gone (the publisher keeps no offline queue); the only way the other node's clients get
 * those edits is the room reading the op log when its subscriber connection is ready again.
 */
describe('edits made while Redis is away', () => {
  let redis: TestRedis;
  let writerNode: TestNode;
  let readerNode: TestNode;
  let db: StoreInspector;
  /** What the reader's node logs, parsed: the repair says why it read the log. */
  const readerLogs: { msg?: string; why?: string; documentId?: string }[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    const env = { REDIS_URL: redis.url, BUS_REPAIR_INTERVAL_MS: AN_HOUR_MS };
    const logger = pino({ level: 'debug' }, { write: (line: string) => void readerLogs.push(JSON.parse(line)) });
    [writerNode, readerNode] = await Promise.all([startTestNode('postgres', { env }), startTestNode('postgres', { env, logger })]);
    db = inspectPostgres();
  });
  afterAll(async () => {
    await redis?.start(); // if the test stopped while Redis was away: the nodes' Redis clients close cleanly
    await Promise.all([writerNode?.close(), readerNode?.close()]);
    await db?.close();
    await redis?.stop();
  });

  it('reach the other node\'s clients once it is back, through the reconnect repair alone', async () => {
    const id = uniqueDocId('redis-reconnect');
    const writer = yWebsocketClient(writerNode.wsUrl, id);
    const reader = yWebsocketClient(readerNode.wsUrl, id);
    await Promise.all([whenSynced(writer.provider), whenSynced(reader.provider)]);
    writer.text.insert(0, 'over the bus. ');
    await waitFor(() => reader.text.toString() === 'over the bus. ', 'an edit over the bus while Redis is up');

    // Redis goes away while the writer types, and stays away while it goes on typing.
    let typed = 0;
    const typing = setInterval(() => writer.text.insert(writer.text.length, `[w${typed++}]`), 10);
    await waitFor(() => typed >= 5, 'some typing with Redis up');
    await redis.stop();
    const typedWhileAway = typed;
    await waitFor(() => typed >= typedWhileAway + 30, 'typing while Redis is away');
    clearInterval(typing);
    const everything = writer.text.toString();

    // The writer's node committed all of it (read from the log itself)...
    await waitFor(
      async () => docFrom((await db.updates(id)).map((row) => row.update)).getText('content').toString() === everything,
      'every edit in the op log',
    );
    // ...and none of what was typed after Redis died has reached the reader: those messages are lost.
    const lost = Array.from({ length: typed - typedWhileAway }, (_, i) => `[w${typedWhileAway + i}]`);
    expect(lost.filter((token) => reader.text.toString().includes(token))).toEqual([]);
    expect(readerLogs.some((line) => line.documentId === id && line.msg === 'caught up from the op log')).toBe(false);

    await redis.start();
    await waitFor(() => reader.text.toString() === everything, 'the reader to get every edit once Redis is back', 15_000);
    const repairs = readerLogs.filter((line) => line.documentId === id && line.msg === 'caught up from the op log');
    expect(repairs.map((line) => line.why)).toEqual(['the bus reconnected']);
    writer.provider.destroy();
    reader.provider.destroy();
  });
});
