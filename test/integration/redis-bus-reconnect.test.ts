import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisBus } from '../../src/bus/redis-bus.ts';
import type { BusMessage } from '../../src/collab/ports.ts';
import { waitFor } from '../helpers/clients.ts';
import { TEST_REDIS_URL } from '../helpers/ports.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { uniqueDocId } from '../helpers/node.ts';

const quiet = pino({ level: 'silent' });
const redis = new URL(TEST_REDIS_URL);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The bus's subscriber connection between a reconnect and its channels being subscribed
 * again: a proxy in front of the real Redis holds the re-subscribe, so that moment lasts as
 * long as the test wants.
 */
describe('the Redis bus re-subscribing after a reconnect', () => {
  let proxy: TcpProxy | undefined;
  const closing: (() => Promise<void>)[] = [];
  afterEach(async () => {
    proxy?.restore(); // a failed test may leave it stalled, and a bus's QUIT waiting behind it
    for (const close of closing.splice(0)) await close();
    await proxy?.close();
  });

  /** A bus through a proxy that stalls at the first SUBSCRIBE sent after `armed` is set. */
  async function busBehindProxy() {
    const trap = { armed: false };
    proxy = await startTcpProxy(
      { host: redis.hostname, port: Number(redis.port || 6379) },
      { stallWhen: (chunk) => trap.armed && chunk.toString('latin1').toUpperCase().includes('SUBSCRIBE') },
    );
    const bus = createRedisBus(`redis://127.0.0.1:${proxy.port}`, quiet);
    closing.push(() => bus.close());
    let reconnects = 0;
    bus.onReconnect(() => reconnects++);
    const other = createRedisBus(TEST_REDIS_URL, quiet);
    closing.push(() => other.close());
    /** Resolves once a message published now reaches `received`: the channel is subscribed. */
    const deliveredTo = (id: string, received: BusMessage[]) =>
      // Published until it arrives: a bus drops what it is asked to publish before its connection is up.
      waitFor(() => {
        other.publish(id, { kind: 'update', origin: 'elsewhere', local: 7, payload: new Uint8Array([1, 2, 3]) });
        return received.length > 0;
      }, 'a message over the subscribed channel');
    return { bus, trap, proxy, reconnects: () => reconnects, deliveredTo };
  }

  it('tells the rooms to catch up only once their channels are subscribed again', async () => {
    const { bus, trap, proxy, reconnects, deliveredTo } = await busBehindProxy();
    const id = uniqueDocId('bus-resubscribe');
    const received: BusMessage[] = [];
    await bus.subscribe(id, (message) => received.push(message));
    await deliveredTo(id, received);
    expect(reconnects()).toBe(1);
    received.length = 0;

    trap.armed = true;
    proxy.cut();
    proxy.restore();
    await waitFor(() => proxy.held() > 0, 'the re-subscribe, held by the proxy', 10_000);
    // A room that read the log now could miss an update committed after its read and
    // published before the SUBSCRIBE takes effect.
    await sleep(200);
    expect(reconnects()).toBe(1);

    proxy.restore();
    await waitFor(() => reconnects() === 2, 'the catch-up, once subscribed');
    await deliveredTo(id, received);
    expect(received[0]).toMatchObject({ kind: 'update', local: 7 });
  });

  it('closes while the re-subscribe waits without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const { bus, trap, proxy, deliveredTo } = await busBehindProxy();
      const id = uniqueDocId('bus-close-resubscribe');
      const received: BusMessage[] = [];
      await bus.subscribe(id, (message) => received.push(message));
      await deliveredTo(id, received);
      trap.armed = true;
      proxy.cut();
      proxy.restore();
      await waitFor(() => proxy.held() > 0, 'the re-subscribe, held by the proxy', 10_000);

      // The close's QUIT waits behind the held SUBSCRIBE; then the connection drops under both.
      const closed = bus.close();
      closing.length = 0;
      await sleep(50);
      proxy.cut();
      await closed;
      await sleep(100);
      expect(unhandled.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
