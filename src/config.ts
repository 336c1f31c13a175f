import { randomBytes } from 'node:crypto';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { isScryptN, MAX_SCRYPT_N, OWASP_SCRYPT_N } from './access/passwords.ts';

/**
 * The only reader of process.env. Every variable is validated at start, all problems are
 * reported together, and the result is frozen. Documented in .env.example.
 */
const EnvSchema = Type.Object({
  NODE_ENV: Type.Enum(['development', 'production', 'test'], { default: 'development' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 1234 }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  AUTH: Type.Enum(['on', 'off'], { default: 'on' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
  }),
  /** Largest WebSocket message accepted; larger ones close the socket with 4413. */
  MAX_MESSAGE_BYTES: Type.Integer({ minimum: 1024, default: 8 * 1024 * 1024 }),
  /**
   * Largest document: the UTF-8 bytes of its markdown (and, for what sockets and raw Yjs
   * updates add, of every value it holds). A write that would pass it is refused whole.
   */
  MAX_DOCUMENT_BYTES: Type.Integer({ minimum: 1024, default: 8 * 1024 * 1024 }),
  /** Compact a document (snapshot + trim) once its log has grown by this many updates since the last snapshot. */
  SNAPSHOT_EVERY: Type.Integer({ minimum: 1, default: 100 }),
  /** How often every document's log is checked for compaction (0: only when it unloads). */
  COMPACT_SWEEP_MS: Type.Integer({ minimum: 0, default: 10 * 60_000 }),
  /** Compaction keeps the raw log (every single update) this long, for history and base-version patches. */
  KEEP_RAW_LOG_HOURS: Type.Integer({ minimum: 0, default: 24 }),
  /** ... and an hourly checkpoint (a snapshot) this long; named versions are kept for good. */
  KEEP_CHECKPOINT_DAYS: Type.Integer({ minimum: 0, default: 30 }),
  /** Documents untouched this long are deleted (a workspace may set its own). */
  EXPIRE_AFTER_DAYS: Type.Integer({ minimum: 1, default: 30 }),
  /** Owners are warned this long before a document expires. */
  EXPIRY_WARNING_DAYS: Type.Integer({ minimum: 0, default: 7 }),
  /** Deleted documents (by expiry or DELETE) can be restored this long, then are purged with their log and keys. */
  DELETED_RETENTION_DAYS: Type.Integer({ minimum: 0, default: 30 }),
  /** How often the expiry sweep runs (0: never). */
  EXPIRE_SWEEP_MS: Type.Integer({ minimum: 0, default: 60 * 60_000 }),
  /** Prefix of every BullMQ key in Redis (one per deployment sharing a Redis). */
  JOBS_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'tandem' }),
  /** Tries per job, and the first wait between them (doubled each time). */
  JOB_ATTEMPTS: Type.Integer({ minimum: 1, default: 5 }),
  JOB_BACKOFF_MS: Type.Integer({ minimum: 1, default: 1000 }),
  /** Jobs of one queue run at once in one worker process. */
  WORKER_CONCURRENCY: Type.Integer({ minimum: 1, default: 4 }),
  /** A worker that dies holds its jobs this long before another worker takes them over. */
  WORKER_LOCK_MS: Type.Integer({ minimum: 1000, default: 30_000 }),
  /** Webhook deliveries: tries each, the first wait between tries (doubled each time), per-request timeout. */
  WEBHOOK_ATTEMPTS: Type.Integer({ minimum: 1, default: 8 }),
  WEBHOOK_BACKOFF_MS: Type.Integer({ minimum: 1, default: 2000 }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  /** A webhook whose deliveries failed this many times in a row is disabled. */
  WEBHOOK_DISABLE_AFTER: Type.Integer({ minimum: 1, default: 20 }),
  /** document.updated goes out at most once per this window per document. */
  WEBHOOK_DEBOUNCE_MS: Type.Integer({ minimum: 0, default: 5000 }),
  /**
   * "true": webhooks may go to loopback, private, link-local and other non-public addresses
   * (this machine, its network, cloud metadata). Any workspace owner could then make the
   * server call them; only for a deployment whose every user is trusted.
   */
  WEBHOOK_ALLOW_PRIVATE: Type.Enum(['true', 'false'], { default: 'false' }),
  /**
   * SIGTERM/SIGINT: how long closing (sockets, rooms, committing accepted updates, the
   * database) may take in all before the process gives up and exits 1.
   */
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 30_000 }),
  /** Sockets that send nothing for this long are closed with 1001 (the client reconnects). */
  SOCKET_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 60_000 }),
  /** HS256 secret for user access tokens (issued and verified here). */
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  /** PEM public key (RS256 or ES256) for verifying user tokens, instead of JWT_SECRET. */
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ pattern: '-----BEGIN PUBLIC KEY-----' })),
  /** PEM private key matching JWT_PUBLIC_KEY; without it this node verifies tokens but cannot log users in. */
  JWT_PRIVATE_KEY: Type.Optional(Type.String({ pattern: '-----BEGIN (EC |RSA )?PRIVATE KEY-----' })),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'tandem' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'tandem' }),
  /** How long a user's access token lives; sockets opened with it close then (the refresh token gets the next one). */
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 5, maximum: 86_400, default: 900 }),
  /** How often live sockets' permissions are re-checked after access was taken away somewhere. */
  ACCESS_RECHECK_MS: Type.Integer({ minimum: 100, default: 1000 }),
  /** With REDIS_URL: how often each loaded document is compared with the op log, to repair updates the bus lost. */
  BUS_REPAIR_INTERVAL_MS: Type.Integer({ minimum: 50, default: 1000 }),
  /**
   * Comma-separated browser origins, besides the node's own, allowed for CORS, WebSocket
   * upgrades and /mcp; unset: no CORS, sockets unchecked with AUTH=on (request-origin.ts).
   */
  ALLOWED_ORIGINS: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * Comma-separated host names (no port) this node is reached by, besides the loopback names:
   * checked against Host on /mcp, and on everything with AUTH=off (DNS rebinding).
   */
  ALLOWED_HOSTS: Type.Optional(Type.String({ minLength: 1 })),
  /**
   * Behind a load balancer: which X-Forwarded-For hops to believe for the client's address
   * (rate limits, audit): "true" (all), a number of hops, or comma-separated proxy addresses.
   */
  TRUST_PROXY: Type.Optional(Type.String({ minLength: 1 })),
  /** REST requests per minute, per accepted credential (per IP without one, or with a refused one). */
  RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 1200 }),
  /** Logins and registrations (each runs scrypt) per minute from one IP, whatever token they carry. */
  PASSWORD_RATE_LIMIT_PER_MINUTE: Type.Integer({ minimum: 1, default: 20 }),
  /** Login attempts per account from one address (right or wrong) per window; past it, 429 for that address until the window ends. */
  LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS: Type.Integer({ minimum: 1, default: 10 }),
  /** Login attempts per account from all addresses together per window; past it, 429 until the window ends. */
  LOGIN_ATTEMPTS_PER_ACCOUNT: Type.Integer({ minimum: 1, default: 100 }),
  LOGIN_ATTEMPT_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 }),
  /**
   * New WebSocket connections per minute from one IP; past it: close 1013 (clients retry).
   * Sized for a whole node's clients (5,000 in the benchmarks) reconnecting at once from one
   * address (a NAT, a proxy without TRUST_PROXY) when their node goes away.
   */
  SOCKET_CONNECTIONS_PER_MINUTE: Type.Integer({ minimum: 1, default: 6000 }),
  /** Messages per second per document of a socket (bursts of twice that); past it the socket is read more slowly, never closed. */
  SOCKET_MESSAGES_PER_SECOND: Type.Integer({ minimum: 1, default: 300 }),
  /** Messages per second one /collab socket may send over all its documents (bursts of twice that). */
  COLLAB_SOCKET_MESSAGES_PER_SECOND: Type.Integer({ minimum: 1, default: 1200 }),
  /**
   * Messages read from a socket but not yet handed on past which it is closed 1013: reading
   * stops at the rate, so only a socket that keeps pouring in regardless gets there.
   */
  SOCKET_MAX_QUEUED_MESSAGES: Type.Integer({ minimum: 1, default: 20_000 }),
  /**
   * scrypt's cost N for new password hashes (a power of two; 128·N·8 bytes per hash). The
   * default is OWASP's minimum, 2^17 (128 MiB, about half a second); production refuses less.
   * Lower only for test suites that register many users.
   */
  PASSWORD_SCRYPT_N: Type.Integer({ minimum: 1024, maximum: MAX_SCRYPT_N, default: OWASP_SCRYPT_N }),
  /** Bearer token of the operator for /v1/admin/* (verifying users' email addresses); unset: those routes answer 403. */
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 32 })),
  /** Bearer token for GET /metrics; unset: /metrics answers only direct requests from this machine. */
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16 })),
  /** Awareness client ids one socket may hold per document (a browser tab has one); further new ids are dropped. */
  AWARENESS_MAX_CLIENTS_PER_SOCKET: Type.Integer({ minimum: 1, default: 4 }),
  /** Awareness states one document holds; past it, those renewed longest ago are dropped. */
  AWARENESS_MAX_STATES_PER_DOCUMENT: Type.Integer({ minimum: 1, default: 1000 }),
  /** Bytes (JSON) of all of one document's awareness states; past it, likewise. */
  AWARENESS_MAX_BYTES_PER_DOCUMENT: Type.Integer({ minimum: 1024, default: 1024 * 1024 }),
  /** Bytes (JSON) of one awareness state; a larger state is dropped. */
  AWARENESS_MAX_STATE_BYTES: Type.Integer({ minimum: 256, default: 16 * 1024 }),
  /** MCP sessions one user (all their API keys and tokens together) holds on a node; one more closes their least recently used. */
  MCP_MAX_SESSIONS_PER_USER: Type.Integer({ minimum: 1, default: 20 }),
  /** MCP sessions a node holds in all; past it new ones are refused with 503 (Retry-After). */
  MCP_MAX_SESSIONS_PER_NODE: Type.Integer({ minimum: 1, default: 500 }),
  /** Unrevoked API keys one user may hold; one more is refused with 409 API_KEY_LIMIT. */
  MAX_API_KEYS_PER_USER: Type.Integer({ minimum: 1, default: 100 }),
});

