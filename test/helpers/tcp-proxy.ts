import { createServer, type Socket, connect } from 'node:net';
import { TEST_DATABASE_URL } from './node.ts';

/**
 * A TCP proxy in front of a real server (Postgres, Redis) that a test can cut, stall and
 * restore, to produce real connection trouble:
 * - cut(): open connections are destroyed and new ones are dropped on arrival (the peer sees
 *   errors at once, as when the server is down);
 * - stall(): connections stay open but nothing gets through in either direction (as in a
 *   network partition: queries neither answer nor fail), until restore() delivers what was held;
 * - `stallWhen` stalls at an exact moment: it sees each chunk a client sends before it is
 *   forwarded, and when it answers true, that chunk is the first one held.
 */
export async function startTcpProxy(target: { host: string; port: number }, options: { stallWhen?: (chunk: Buffer) => boolean } = {}) {
  const sockets = new Set<Socket>();
  let cut = false;
  let stalled = false;
  /** Chunks that arrived while stalled, in arrival order, with where they were going. */
  let held: { to: Socket; chunk: Buffer }[] = [];

  const forward = (from: Socket, to: Socket, fromClient: boolean) => {
    from.on('data', (chunk: Buffer) => {
      if (fromClient && !stalled && options.stallWhen?.(chunk)) stalled = true;
      if (stalled) held.push({ to, chunk });
      else if (!to.destroyed) to.write(chunk);
    });
  };

  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    forward(client, upstream, true);
    forward(upstream, client, false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    port,
    cut() {
      cut = true;
      held = [];
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    stall() {
      stalled = true;
    },
    /** How many chunks are held now. */
    held: () => held.length,
    restore() {
      cut = false;
      stalled = false;
      for (const { to, chunk } of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    async close() {
      this.cut();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A proxy in front of the test Postgres, and the DATABASE_URL that goes through it. */
export async function startPostgresProxy(): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(TEST_DATABASE_URL);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const url = new URL(TEST_DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return { proxy, url: url.toString() };
}

export type TcpProxy = Awaited<ReturnType<typeof startTcpProxy>>;
