/** The read and write keys of one document, as far as this browser knows them. */
export interface DocumentKeys {
  readKey?: string | undefined;
  writeKey?: string | undefined;
}

const storageKey = (documentId: string) => `tandem.keys.${documentId}`;

/**
 * Tandem shows a document's keys once (at creation or rotation) and stores only their hashes,
 * so the share panel can offer only links this browser has seen: kept here.
 */
export function knownKeys(documentId: string): DocumentKeys {
  try {
    return JSON.parse(localStorage.getItem(storageKey(documentId)) ?? '{}') as DocumentKeys;
  } catch {
    return {};
  }
}

export function rememberKeys(documentId: string, keys: DocumentKeys): DocumentKeys {
  const merged = { ...knownKeys(documentId), ...Object.fromEntries(Object.entries(keys).filter(([, key]) => key)) };
  localStorage.setItem(storageKey(documentId), JSON.stringify(merged));
  return merged;
}

/** The key travels in the fragment: browsers never send it to a server, nor in a Referer. */
export function editorLink(documentId: string, key?: string): string {
  const base = `${location.origin}/d/${encodeURIComponent(documentId)}`;
  return key ? `${base}#key=${encodeURIComponent(key)}` : base;
}

/** The `#key=` of the current page, if any. */
export function keyFromFragment(hash: string = location.hash): string | null {
  const key = new URLSearchParams(hash.replace(/^#/, '')).get('key');
  return key && key.length > 0 ? key : null;
}
