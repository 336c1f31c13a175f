import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startLossyRedisProxy } from '../helpers/lossy-redis-proxy.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { TEST_REDIS_URL } from '../helpers/ports.ts';
import { seededRandom } from '../helpers/random.ts';

/**
 * Pub/sub messages really dropped: node B reaches Redis through a proxy that throws away
 * pushed messages, so B's room sees holes in the seqs (or nothing at all) and must repair
 * from the op log. Node A talks to Redis directly and publishes every commit.
 */
describe('two nodes whose bus drops messages', () => {
  let proxy: Awaited<ReturnType<typeof startLossyRedisProxy>>;
  let a: TestNode;
  let gapOnly: TestNode;
  let polling: TestNode;
  beforeAll(async () => {
    const redis = new URL(TEST_REDIS_URL);
    proxy = await startLossyRedisProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    [a, gapOnly, polling] = await Promise.all([
      startTestNode('postgres', { env: { REDIS_URL: TEST_REDIS_URL, BUS_REPAIR_INTERVAL_MS: '60000' } }),
      // Checks the log's heads once a minute: only a seq gap can send it to the log.
      startTestNode('postgres', { env: { REDIS_URL: proxy.url, BUS_REPAIR_INTERVAL_MS: '60000' } }),
      startTestNode('postgres', { env: { REDIS_URL: proxy.url, BUS_REPAIR_INTERVAL_MS: '200' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), gapOnly?.close(), polling?.close()]);
    await proxy?.close();
  });

  it('updates whose messages were dropped are repaired from the log when a later seq reveals the gap', async () => {
    const id = uniqueDocId('lossy-gap');
    const writer = yWebsocketClient(a.wsUrl, id);
    const reader = yWebsocketClient(gapOnly.wsUrl, id);
    await Promise.all([whenSynced(writer.provider), whenSynced(reader.provider)]);
    const random = seededRandom(6);
    proxy.dropWhen(() => random() < 0.4);
    const droppedBefore = proxy.dropped;
    for (let i = 0; i < 40; i++) {
      writer.text.insert(writer.text.length, `w${i} `);
      await new Promise((resolve) => setTimeout(resolve, 15)); // separate commits, separate messages
    }
    // The last messages could be dropped too, and then no later seq reveals them: one more
    // edit goes through undropped (this node polls the log only once a minute).
    await waitFor(() => proxy.dropped > droppedBefore, 'the proxy to drop some messages');
    proxy.dropWhen(() => false);
    writer.text.insert(writer.text.length, 'end.');
    await waitFor(() => reader.text.toString() === writer.text.toString(), 'the reader on the lossy node to converge', 5000);
    for (let i = 0; i < 40; i++) expect(reader.text.toString().split(`w${i} `)).toHaveLength(2);
    writer.provider.destroy();
    reader.provider.destroy();
  });

  it('when every message is dropped, the check of the log heads still brings the edits', async () => {
    const id = uniqueDocId('lossy-all');
    const writer = yWebsocketClient(a.wsUrl, id);
    const reader = yWebsocketClient(polling.wsUrl, id);
    await Promise.all([whenSynced(writer.provider), whenSynced(reader.provider)]);
    proxy.dropWhen(() => true);
    const droppedBefore = proxy.dropped;
    for (let i = 0; i < 10; i++) writer.text.insert(writer.text.length, `x${i} `);
    await waitFor(() => reader.text.toString() === writer.text.toString() && reader.text.length > 0, 'the reader to converge from the log', 5000);
    expect(proxy.dropped).toBeGreaterThan(droppedBefore);
    proxy.dropWhen(() => false);
    writer.provider.destroy();
    reader.provider.destroy();
  });
});
