import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyRing } from './key-ring.ts';

/**
 * Envelope encryption: each document's content is sealed with AES-256-GCM under a data key of
 * its own, and that data key is stored wrapped (sealed the same way) by a master key of the
 * key ring. Rotating a master key rewraps data keys; content is never re-encrypted for it.
 *
 * Every seal binds where the bytes belong (document id, table, column) as associated data, so
 * a row copied into another document or column does not open there.
 */

/** The first byte of everything sealed: a format version, so that a later format can be told apart. */
const FORMAT = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Where sealed bytes belong; it is bound to them and must be the same to open them. */
export interface Placement {
  documentId: string;
  table: string;
  column: string;
}

const associatedData = ({ documentId, table, column }: Placement) => Buffer.from(`tandem\u0000${documentId}\u0000${table}\u0000${column}`);

/** Thrown when sealed bytes do not open: a wrong key, a wrong placement, or bytes changed. */
export class SealBroken extends Error {}

/** Thrown when a wrapped data key names a master key the key ring does not hold. */
export class MissingMasterKey extends Error {
  readonly keyId: string;

  constructor(keyId: string) {
    super(`Encrypted data needs the master key "${keyId}", which ENCRYPTION_KEYS does not hold: add it back (after the current key) and start again`);
    this.keyId = keyId;
  }
}

/** FORMAT, then a random 96-bit nonce, the GCM tag, and the ciphertext. */
export function seal(key: Buffer, plaintext: Uint8Array, placement: Placement): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(associatedData(placement));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.of(FORMAT), nonce, cipher.getAuthTag(), ciphertext]);
}

export function open(key: Buffer, sealed: Uint8Array, placement: Placement): Uint8Array {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES || bytes[0] !== FORMAT) throw new SealBroken('not sealed data of a format this server knows');
  const nonce = bytes.subarray(1, 1 + NONCE_BYTES);
  const tag = bytes.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(associatedData(placement));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES + TAG_BYTES)), decipher.final()]);
  } catch (error) {
    throw new SealBroken('sealed data does not open: a wrong key, a wrong place, or changed bytes', { cause: error });
  }
}

/** A document's data key as stored: the id of the master key that wraps it, and the wrapped key. */
export interface WrappedDataKey {
  keyId: string;
  wrapped: Uint8Array;
}

/** Where a document's data key itself belongs, for its own seal. */
const dataKeyPlacement = (documentId: string): Placement => ({ documentId, table: 'document_keys', column: 'data_key' });

/** A new data key for a document, and the same wrapped by the current master key. */
export function newDataKey(ring: KeyRing, documentId: string): { key: Buffer; stored: WrappedDataKey } {
  const key = randomBytes(32);
  return { key, stored: wrapDataKey(ring, documentId, key) };
}

export function wrapDataKey(ring: KeyRing, documentId: string, key: Buffer): WrappedDataKey {
  return { keyId: ring.current.id, wrapped: seal(ring.current.key, key, dataKeyPlacement(documentId)) };
}

/** The document's data key; MissingMasterKey when its master key is not in the ring. */
export function unwrapDataKey(ring: KeyRing, documentId: string, stored: WrappedDataKey): Buffer {
  const master = ring.byId.get(stored.keyId);
  if (!master) throw new MissingMasterKey(stored.keyId);
  return Buffer.from(open(master, stored.wrapped, dataKeyPlacement(documentId)));
}
