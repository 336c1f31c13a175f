import { hashSecret, newSecret } from './secrets.ts';

export interface DocumentKeys {
  readKey: string;
  writeKey: string;
  hashes: { readKeyHash: string; writeKeyHash: string };
}

/** A fresh pair of document keys: shown once to whoever made them, stored as hashes. */
export function newDocumentKeys(): DocumentKeys {
  const readKey = newSecret('documentKey');
  const writeKey = newSecret('documentKey');
  return { readKey, writeKey, hashes: { readKeyHash: hashSecret(readKey), writeKeyHash: hashSecret(writeKey) } };
}
