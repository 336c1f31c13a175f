import { pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { type Closable, shutdownOnSignal } from './shutdown.ts';

export interface EntryPoint {
  /** Whose entry point this is: `import.meta.url` of the module run by `node`. */
  moduleUrl: string;
  /** For messages: "Tandem", "Tandem worker". */
  name: string;
  /** Logged when SIGTERM or SIGINT arrives. */
  stopping: string;
  start(config: Readonly<Config>, logger: Logger): Promise<Closable>;
}

/**
 * The process around a node or a worker, when its module is the one being run: configuration
 * problems are listed on stderr with exit 1, and the first SIGTERM or SIGINT closes it within
 * SHUTDOWN_TIMEOUT_MS (exit 0; or 1, with what was left undone, when closing fails, takes
 * longer, or a second signal arrives: see shutdownOnSignal).
 */
export function runIfMain(entry: EntryPoint): void {
  if (entry.moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  run(entry).catch((error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(`${error.message}\nSee .env.example for every variable and its default.`);
    } else {
      console.error(`${entry.name} failed to start:`, error);
    }
    process.exit(1);
  });
}

async function run(entry: EntryPoint): Promise<void> {
  const config = loadConfig(process.env);
  const logger = pino({ level: config.logLevel });
  const running = await entry.start(config, logger);
  const stop = shutdownOnSignal({
    target: running,
    timeoutMs: config.shutdownTimeoutMs,
    logger,
    stopping: entry.stopping,
    exit: (code) => process.exit(code),
  });
  // `on`, not `once`: a second signal must reach the handler (which then gives up at once and
  // says what is left) rather than kill the process without a word.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
