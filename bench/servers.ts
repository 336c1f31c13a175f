import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startRedis } from './redis.ts';

/** The servers under test, each as its own process on a free loopback port. */
export type ServerName = 'tandem' | 'reference' | 'hocuspocus' | 'relay';

export interface ServerTarget {
  name: ServerName;
  /** How the load client speaks to it. */
  dialect: 'y-websocket' | 'hocuspocus';
  /** y-websocket: the provider's serverUrl (the room is appended); Hocuspocus: the url. */
  wsUrl: string;
  /** Every node's wsUrl (one for a single server); clients of a document are spread over them. */
  wsUrls: string[];
  /** Tandem's HTTP base (REST and /metrics). */
  httpUrl?: string | undefined;
  /** Every node's HTTP base (one for a single server). */
  httpUrls?: string[] | undefined;
  /** Tandem's database. */
  databaseUrl?: string | undefined;
}

export interface RunningServer extends ServerTarget {
  /** The (first) node's process: memory figures. */
  pid: number;
  /** Every process whose CPU is the server's: its nodes and, for a cluster, its Redis. */
  pids: number[];
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE = `${ROOT}node_modules/.bin/node`;

export interface StartOptions {
  databaseUrl: string;
  /** Extra node flags for Tandem (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** A node of a cluster: Tandem's bus, or Hocuspocus with @hocuspocus/extension-redis. */
  redisUrl?: string;
}

/**
 * `nodes` processes of one server on one Redis of their own (and, for Tandem, one database),
 * as a load balancer would see them. CPU figures include the Redis process.
 */
export async function startCluster(name: 'tandem' | 'hocuspocus', nodes: number, options: StartOptions): Promise<RunningServer> {
  const redis = await startRedis(await freePort());
  const started: RunningServer[] = [];
  try {
    for (let i = 0; i < nodes; i++) started.push(await startServer(name, { ...options, redisUrl: redis.url }));
  } catch (error) {
    await Promise.all(started.map((node) => node.stop()));
    await redis.stop();
    throw error;
  }
  const [first] = started;
  return {
    ...first!,
    wsUrls: started.map((node) => node.wsUrl),
    httpUrls: started.flatMap((node) => (node.httpUrl ? [node.httpUrl] : [])),
    pids: [...started.map((node) => node.pid), redis.pid],
    async stop() {
      await Promise.all(started.map((node) => node.stop()));
      await redis.stop();
    },
  };
}

export async function startServer(name: ServerName, options: StartOptions): Promise<RunningServer> {
  const [args, env] =
    name === 'tandem'
      ? [
          [...(options.nodeFlags ?? []), '--max-semi-space-size=8', 'dist/src/main.js'], // as npm start runs it (bench/main.ts builds it)
          {
            DATABASE_URL: options.databaseUrl,
            MALLOC_TRIM_THRESHOLD_: '131072', // as npm start sets it
            // Chosen here, so that Tandem can log at warn (no per-request lines) and still be found.
            PORT: String(await freePort()),
            HOST: '127.0.0.1',
            LOG_LEVEL: 'warn',
            AUTH: 'off',
            // Idle sockets stay open for the idle-connection scenario.
            SOCKET_IDLE_TIMEOUT_MS: '3600000',
            MAX_MESSAGE_BYTES: String(64 * 1024 * 1024),
            // The load client is one address opening thousands of sockets, and the trace
            // replay sends as fast as it can: the abuse limits would measure themselves.
            RATE_LIMIT_PER_MINUTE: '100000000',
            SOCKET_CONNECTIONS_PER_MINUTE: '100000000',
            SOCKET_MESSAGES_PER_SECOND: '100000000',
            COLLAB_SOCKET_MESSAGES_PER_SECOND: '100000000',
            ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
          },
        ]
      : options.redisUrl && name === 'hocuspocus'
        ? [['bench/peers/hocuspocus-redis-server.mjs'], { REDIS_URL: options.redisUrl }]
        : [[`bench/peers/${name}-server.mjs`], {}];
  const child = spawn(NODE, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const port = name === 'tandem' ? Number(env.PORT) : await readPort(name, child, stderr);
  if (name === 'tandem') await waitForHealth(`http://127.0.0.1:${port}`, child, stderr);
  const target: ServerTarget =
    name === 'tandem'
      ? {
          name,
          dialect: 'y-websocket',
          wsUrl: `ws://127.0.0.1:${port}/ws`,
          wsUrls: [`ws://127.0.0.1:${port}/ws`],
          httpUrl: `http://127.0.0.1:${port}`,
          databaseUrl: options.databaseUrl,
        }
      : { name, dialect: name === 'hocuspocus' ? 'hocuspocus' : 'y-websocket', wsUrl: `ws://127.0.0.1:${port}`, wsUrls: [`ws://127.0.0.1:${port}`] };
  return {
    ...target,
    pid: child.pid!,
    pids: [child.pid!],
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForHealth(url: string, child: ChildProcess, stderr: string[]): Promise<void> {
  child.stdout!.resume();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`Tandem did not become healthy:\n${stderr.join('')}`);
}

/** The peers print "LISTENING <port>". */
async function readPort(name: ServerName, child: ChildProcess, stderr: string[]): Promise<number> {
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    for await (const line of lines) {
      const port = /LISTENING (\d+)/.exec(line)?.[1];
      if (port) {
        // Keep draining stdout so the child never blocks on a full pipe.
        child.stdout!.resume();
        return Number(port);
      }
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`${name} exited before listening:\n${stderr.join('')}`);
}