type Env = Static<typeof EnvSchema>;


export interface Config {
  nodeEnv: Env['NODE_ENV'];
  port: number;
  host: string;
  storage: { kind: 'postgres'; url: string } | { kind: 'embedded'; dataDir: string };
  redisUrl: string | undefined;
  auth: 'on' | 'off';
  logLevel: string;
  maxMessageBytes: number;
  maxDocumentBytes: number;
  snapshotEvery: number;
  socketIdleTimeoutMs: number;
  shutdownTimeoutMs: number;
  compaction: { sweepMs: number; keepRawLogHours: number; keepCheckpointDays: number };
  expiry: { afterDays: number; warningDays: number; deletedRetentionDays: number; sweepMs: number };
  jobs: { prefix: string; attempts: number; backoffMs: number; workerConcurrency: number; workerLockMs: number };
  webhooks: { attempts: number; backoffMs: number; timeoutMs: number; disableAfter: number; debounceMs: number; allowPrivate: boolean };
  jwt: JwtConfig;
  accessRecheckMs: number;
  busRepairIntervalMs: number;
  /** null: none listed. */
  allowedOrigins: string[] | null;
  /** null: none listed (the loopback names always pass). */
  allowedHosts: string[] | null;
  /** Fastify's trustProxy: false (the default) believes no X-Forwarded-For. */
  trustProxy: boolean | number | string;
  rateLimitPerMinute: number;
  passwordRateLimitPerMinute: number;
  loginAttemptsPerAccount: number;
  loginAttemptsPerAccountAndAddress: number;
  loginAttemptWindowSeconds: number;
  socketConnectionsPerMinute: number;
  socketMessagesPerSecond: number;
  collabSocketMessagesPerSecond: number;
  socketMaxQueuedMessages: number;
  metricsToken: string | null;
  awareness: { clientsPerConnection: number; statesPerDocument: number; bytesPerDocument: number; bytesPerState: number };
  mcpSessions: { perUser: number; perNode: number };
  maxApiKeysPerUser: number;
  /** ADMIN_TOKEN; null: no operator routes. */
  adminToken: string | null;
  /** scrypt N for new password hashes (PASSWORD_SCRYPT_N). */
  passwordScryptN: number;
}

