import { pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import { type Config, ConfigError, loadConfig } from './config.ts';

export interface EntryPoint {
  /** Whose entry point this is: `import.meta.url` of the module run by `node`/`tsx`. */
  moduleUrl: string;
  /** For messages: "Tandem", "Tandem worker". */
  name: string;
  /** Logged when SIGTERM or SIGINT arrives. */
  stopping: string;
  start(config: Readonly<Config>, logger: Logger): Promise<{ close(): Promise<void> }>;
}

/**
 * The process around a node or a worker, when its module is the one being run: configuration
 * problems are listed on stderr with exit 1, and the first SIGTERM or SIGINT closes it (exit 0,
 * or 1 if closing fails).
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
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, entry.stopping);
    running.close().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        logger.fatal({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
