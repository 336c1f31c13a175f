import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { docFrom, inspectPostgres } from '../helpers/db-inspect.ts';
import { uniqueDocId } from '../helpers/node.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts';
import { killAllServerProcesses, startServerProcess } from '../helpers/server-process.ts';
import { startPostgresProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * ARCHITECTURE.md: a node publishes an update as soon as its room accepts it, before its
 * commit, and confirms it once committed. So a client on another node can see, and build
 * on, an update that is not durable yet. Here the origin's database never answers: its
 * update reaches the other node and is never committed there. A Hocuspocus client on the
 * other node that types after it must not be acknowledged until that update is in the log
 * too (its own update depends on it), which happens when the other node adopts it; nor may
 * a REST write made there on top of it be answered before. Both nodes are killed with
 * SIGKILL at the instant of the acknowledgement.
 */
describe('an update published by a node that never commits it', () => {
  let redis: TestRedis;
  let proxies: TcpProxy[] = [];
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await killAllServerProcesses();
    for (const proxy of proxies) await proxy.close();
    await redis?.stop();
  });

  /**
   * Two nodes on one Redis and one Postgres, the first through a proxy, and a document
   * with a stock y-websocket client on the first. `typeOnTheStalledNode` stalls the first
   * node's database and types: the first node publishes the update and never commits it.
   */
  async function twoNodes() {
    const database = await startPostgresProxy();
    proxies.push(database.proxy);
    const env = { REDIS_URL: redis.url, BUS_REPAIR_INTERVAL_MS: '300' };
    const [origin, other] = await Promise.all([
      startServerProcess({ kind: 'postgres', url: database.url }, { env }),
      startServerProcess({ kind: 'postgres' }, { env }),
    ]);
    const id = uniqueDocId('uncommitted-origin');
    const writer = yWebsocketClient(origin.wsUrl, id);
    await whenSynced(writer.provider);
    const typeOnTheStalledNode = () => {
      database.proxy.stall();
      writer.text.insert(0, 'typed on the stalled node;');
    };
    const killBoth = () => {
      origin.kill('SIGKILL');
      other.kill('SIGKILL');
      writer.provider.destroy();
    };
    const bothExited = () => Promise.all([origin.exited, other.exited]);
    return { id, other, typeOnTheStalledNode, killBoth, bothExited };
  }

  async function logged(id: string): Promise<string> {
    const db = inspectPostgres();
    try {
      return docFrom((await db.updates(id)).map((row) => row.update)).getText('content').toString();
    } finally {
      await db.close();
    }
  }

  it('is adopted by the node whose Hocuspocus client built on it, before that client is acknowledged', async () => {
    const { id, other, typeOnTheStalledNode, killBoth, bothExited } = await twoNodes();
    const reader = hocuspocusClient(other.wsUrl, id);
    await whenSynced(reader.provider);
    await waitFor(() => reader.provider.unsyncedChanges === 0, 'the first sync to be acknowledged');
    typeOnTheStalledNode();
    await waitFor(() => reader.text.toString() === 'typed on the stalled node;', 'the update to reach the other node');

    let atAcknowledgement: string | null = null;
    reader.provider.on('unsyncedChanges', ({ number }: { number: number }) => {
      if (number !== 0 || atAcknowledgement !== null) return;
      killBoth();
      atAcknowledgement = reader.text.toString();
      reader.provider.destroy();
    });
    reader.text.insert(reader.text.length, ' and after it, on the other node');
    await waitFor(() => atAcknowledgement !== null, 'the acknowledgement', 10_000);
    await bothExited();

    expect(atAcknowledgement).toBe('typed on the stalled node; and after it, on the other node');
    expect(await logged(id)).toBe(atAcknowledgement);
  });

  it('is adopted by the node a REST write built on it went to, before the write is answered', async () => {
    const { id, other, typeOnTheStalledNode, killBoth, bothExited } = await twoNodes();
    // The live room on the other node shows the update.
    const watcher = yWebsocketClient(other.wsUrl, id);
    await whenSynced(watcher.provider);
    typeOnTheStalledNode();
    await waitFor(() => watcher.text.toString() === 'typed on the stalled node;', 'the update to reach the other node');

    const body = JSON.stringify({ edits: [{ append: ' and after it, over REST' }] });
    const status = await new Promise<number>((resolve, reject) => {
      const call = request(
        `${other.url}/v1/documents/${id}`,
        { method: 'PATCH', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (response) => {
          killBoth();
          watcher.provider.destroy();
          resolve(response.statusCode ?? 0);
          response.resume();
        },
      );
      call.on('error', reject);
      call.end(body);
    });
    await bothExited();

    expect(status).toBe(200);
    expect(await logged(id)).toBe('typed on the stalled node; and after it, over REST');
  });
});
