import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`expected loadConfig to refuse ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      nodeEnv: 'development',
      port: 1234,
      host: '127.0.0.1',
      storage: { kind: 'embedded', dataDir: './data' },
      redisUrl: undefined,
      auth: 'on',
      logLevel: 'info',
      maxMessageBytes: 8 * 1024 * 1024,
      maxDocumentBytes: 8 * 1024 * 1024,
      snapshotEvery: 100,
      socketIdleTimeoutMs: 60_000,
      shutdownTimeoutMs: 30_000,
      jwt: { kind: 'secret', secret: expect.any(String), generated: true, issuer: 'tandem', audience: 'tandem', accessTokenTtlSeconds: 900 },
      accessRecheckMs: 1000,
      busRepairIntervalMs: 1000,
      allowedOrigins: null,
      allowedHosts: null,
      trustProxy: false,
      rateLimitPerMinute: 1200,
      passwordRateLimitPerMinute: 20,
      loginAttemptsPerAccount: 100,
      loginAttemptsPerAccountAndAddress: 10,
      loginAttemptWindowSeconds: 900,
      socketConnectionsPerMinute: 6000,
      socketMessagesPerSecond: 300,
      collabSocketMessagesPerSecond: 1200,
      socketMaxQueuedMessages: 20_000,
      metricsToken: null,
      awareness: { clientsPerConnection: 4, statesPerDocument: 1000, bytesPerDocument: 1024 * 1024, bytesPerState: 16 * 1024 },
      mcpSessions: { perUser: 20, perNode: 500 },
      maxApiKeysPerUser: 100,
      adminToken: null,
      passwordScryptN: 131072,
      compaction: { sweepMs: 600_000, keepRawLogHours: 24, keepCheckpointDays: 30 },
      expiry: { afterDays: 30, warningDays: 7, deletedRetentionDays: 30, sweepMs: 3_600_000 },
      jobs: { prefix: 'tandem', attempts: 5, backoffMs: 1000, workerConcurrency: 4, workerLockMs: 30_000 },
      webhooks: { attempts: 8, backoffMs: 2000, timeoutMs: 10_000, disableAfter: 20, debounceMs: 5000, allowPrivate: false },
    });
    // A bare start signs tokens with a random secret of its own, different each start.
    expect(config.jwt.kind === 'secret' && config.jwt.secret.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({}).jwt).not.toEqual(config.jwt);
  });

  it('refuses a production start without a JWT secret or key, and conflicting JWT settings', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(['JWT_SECRET: required when NODE_ENV=production (or set JWT_PUBLIC_KEY)']);
    expect(problemsOf({ JWT_SECRET: 'short' })[0]).toMatch(/^JWT_SECRET: /);
    expect(
      problemsOf({ JWT_SECRET: 'x'.repeat(32), JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' }),
    ).toEqual(['JWT_SECRET and JWT_PUBLIC_KEY: set one, not both']);
    expect(problemsOf({ JWT_PRIVATE_KEY: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' })).toEqual([
      'JWT_PRIVATE_KEY: needs JWT_PUBLIC_KEY',
    ]);
  });

  it('treats empty strings as unset and ignores unrelated variables', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', PATH: '/usr/bin', HOME: '/root' });
    expect(config.port).toBe(1234);
    expect(config.storage).toEqual({ kind: 'embedded', dataDir: './data' });
  });

  it('reads every variable, converting numbers', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgresql://u@db:5432/tandem',
      DATA_DIR: '/var/lib/tandem',
      REDIS_URL: 'redis://cache:6379',
      AUTH: 'on',
      LOG_LEVEL: 'warn',
      MAX_MESSAGE_BYTES: '2048',
      SNAPSHOT_EVERY: '7',
      SOCKET_IDLE_TIMEOUT_MS: '5000',
      SHUTDOWN_TIMEOUT_MS: '2000',
      JWT_SECRET: 's'.repeat(40),
      JWT_ISSUER: 'https://id.example.com',
      JWT_AUDIENCE: 'tandem-prod',
      ACCESS_TOKEN_TTL_SECONDS: '600',
      ACCESS_RECHECK_MS: '500',
      ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com',
      ALLOWED_HOSTS: 'Tandem.Example.com, 10.0.0.5',
      RATE_LIMIT_PER_MINUTE: '60',
      PASSWORD_RATE_LIMIT_PER_MINUTE: '6',
      LOGIN_ATTEMPTS_PER_ACCOUNT: '5',
      LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS: '2',
      LOGIN_ATTEMPT_WINDOW_SECONDS: '300',
      TRUST_PROXY: '1',
      SOCKET_CONNECTIONS_PER_MINUTE: '30',
      SOCKET_MESSAGES_PER_SECOND: '50',
      COLLAB_SOCKET_MESSAGES_PER_SECOND: '150',
      SOCKET_MAX_QUEUED_MESSAGES: '500',
      METRICS_TOKEN: 'scrape-me-0123456789',
      MAX_DOCUMENT_BYTES: '4096',
      AWARENESS_MAX_CLIENTS_PER_SOCKET: '2',
      AWARENESS_MAX_STATES_PER_DOCUMENT: '50',
      AWARENESS_MAX_BYTES_PER_DOCUMENT: '65536',
      AWARENESS_MAX_STATE_BYTES: '1024',
      MCP_MAX_SESSIONS_PER_USER: '3',
      MCP_MAX_SESSIONS_PER_NODE: '40',
      MAX_API_KEYS_PER_USER: '7',
      PASSWORD_SCRYPT_N: '262144',
      ADMIN_TOKEN: 'a'.repeat(32),
      COMPACT_SWEEP_MS: '0',
      KEEP_RAW_LOG_HOURS: '1',
      KEEP_CHECKPOINT_DAYS: '2',
      EXPIRE_AFTER_DAYS: '90',
      EXPIRY_WARNING_DAYS: '3',
      DELETED_RETENTION_DAYS: '4',
      EXPIRE_SWEEP_MS: '60000',
      JOBS_PREFIX: 'tandem-prod',
      JOB_ATTEMPTS: '3',
      JOB_BACKOFF_MS: '500',
      WORKER_CONCURRENCY: '2',
      WORKER_LOCK_MS: '10000',
      WEBHOOK_ATTEMPTS: '4',
      WEBHOOK_BACKOFF_MS: '100',
      WEBHOOK_TIMEOUT_MS: '3000',
      WEBHOOK_DISABLE_AFTER: '5',
      WEBHOOK_DEBOUNCE_MS: '0',
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    expect(config).toEqual({
      nodeEnv: 'production',
      port: 0,
      host: '0.0.0.0',
      storage: { kind: 'postgres', url: 'postgresql://u@db:5432/tandem' },
      redisUrl: 'redis://cache:6379',
      auth: 'on',
      logLevel: 'warn',
      maxMessageBytes: 2048,
      maxDocumentBytes: 4096,
      snapshotEvery: 7,
      socketIdleTimeoutMs: 5000,
      shutdownTimeoutMs: 2000,
      jwt: { kind: 'secret', secret: 's'.repeat(40), generated: false, issuer: 'https://id.example.com', audience: 'tandem-prod', accessTokenTtlSeconds: 600 },
      accessRecheckMs: 500,
      busRepairIntervalMs: 1000,
      allowedOrigins: ['https://app.example.com', 'https://admin.example.com'],
      allowedHosts: ['tandem.example.com', '10.0.0.5'],
      trustProxy: 1,
      rateLimitPerMinute: 60,
      passwordRateLimitPerMinute: 6,
      loginAttemptsPerAccount: 5,
      loginAttemptsPerAccountAndAddress: 2,
      loginAttemptWindowSeconds: 300,
      socketConnectionsPerMinute: 30,
      socketMessagesPerSecond: 50,
      collabSocketMessagesPerSecond: 150,
      socketMaxQueuedMessages: 500,
      metricsToken: 'scrape-me-0123456789',
      awareness: { clientsPerConnection: 2, statesPerDocument: 50, bytesPerDocument: 65_536, bytesPerState: 1024 },
      mcpSessions: { perUser: 3, perNode: 40 },
      maxApiKeysPerUser: 7,
      adminToken: 'a'.repeat(32),
      passwordScryptN: 262144,
      compaction: { sweepMs: 0, keepRawLogHours: 1, keepCheckpointDays: 2 },
      expiry: { afterDays: 90, warningDays: 3, deletedRetentionDays: 4, sweepMs: 60_000 },
      jobs: { prefix: 'tandem-prod', attempts: 3, backoffMs: 500, workerConcurrency: 2, workerLockMs: 10_000 },
      webhooks: { attempts: 4, backoffMs: 100, timeoutMs: 3000, disableAfter: 5, debounceMs: 0, allowPrivate: true },
    });
  });

  it("refuses a PASSWORD_SCRYPT_N that is not a power of two, out of range, or under OWASP's 2^17 in production", () => {
    expect(problemsOf({ PASSWORD_SCRYPT_N: '100000' })).toEqual(['PASSWORD_SCRYPT_N: must be a power of two (e.g. 131072 = 2^17)']);
    expect(problemsOf({ PASSWORD_SCRYPT_N: '512' })[0]).toMatch(/^PASSWORD_SCRYPT_N: /);
    expect(problemsOf({ PASSWORD_SCRYPT_N: String(2 ** 19) })[0]).toMatch(/^PASSWORD_SCRYPT_N: /);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(40), PASSWORD_SCRYPT_N: '65536' })).toEqual([
      "PASSWORD_SCRYPT_N: at least 131072 (2^17, OWASP's minimum) when NODE_ENV=production",
    ]);
    expect(loadConfig({ PASSWORD_SCRYPT_N: '4096' }).passwordScryptN).toBe(4096);
  });

  it('refuses a SHUTDOWN_TIMEOUT_MS that is not a whole number of milliseconds, or under 100', () => {
    expect(problemsOf({ SHUTDOWN_TIMEOUT_MS: '30s' })[0]).toMatch(/^SHUTDOWN_TIMEOUT_MS: /);
    expect(problemsOf({ SHUTDOWN_TIMEOUT_MS: '2.5' })[0]).toMatch(/^SHUTDOWN_TIMEOUT_MS: /);
    expect(problemsOf({ SHUTDOWN_TIMEOUT_MS: '0' })[0]).toMatch(/^SHUTDOWN_TIMEOUT_MS: .*100/);
    expect(loadConfig({ SHUTDOWN_TIMEOUT_MS: '100' }).shutdownTimeoutMs).toBe(100);
  });

  it('refuses ALLOWED_HOSTS entries that are not bare host names', () => {
    expect(problemsOf({ ALLOWED_HOSTS: 'tandem.example.com:8080, https://x.example, ok.example' })).toEqual([
      'ALLOWED_HOSTS: "tandem.example.com:8080" is not a host name (no scheme, no port: tandem.example.com, [::1])',
      'ALLOWED_HOSTS: "https://x.example" is not a host name (no scheme, no port: tandem.example.com, [::1])',
    ]);
    expect(loadConfig({ ALLOWED_HOSTS: '[::1]' }).allowedHosts).toEqual(['[::1]']);
  });

  it('accepts both postgres:// and postgresql://, redis:// and rediss://', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://x/y' }).storage).toEqual({ kind: 'postgres', url: 'postgres://x/y' });
    expect(loadConfig({ REDIS_URL: 'rediss://x:6380' }).redisUrl).toBe('rediss://x:6380');
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow();
  });

  it('lists every problem at once (nine here), each naming its variable', () => {
    const problems = problemsOf({
      NODE_ENV: 'staging',
      PORT: 'eighty',
      HOST: undefined,
      DATABASE_URL: 'mysql://db/tandem',
      REDIS_URL: 'http://cache',
      AUTH: 'maybe',
      LOG_LEVEL: 'loud',
      MAX_MESSAGE_BYTES: '10',
      SNAPSHOT_EVERY: '0',
      SOCKET_IDLE_TIMEOUT_MS: 'soon',
    });
    for (const name of [
      'NODE_ENV',
      'PORT',
      'DATABASE_URL',
      'REDIS_URL',
      'AUTH',
      'LOG_LEVEL',
      'MAX_MESSAGE_BYTES',
      'SNAPSHOT_EVERY',
      'SOCKET_IDLE_TIMEOUT_MS',
    ]) {
      expect(problems.filter((problem) => problem.startsWith(`${name}:`)), name).toHaveLength(1);
    }
    expect(problems).toHaveLength(9);
  });

  it('says which values an enumerated variable allows', () => {
    const [problem] = problemsOf({ AUTH: 'maybe' });
    expect(problem).toMatch(/^AUTH: /);
    expect(problem).toContain('on');
    expect(problem).toContain('off');
  });

  it.each([
    ['PORT', '65536'],
    ['PORT', '-1'],
    ['MAX_MESSAGE_BYTES', '1023'],
    ['SOCKET_IDLE_TIMEOUT_MS', '999'],
    // Only the exact word lets webhooks reach private addresses; a typo must not.
    ['WEBHOOK_ALLOW_PRIVATE', 'yes'],
    ['WEBHOOK_ALLOW_PRIVATE', 'TRUE'],
    ['WEBHOOK_ALLOW_PRIVATE', '1'],
  ])('refuses %s=%s', (name, value) => {
    expect(problemsOf({ [name]: value })).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
  });

  // Value.Convert would otherwise turn these into numbers silently (80.5 → 80, "true" → 1).
  it.each([
    ['PORT', '80.5'],
    ['SNAPSHOT_EVERY', 'true'],
    ['SOCKET_IDLE_TIMEOUT_MS', '1500.7'],
  ])('refuses %s=%s instead of converting it to some integer', (name, value) => {
    expect(problemsOf({ [name]: value })).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
  });

  it('refuses AUTH=off when NODE_ENV=production', () => {
    expect(problemsOf({ AUTH: 'off', NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^AUTH: /)]);
  });

  it('allows AUTH=off outside production', () => {
    expect(loadConfig({ AUTH: 'off' }).auth).toBe('off');
    expect(loadConfig({ AUTH: 'off', NODE_ENV: 'test' }).auth).toBe('off');
  });

  it('lists AUTH=off in production together with the other problems', () => {
    const problems = problemsOf({ AUTH: 'off', NODE_ENV: 'production', PORT: 'eighty' });
    expect(problems.some((problem) => problem.startsWith('PORT:'))).toBe(true);
    expect(problems.some((problem) => problem.startsWith('AUTH:'))).toBe(true);
  });

  it('has a readable message listing the problems', () => {
    try {
      loadConfig({ PORT: 'x', AUTH: 'y' });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/^Invalid configuration:\n {2}- /);
      expect((error as Error).message).toContain('PORT');
      expect((error as Error).message).toContain('AUTH');
    }
  });
});
