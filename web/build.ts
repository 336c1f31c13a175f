import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'vite';
import config, { WEB_ROOT } from './vite.config.ts';

const DIST = join(WEB_ROOT, 'dist');
/** Written after a successful build: the hash of what it was built from. */
const STAMP = join(DIST, '.sources-hash');
/** Dependency upgrades change the bundles too. */
const LOCKFILE = join(WEB_ROOT, '..', 'package-lock.json');

/**
 * A hash of the sources rather than their times: a checkout of an older commit gives files
 * new times but old contents, and a clock cannot tell which build is current.
 */
async function sourcesHash(): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(WEB_ROOT, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => relative(WEB_ROOT, file).split(sep)[0] !== 'dist')
    .sort();
  for (const file of [...files, LOCKFILE]) {
    hash.update(relative(WEB_ROOT, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex');
}

/** Builds web/dist unless it was built from exactly these sources; says which it did. */
export async function ensureWebBuilt(options: { force?: boolean } = {}): Promise<'built' | 'up to date'> {
  const wanted = await sourcesHash();
  const current = await readFile(STAMP, 'utf8').catch(() => null);
  if (!options.force && current === wanted) return 'up to date';
  await build({ ...config, configFile: false });
  await writeFile(STAMP, wanted);
  return 'built';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  ensureWebBuilt({ force: process.argv.includes('--force') }).then(
    (result) => console.log(`web editor ${result} (web/dist, ${Date.now() - started} ms)`),
    (error: unknown) => {
      console.error('web editor build failed:', error);
      process.exit(1);
    },
  );
}
