import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TEST_DATABASE_URL } from './node.ts';
import { TEST_REDIS_URL } from './ports.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * Node 24 from node_modules (the system one is 20), which runs the TypeScript itself (type
 * stripping): the pid is the server's own, so a SIGKILL reaches it.
 */
const NODE = existsSync(`${ROOT}node_modules/.bin/node`) ? `${ROOT}node_modules/.bin/node` : process.execPath;
const STARTUP_TIMEOUT_MS = 30_000;

export type ProcessStorage = { kind: 'postgres'; url?: string } | { kind: 'embedded'; dataDir: string };

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface ServerProcess {
  url: string;
  wsUrl: string;
  pid: number;
  port: number;
  storage: ProcessStorage;
  /** The parsed "Tandem listening on …" line. */
  startupLine: LogLine;
  /** Every JSON log line so far (stdout), for assertions and for failure messages. */
  logs: LogLine[];
  /** Everything written to stderr so far. */
  stderr(): string;
  kill(signal: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();
// Last resort if a test file dies without its afterAll: never leave servers behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts the real server (src/main.ts, or `entry`: dist/src/main.js is what `npm start` runs
 * once build.ts compiled it) as a child process on port 0 (or `port`) and resolves once it has
 * logged its "Tandem listening on" line.
 */
export async function startServerProcess(
  storage: ProcessStorage,
  options: { port?: number; env?: Record<string, string>; entry?: string } = {},
): Promise<ServerProcess> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(options.port ?? 0),
    LOG_LEVEL: 'info',
    AUTH: 'off',
    RATE_LIMIT_PER_MINUTE: '1000000',
    // Suites register and log in many users from 127.0.0.1; test/integration/login-limits.test.ts sets its own.
    PASSWORD_RATE_LIMIT_PER_MINUTE: '1000000',
    LOGIN_ATTEMPTS_PER_ACCOUNT: '1000000',
    LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS: '1000000',
    SOCKET_CONNECTIONS_PER_MINUTE: '1000000',
    SOCKET_MESSAGES_PER_SECOND: '1000000',
    COLLAB_SOCKET_MESSAGES_PER_SECOND: '1000000',
    // As test/helpers/node.ts: cheap password hashing for suites that register many users.
    PASSWORD_SCRYPT_N: '4096',
    ...options.env,
  };
  delete env.DATABASE_URL;
  delete env.DATA_DIR;
  if (storage.kind === 'postgres') env.DATABASE_URL = storage.url ?? TEST_DATABASE_URL;
  else env.DATA_DIR = storage.dataDir;

  const { child, logs, stderr, exited, readyLine: startupLine } = await spawnLogged(options.entry ?? 'src/main.ts', env, (line) => line.msg.startsWith('Tandem listening on'));
  const url = String(startupLine.url);
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    pid: child.pid!,
    port: Number(new URL(url).port),
    storage,
    startupLine,
    logs,
    stderr,
    kill(signal) {
      child.kill(signal);
    },
    exited,
  };
}

/**
 * A new server process on the same storage (same Postgres database or same DATA_DIR) as
 * `previous`, which must have exited. `samePort` makes it listen where the old one did, so
 * clients that were connected to it reconnect on their own.
 */
export async function restartServerProcess(
  previous: ServerProcess,
  options: { samePort?: boolean; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  await previous.exited;
  return startServerProcess(previous.storage, {
    ...(options.samePort ? { port: previous.port } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
}

/** For afterAll: SIGKILLs every server process still running and waits until each is gone. */
export async function killAllServerProcesses(): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export interface LoggedProcess {
  child: ChildProcess;
  logs: LogLine[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first log line `ready` accepted. */
  readyLine: LogLine;
}

/**
 * Runs one of Tandem's entry points (`node <script>`) with `env`, collects its JSON
 * log lines, and resolves once a line passes `ready`; kills it if it exits or stalls first.
 */
export async function spawnLogged(script: string, env: Record<string, string | undefined>, ready: (line: LogLine) => boolean): Promise<LoggedProcess> {
  const child = spawn(NODE, [script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const logs: LogLine[] = [];
  let stderr = '';
  let onReady: ((line: LogLine) => void) | undefined;
  const readyPromise = new Promise<LogLine>((resolve) => {
    onReady = resolve;
  });
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const raw = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        line = { level: 0, msg: raw };
      }
      logs.push(line);
      if (typeof line.msg === 'string' && ready(line)) onReady?.(line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const describe = () => `${script} process ${child.pid}\n--- stdout ---\n${logs.map((l) => JSON.stringify(l)).join('\n')}\n--- stderr ---\n${stderr}`;
  let timer: NodeJS.Timeout | undefined;
  const readyLine = await Promise.race([
    readyPromise,
    exited.then(({ code, signal }) => {
      throw new Error(`Exited before it was ready (code ${code}, signal ${signal}): ${describe()}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Not ready within ${STARTUP_TIMEOUT_MS} ms: ${describe()}`)), STARTUP_TIMEOUT_MS);
    }),
  ])
    .catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    })
    .finally(() => clearTimeout(timer));
  return { child, logs, stderr: () => stderr, exited, readyLine };
}

/**
 * `npm run worker` as a child process, on its own BullMQ prefix, taking over a dead worker's
 * jobs after 4 s, one job at a time, no sweeps of its own; resolves once it runs.
 */
export function startWorkerProcess(prefix: string, env: Record<string, string> = {}): Promise<LoggedProcess> {
  return spawnLogged(
    'workers/main.ts',
    {
      ...process.env,
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: TEST_REDIS_URL,
      JOBS_PREFIX: prefix,
      WORKER_LOCK_MS: '4000',
      WORKER_CONCURRENCY: '1',
      KEEP_RAW_LOG_HOURS: '0',
      COMPACT_SWEEP_MS: '0',
      EXPIRE_SWEEP_MS: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    (line) => line.msg.startsWith('Tandem worker running'),
  );
}
