import { afterEach, describe, expect, it } from 'vitest';
import { waitFor, yWebsocketClient } from '../helpers/clients.ts';
import { SHIPPED_SOCKET_LIMITS, startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';

/**
 * failure-modes.md, Scale-out: a node dies and its clients reconnect to the others at once,
 * often from one address (a NAT, a proxy). Every stock y-websocket client must end up
 * connected: the per-address connection budget is sized for that, and a client refused past
 * it gets 1013 RATE_LIMITED, which y-websocket retries by itself (a 44xx would stop it for good).
 */

type Client = ReturnType<typeof yWebsocketClient> & {
  closes: { code: number | null; reason: string }[];
  /** Set when y-websocket gave up for good (it does so only after a 4400–4499 close). */
  gaveUp: boolean;
};

/** The node's open document connections, as /metrics reports them. */
async function connectionsOf(node: TestNode): Promise<number> {
  const metrics = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/^tandem_connections (\d+)$/m.exec(metrics)?.[1]);
}

function storm(node: TestNode, clients: number, perDocument: number): Client[] {
  const ids = Array.from({ length: Math.ceil(clients / perDocument) }, () => uniqueDocId('storm'));
  return Array.from({ length: clients }, (_, n) => {
    const client = { ...yWebsocketClient(node.wsUrl, ids[Math.floor(n / perDocument)]!), closes: [], gaveUp: false } as Client;
    client.provider.on('connection-close', (event) => client.closes.push({ code: event?.code ?? null, reason: event?.reason ?? '' }));
    client.provider.on('closed', () => {
      client.gaveUp = true;
    });
    return client;
  });
}

describe('a reconnect storm from one address', () => {
  let node: TestNode | undefined;
  let clients: Client[] = [];
  afterEach(async () => {
    for (const { provider } of clients) provider.destroy();
    clients = [];
    await node?.close();
    node = undefined;
  });

  it('with the shipped limits: 600 y-websocket clients at once all connect and sync, none refused', { timeout: 120_000 }, async () => {
    node = await startTestNode('postgres', { env: SHIPPED_SOCKET_LIMITS });
    const started = performance.now();
    clients = storm(node, 600, 10);
    await waitFor(() => clients.every(({ provider }) => provider.synced), 'all 600 clients synced', 90_000);
    console.info(`reconnect storm, shipped limits: 600 y-websocket clients synced after ${Math.round(performance.now() - started)} ms`);
    expect(clients.flatMap(({ closes }) => closes)).toEqual([]);
    expect(await connectionsOf(node)).toBe(600);
  });

  it('past the limit: refused clients get 1013 RATE_LIMITED, keep retrying by themselves, and all end up connected', { timeout: 150_000 }, async () => {
    // 100 a minute: the first 100 connect, the other 50 are refused until the window turns.
    node = await startTestNode('postgres', { env: { SOCKET_CONNECTIONS_PER_MINUTE: '100' } });
    const started = performance.now();
    clients = storm(node, 150, 10);
    const refused = () => clients.filter(({ closes }) => closes.length > 0);
    await waitFor(
      () => clients.filter(({ provider }) => provider.synced).length === 100 && refused().length === 50,
      'the first 100 clients synced and the other 50 refused',
      50_000,
    );
    expect(new Set(refused().flatMap(({ closes }) => closes.map(({ code, reason }) => `${code} ${reason}`)))).toEqual(
      new Set(['1013 RATE_LIMITED']),
    );

    await waitFor(() => clients.every(({ provider }) => provider.synced), 'all 150 clients synced', 110_000);
    const retries = refused().map(({ closes }) => closes.length);
    console.info(
      `reconnect storm past a limit of 100/min: 150 clients, 50 refused (1013), each retried ${Math.min(...retries)}–${Math.max(...retries)} times; ` +
        `all synced after ${Math.round(performance.now() - started)} ms`,
    );
    expect(clients.some(({ gaveUp }) => gaveUp)).toBe(false);
    expect(await connectionsOf(node)).toBe(150);
  });
});
