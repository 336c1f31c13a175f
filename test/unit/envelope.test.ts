import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MissingMasterKey, newDataKey, open, seal, SealBroken, unwrapDataKey, wrapDataKey } from '../../src/encryption/envelope.ts';
import { type KeyRing, parseKeyRing } from '../../src/encryption/key-ring.ts';

const keyText = () => randomBytes(32).toString('base64');
const ringOf = (value: string): KeyRing => {
  const ring = parseKeyRing(value);
  if ('problems' in ring) throw new Error(ring.problems.join('; '));
  return ring;
};
const place = { documentId: 'doc-1', table: 'document_updates', column: 'update' };

describe('envelope encryption', () => {
  it('opens what it sealed, and the sealed bytes hold nothing of the plaintext', () => {
    const key = randomBytes(32);
    const plaintext = Buffer.from('MARKER-secret-plan '.repeat(10));
    const sealed = seal(key, plaintext, place);
    expect(Buffer.from(sealed).includes('MARKER')).toBe(false);
    expect(Buffer.from(open(key, sealed, place)).equals(plaintext)).toBe(true);
  });

  it('uses a new nonce each time: the same plaintext seals differently', () => {
    const key = randomBytes(32);
    const seen = new Set(Array.from({ length: 1000 }, () => Buffer.from(seal(key, Buffer.from('same'), place)).toString('hex')));
    expect(seen.size).toBe(1000);
  });

  it('refuses bytes moved to another document, table or column, changed by one bit, or opened with another key', () => {
    const key = randomBytes(32);
    const sealed = seal(key, Buffer.from('content'), place);
    expect(() => open(key, sealed, { ...place, documentId: 'doc-2' })).toThrow(SealBroken);
    expect(() => open(key, sealed, { ...place, table: 'document_snapshots' })).toThrow(SealBroken);
    expect(() => open(key, sealed, { ...place, column: 'state' })).toThrow(SealBroken);
    for (const at of [1, 14, 30, sealed.length - 1]) {
      const flipped = Buffer.from(sealed);
      flipped[at]! ^= 1;
      expect(() => open(key, flipped, place), `bit flipped at ${at}`).toThrow(SealBroken);
    }
    expect(() => open(randomBytes(32), sealed, place)).toThrow(SealBroken);
    expect(() => open(key, sealed.subarray(0, 20), place)).toThrow(SealBroken);
  });

  it('wraps a data key under the current master key, unwraps it under any key of the ring, and names a key it lacks', () => {
    const old = ringOf(`k1:${keyText()}`);
    const { key, stored } = newDataKey(old, 'doc-1');
    expect(stored.keyId).toBe('k1');
    expect(unwrapDataKey(old, 'doc-1', stored).equals(key)).toBe(true);
    // Rotation: a new current key; the old one still opens what it wrapped, and rewrapping moves it over.
    const both = ringOf(`k2:${keyText()},k1:${[...old.byId.values()][0]!.toString('base64')}`);
    expect(unwrapDataKey(both, 'doc-1', stored).equals(key)).toBe(true);
    const rewrapped = wrapDataKey(both, 'doc-1', key);
    expect(rewrapped.keyId).toBe('k2');
    const newOnly = ringOf(`k2:${both.current.key.toString('base64')}`);
    expect(unwrapDataKey(newOnly, 'doc-1', rewrapped).equals(key)).toBe(true);
    expect(() => unwrapDataKey(newOnly, 'doc-1', stored)).toThrow(MissingMasterKey);
    expect(() => unwrapDataKey(newOnly, 'doc-1', stored)).toThrow(/"k1"/);
    // A wrapped key belongs to its document.
    expect(() => unwrapDataKey(old, 'doc-2', stored)).toThrow(SealBroken);
  });

  it('parses ENCRYPTION_KEYS and lists every problem', () => {
    expect(ringOf(`a:${keyText()}, b_2:${keyText()}`).current.id).toBe('a');
    const parsed = parseKeyRing(`:${keyText()},short:${Buffer.alloc(16).toString('base64')},bad id:${keyText()},x:${keyText()},x:${keyText()},y:not base64!`);
    expect('problems' in parsed && parsed.problems).toEqual([
      expect.stringContaining('key 1'),
      expect.stringContaining('key short'),
      expect.stringContaining('key 3'),
      expect.stringContaining('key x: given twice'),
      expect.stringContaining('key y'),
    ]);
  });
});