/** How user access tokens are signed and verified. */
export type JwtConfig = { issuer: string; audience: string; accessTokenTtlSeconds: number } & (
  | { kind: 'secret'; secret: string; generated: boolean }
  | { kind: 'key-pair'; publicKey: string; privateKey: string | undefined }
);

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Strings to numbers for the integer variables, and nothing else: TypeBox's Value.Convert would
 * also turn "80.5" into 80 and "true" into 1, hiding a typo. A non-integer stays a string, so
 * validation reports it.
 */
function convertIntegers(env: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(env).map(([key, raw]) => {
      const schema = EnvSchema.properties[key as keyof Env] as { type?: string };
      return [key, schema.type === 'integer' && /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : raw];
    }),
  );
}

export function loadConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const known: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const raw = env[key];
    if (raw !== undefined && raw !== '') known[key] = raw;
  }
  const value = Value.Default(EnvSchema, convertIntegers(known));
  // One variable at a time: Value.Errors stops after a few errors (TypeBox's maxErrors), and
  // a person fixing a deployment wants the whole list.
  const problems = Object.entries(EnvSchema.properties).flatMap(([key, schema]) => {
    const given = (value as Record<string, unknown>)[key];
    if (given === undefined) return []; // an unset optional variable
    return Value.Errors(schema, given)
      .slice(0, 1).map((error) => {
      const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues;
      return `${key}: ${allowed ? `must be one of ${allowed.join(', ')}` : error.message}`;
    });
  });
  const parsed = value as Env;
  if (parsed.AUTH === 'off' && parsed.NODE_ENV === 'production') {
    problems.push('AUTH: "off" is refused when NODE_ENV=production');
  }
  if (parsed.JWT_SECRET && parsed.JWT_PUBLIC_KEY) {
    problems.push('JWT_SECRET and JWT_PUBLIC_KEY: set one, not both');
  }
  if (parsed.JWT_PRIVATE_KEY && !parsed.JWT_PUBLIC_KEY) {
    problems.push('JWT_PRIVATE_KEY: needs JWT_PUBLIC_KEY');
  }
  if (parsed.NODE_ENV === 'production' && parsed.AUTH === 'on' && !parsed.JWT_SECRET && !parsed.JWT_PUBLIC_KEY) {
    problems.push('JWT_SECRET: required when NODE_ENV=production (or set JWT_PUBLIC_KEY)');
  }
  for (const name of parsed.ALLOWED_HOSTS ? listOf(parsed.ALLOWED_HOSTS) : []) {
    if (!isHostName(name)) problems.push(`ALLOWED_HOSTS: ${JSON.stringify(name)} is not a host name (no scheme, no port: tandem.example.com, [::1])`);
  }
  // Only once it is an integer in range (else already reported above).
  const scryptN = parsed.PASSWORD_SCRYPT_N;
  if (!problems.some((problem) => problem.startsWith('PASSWORD_SCRYPT_N'))) {
    if (!isScryptN(scryptN)) problems.push('PASSWORD_SCRYPT_N: must be a power of two (e.g. 131072 = 2^17)');
    else if (parsed.NODE_ENV === 'production' && scryptN < OWASP_SCRYPT_N) {
      problems.push(`PASSWORD_SCRYPT_N: at least ${OWASP_SCRYPT_N} (2^17, OWASP's minimum) when NODE_ENV=production`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    nodeEnv: parsed.NODE_ENV,
    port: parsed.PORT,
    host: parsed.HOST,
    storage: parsed.DATABASE_URL
      ? { kind: 'postgres', url: parsed.DATABASE_URL }
      : { kind: 'embedded', dataDir: parsed.DATA_DIR },
    redisUrl: parsed.REDIS_URL,
    auth: parsed.AUTH,
    logLevel: parsed.LOG_LEVEL,
    maxMessageBytes: parsed.MAX_MESSAGE_BYTES,
    maxDocumentBytes: parsed.MAX_DOCUMENT_BYTES,
    snapshotEvery: parsed.SNAPSHOT_EVERY,
    socketIdleTimeoutMs: parsed.SOCKET_IDLE_TIMEOUT_MS,
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS,
    compaction: { sweepMs: parsed.COMPACT_SWEEP_MS, keepRawLogHours: parsed.KEEP_RAW_LOG_HOURS, keepCheckpointDays: parsed.KEEP_CHECKPOINT_DAYS },
    expiry: {
      afterDays: parsed.EXPIRE_AFTER_DAYS,
      warningDays: parsed.EXPIRY_WARNING_DAYS,
      deletedRetentionDays: parsed.DELETED_RETENTION_DAYS,
      sweepMs: parsed.EXPIRE_SWEEP_MS,
    },
    jobs: {
      prefix: parsed.JOBS_PREFIX,
      attempts: parsed.JOB_ATTEMPTS,
      backoffMs: parsed.JOB_BACKOFF_MS,
      workerConcurrency: parsed.WORKER_CONCURRENCY,
      workerLockMs: parsed.WORKER_LOCK_MS,
    },
    webhooks: {
      attempts: parsed.WEBHOOK_ATTEMPTS,
      backoffMs: parsed.WEBHOOK_BACKOFF_MS,
      timeoutMs: parsed.WEBHOOK_TIMEOUT_MS,
      disableAfter: parsed.WEBHOOK_DISABLE_AFTER,
      debounceMs: parsed.WEBHOOK_DEBOUNCE_MS,
      allowPrivate: parsed.WEBHOOK_ALLOW_PRIVATE === 'true',
    },
    jwt: jwtConfigOf(parsed),
    accessRecheckMs: parsed.ACCESS_RECHECK_MS,
    busRepairIntervalMs: parsed.BUS_REPAIR_INTERVAL_MS,
    allowedOrigins: parsed.ALLOWED_ORIGINS
      ? parsed.ALLOWED_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean)
      : null,
    allowedHosts: parsed.ALLOWED_HOSTS ? listOf(parsed.ALLOWED_HOSTS).map((name) => name.toLowerCase()) : null,
    trustProxy: trustProxyOf(parsed.TRUST_PROXY),
    rateLimitPerMinute: parsed.RATE_LIMIT_PER_MINUTE,
    passwordRateLimitPerMinute: parsed.PASSWORD_RATE_LIMIT_PER_MINUTE,
    loginAttemptsPerAccount: parsed.LOGIN_ATTEMPTS_PER_ACCOUNT,
    loginAttemptsPerAccountAndAddress: parsed.LOGIN_ATTEMPTS_PER_ACCOUNT_AND_ADDRESS,
    loginAttemptWindowSeconds: parsed.LOGIN_ATTEMPT_WINDOW_SECONDS,
    socketConnectionsPerMinute: parsed.SOCKET_CONNECTIONS_PER_MINUTE,
    socketMessagesPerSecond: parsed.SOCKET_MESSAGES_PER_SECOND,
    collabSocketMessagesPerSecond: parsed.COLLAB_SOCKET_MESSAGES_PER_SECOND,
    socketMaxQueuedMessages: parsed.SOCKET_MAX_QUEUED_MESSAGES,
    metricsToken: parsed.METRICS_TOKEN ?? null,
    awareness: {
      clientsPerConnection: parsed.AWARENESS_MAX_CLIENTS_PER_SOCKET,
      statesPerDocument: parsed.AWARENESS_MAX_STATES_PER_DOCUMENT,
      bytesPerDocument: parsed.AWARENESS_MAX_BYTES_PER_DOCUMENT,
      bytesPerState: parsed.AWARENESS_MAX_STATE_BYTES,
    },
    mcpSessions: { perUser: parsed.MCP_MAX_SESSIONS_PER_USER, perNode: parsed.MCP_MAX_SESSIONS_PER_NODE },
    maxApiKeysPerUser: parsed.MAX_API_KEYS_PER_USER,
    adminToken: parsed.ADMIN_TOKEN ?? null,
    passwordScryptN: parsed.PASSWORD_SCRYPT_N,
  } satisfies Config);
}

/** A bare host name or IP address, as a Host header's name part normalizes to. */
function isHostName(name: string): boolean {
  try {
    return new URL(`http://${name}`).hostname === name.toLowerCase();
  } catch {
    // Not parsable as a host at all.
    return false;
  }
}

function listOf(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter(Boolean);
}

function trustProxyOf(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

/**
 * Without a configured secret (a bare `npm start`), a random one is made for this process:
 * users then log in again after a restart, and several nodes would not accept each other's
 * tokens. main.ts says so at start; production refuses it (above).
 */
function jwtConfigOf(env: Env): JwtConfig {
  const names = { issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE, accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS };
  if (env.JWT_PUBLIC_KEY) return { ...names, kind: 'key-pair', publicKey: env.JWT_PUBLIC_KEY, privateKey: env.JWT_PRIVATE_KEY };
  if (env.JWT_SECRET) return { ...names, kind: 'secret', secret: env.JWT_SECRET, generated: false };
  return { ...names, kind: 'secret', secret: randomBytes(32).toString('base64url'), generated: true };
}
