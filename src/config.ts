import Type, { type Static } from 'typebox';
import Value from 'typebox/value';

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
  /** On unload, write a snapshot when the log has grown by this many updates since the last. */
  SNAPSHOT_EVERY: Type.Integer({ minimum: 1, default: 100 }),
  /** Sockets that send nothing for this long are closed with 4408. */
  SOCKET_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 60_000 }),
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
  snapshotEvery: number;
  socketIdleTimeoutMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
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
    snapshotEvery: parsed.SNAPSHOT_EVERY,
    socketIdleTimeoutMs: parsed.SOCKET_IDLE_TIMEOUT_MS,
  } satisfies Config);
}
