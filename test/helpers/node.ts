import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { type RunningNode, startNode } from '../../src/main.ts';

/** Postgres used by the tests; .ci/run makes sure it is up. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

export type StorageKind = 'postgres' | 'embedded';

export interface TestNode extends RunningNode {
  wsUrl: string;
  dataDir: string | undefined;
}

/**
 * For `env`: the socket limits a node ships with (an empty value counts as unset), instead of
 * the practically unlimited ones test nodes get, for tests about those limits.
 */
export const SHIPPED_SOCKET_LIMITS: Record<string, string> = {
  SOCKET_CONNECTIONS_PER_MINUTE: '',
  SOCKET_MESSAGES_PER_SECOND: '',
  COLLAB_SOCKET_MESSAGES_PER_SECOND: '',
};

/**
 * A real node on port 0 in this process, on Postgres or on PGlite in a fresh (or given)
 * folder. `logger` replaces the silent default, for a test that reads what the node logs.
 */
export async function startTestNode(
  storage: StorageKind,
  options: { dataDir?: string; env?: Record<string, string>; logger?: Logger } = {},
): Promise<TestNode> {
  const dataDir = storage === 'embedded' ? (options.dataDir ?? (await makeTempDir())) : undefined;
  const config = loadConfig({
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Suites that test access control turn it on (test/helpers/auth.ts); the others test
    // documents and sockets, where credentials would only be noise.
    AUTH: 'off',
    // Every test client comes from 127.0.0.1: per-address limits would throttle whole suites.
    // test/integration/abuse-limits.test.ts sets its own.
    RATE_LIMIT_PER_MINUTE: '1000000',
    // Suites register and log in many users from 127.0.0.1; test/integration/login-limits.test.ts sets its own.
    PASSWORD_RATE_LIMIT_PER_MINUTE: '1000000',
    LOGIN_ATTEMPTS_PER_ACCOUNT: '1000000',
    LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS: '1000000',
    SOCKET_CONNECTIONS_PER_MINUTE: '1000000',
    SOCKET_MESSAGES_PER_SECOND: '1000000',
    COLLAB_SOCKET_MESSAGES_PER_SECOND: '1000000',
    // Suites register hundreds of users: scrypt at 2^12 instead of OWASP's 2^17 (half a second
    // each). test/integration/password-hashing.test.ts runs the shipped cost.
    PASSWORD_SCRYPT_N: '4096',
    ...(storage === 'postgres' ? { DATABASE_URL: TEST_DATABASE_URL } : { DATA_DIR: dataDir }),
    ...options.env,
  });
  const node = await startNode(config, options.logger ?? pino({ level: config.logLevel }));
  return { ...node, wsUrl: node.url.replace(/^http/, 'ws'), dataDir };
}

export async function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tandem-test-'));
}

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

let counter = 0;
/** A document id no other test uses, so suites can share one database. */
export function uniqueDocId(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
