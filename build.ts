import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/**
 * What `npm start` runs, each part built only when its sources changed (`node build.ts` is the
 * prestart; `--force` builds both again):
 * - the server, compiled to plain JavaScript in dist/ (tsconfig.build.json). Node could run the
 *   TypeScript itself, but its type stripper then stays loaded for the life of the process
 *   (about 17 MB of memory, measured) and strips every module again at each start;
 * - the web editor's bundles in web/dist (web/vite.config.ts).
 */

const ROOT = fileURLToPath(new URL('.', import.meta.url));
/** Dependency upgrades change both outputs. */
const LOCKFILE = join(ROOT, 'package-lock.json');
/** Written into each output folder after a successful build: the hash of what it was built from. */
const STAMP = '.sources-hash';

export const SERVER_DIST = join(ROOT, 'dist');
const WEB_ROOT = join(ROOT, 'web');
const WEB_DIST = join(WEB_ROOT, 'dist');

export type BuildResult = 'built' | 'up to date';

/**
 * A hash of the sources rather than their times: a checkout of an older commit gives files
 * new times but old contents, and a clock cannot tell which build is current.
 */
async function sourcesHash(paths: string[], skip: string): Promise<string> {
  const hash = createHash('sha256');
  const files: string[] = [];
  for (const path of paths) {
    const entries = await readdir(path, { recursive: true, withFileTypes: true }).catch(() => null);
    if (!entries) files.push(path); // a file, not a folder
    else files.push(...entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name)));
  }
  for (const file of files.filter((file) => !file.startsWith(skip + sep)).sort()) {
    hash.update(relative(ROOT, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex');
}

/** Runs `build` into `output` unless the stamp there says it was built from exactly `sources`. */
async function buildUnlessCurrent(output: string, sources: string[], build: () => Promise<void>, force: boolean): Promise<BuildResult> {
  const wanted = await sourcesHash([...sources, LOCKFILE], output);
  const current = await readFile(join(output, STAMP), 'utf8').catch(() => null);
  if (!force && current === wanted) return 'up to date';
  await build();
  await writeFile(join(output, STAMP), wanted);
  return 'built';
}

/** dist/src/main.js and dist/workers/main.js, from src/ and workers/. */
export function ensureServerBuilt(options: { force?: boolean } = {}): Promise<BuildResult> {
  const sources = ['src', 'workers', 'tsconfig.json', 'tsconfig.build.json'].map((path) => join(ROOT, path));
  return buildUnlessCurrent(
    SERVER_DIST,
    sources,
    async () => {
      // From scratch, so that nothing compiled from a file since deleted is left behind.
      await rm(SERVER_DIST, { recursive: true, force: true });
      const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
      await promisify(execFile)(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT });
    },
    options.force ?? false,
  );
}

/** web/dist, from web/. */
export function ensureWebBuilt(options: { force?: boolean } = {}): Promise<BuildResult> {
  return buildUnlessCurrent(
    WEB_DIST,
    [WEB_ROOT],
    async () => {
      // Loaded only when there is something to build: importing Vite alone takes a while.
      const [{ build }, { default: config }] = await Promise.all([import('vite'), import('./web/vite.config.ts')]);
      await build({ ...config, configFile: false });
    },
    options.force ?? false,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const force = process.argv.includes('--force');
  const timed = async (what: string, build: () => Promise<BuildResult>) => {
    const started = Date.now();
    const result = await build();
    console.log(`${what} ${result} (${Date.now() - started} ms)`);
  };
  (async () => {
    await timed('server (dist)', () => ensureServerBuilt({ force }));
    await timed('web editor (web/dist)', () => ensureWebBuilt({ force }));
  })().catch((error: unknown) => {
    // tsc prints what it found on stdout.
    const output = (error as { stdout?: string } | null)?.stdout;
    console.error('build failed:', output || error);
    process.exit(1);
  });
}
