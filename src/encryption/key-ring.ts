/**
 * The master keys of ENCRYPTION_KEYS: `<id>:<base64 of 32 bytes>[,<id>:<key>...]`, the first
 * current. Master keys only wrap documents' data keys (envelope.ts); an old one stays listed
 * until `npm run rotate-keys` has rewrapped everything under the current one.
 */
export interface KeyRing {
  /** The key new data keys are wrapped with. */
  current: { id: string; key: Buffer };
  /** Every key by id, the current one included. */
  byId: ReadonlyMap<string, Buffer>;
}

/** A key id: short, and free of the separators the variable and wrapped keys use. */
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** The key ring, or the problems of the variable's value (every one, for the config report). */
export function parseKeyRing(value: string): KeyRing | { problems: string[] } {
  const problems: string[] = [];
  const byId = new Map<string, Buffer>();
  let current: KeyRing['current'] | undefined;
  for (const [index, entry] of value.split(',').map((part) => part.trim()).entries()) {
    const separator = entry.indexOf(':');
    const id = separator === -1 ? '' : entry.slice(0, separator);
    const encoded = entry.slice(separator + 1);
    if (!KEY_ID.test(id)) {
      problems.push(`key ${index + 1}: needs an id of 1 to 32 letters, digits, - or _ before ":" (e.g. k2026:<key>)`);
      continue;
    }
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
      problems.push(`key ${id}: must be 32 random bytes in base64 (openssl rand -base64 32)`);
      continue;
    }
    if (byId.has(id)) {
      problems.push(`key ${id}: given twice`);
      continue;
    }
    byId.set(id, key);
    current ??= { id, key };
  }
  if (problems.length > 0 || !current) return { problems: problems.length > 0 ? problems : ['no key given'] };
  return { current, byId };
}
