import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createSizeGuard } from '../../src/collab/size-guard.ts';
import { contentBytesAtMost, contentBytesOfDoc, contentBytesWith, newContentBytes } from '../../src/docs/yjs-content-size.ts';

/**
 * The size a room keeps of its document (collab/size-guard.ts) follows every transaction from
 * the transaction's own records; it must always equal a full count of the document, or the
 * limit drifts: refusing documents under it, or letting them grow past it.
 */

const PIECES = ['a', 'bc', ' ', '\n', '😀', '日本', '€'];

type Step =
  | { kind: 'insert'; client: number; at: number; piece: number; times: number }
  | { kind: 'delete'; client: number; at: number; length: number }
  | { kind: 'map'; client: number; key: number; value: string | null }
  | { kind: 'array'; client: number; at: number; values: (string | number | boolean)[] }
  | { kind: 'sync' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), client: fc.nat(2), at: fc.nat(), piece: fc.nat(PIECES.length - 1), times: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ kind: fc.constant('delete' as const), client: fc.nat(2), at: fc.nat(), length: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('map' as const), client: fc.nat(2), key: fc.nat(3), value: fc.option(fc.string({ maxLength: 8 }), { nil: null }) }),
  fc.record({
    kind: fc.constant('array' as const),
    client: fc.nat(2),
    at: fc.nat(),
    values: fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.boolean()), { minLength: 1, maxLength: 4 }),
  }),
  fc.constant({ kind: 'sync' as const }),
);

function play(docs: Y.Doc[], steps: Step[], after: () => void): void {
  for (const s of steps) {
    if (s.kind === 'sync') {
      // Each replica sends the others everything they lack, the way sockets and the bus do.
      for (const from of docs) for (const to of docs) if (from !== to) Y.applyUpdate(to, Y.encodeStateAsUpdate(from, Y.encodeStateVector(to)));
    } else {
      const doc = docs[s.client]!;
      const text = doc.getText('content');
      if (s.kind === 'insert') text.insert(s.at % (text.length + 1), PIECES[s.piece]!.repeat(s.times));
      else if (s.kind === 'delete' && text.length > 0) {
        const at = s.at % text.length;
        text.delete(at, Math.min(s.length, text.length - at));
      } else if (s.kind === 'array') {
        const array = doc.getArray('list');
        array.insert(s.at % (array.length + 1), s.values);
      } else if (s.kind === 'map') {
        const map = doc.getMap('other');
        if (s.value === null) map.delete(String(s.key));
        else map.set(String(s.key), s.value);
      }
    }
    after();
  }
}

describe('document content size', () => {
  it('a markdown document counts the UTF-8 bytes of its markdown, characters outside the BMP as 6', () => {
    const doc = new Y.Doc();
    doc.getText('content').insert(0, 'héllo 日本 €');
    expect(contentBytesOfDoc(doc)).toBe(Buffer.byteLength('héllo 日本 €'));
    doc.getText('content').insert(0, '😀');
    expect(contentBytesOfDoc(doc)).toBe(Buffer.byteLength('héllo 日本 €') + 6);
    // Yjs splits the pair into two U+FFFD: still 6.
    doc.getText('content').insert(1, 'a');
    expect(doc.getText('content').toString().startsWith('\uFFFDa\uFFFD')).toBe(true);
    expect(contentBytesOfDoc(doc)).toBe(Buffer.byteLength('héllo 日本 €') + 7);
  });

  it('the running count equals a full count after every transaction, whoever made it', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
        const guard = createSizeGuard(docs[0]!, Number.MAX_SAFE_INTEGER);
        play(docs, steps, () => expect(guard.bytes()).toBe(contentBytesOfDoc(docs[0]!)));
        guard.close();
      }),
      { numRuns: 200 },
    );
  });

  it('an update counts only what the document does not have yet; the exact count on a copy credits its deletions', () => {
    const server = new Y.Doc();
    const client = new Y.Doc();
    client.getText('content').insert(0, 'x'.repeat(1000));
    Y.applyUpdate(server, Y.encodeStateAsUpdate(client));
    // A reconnecting client's sync step 2 repeats everything: nothing of it is new.
    expect(newContentBytes(server, Y.encodeStateAsUpdate(client))).toBe(0);

    const before = Y.encodeStateVector(client);
    client.transact(() => {
      client.getText('content').delete(0, 500);
      client.getText('content').insert(0, 'y'.repeat(100));
    });
    const overtype = Y.encodeStateAsUpdate(client, before);
    expect(newContentBytes(server, overtype)).toBe(100);
    expect(contentBytesWith(server, overtype)).toBe(600);
    expect(contentBytesOfDoc(server)).toBe(1000);
  });

  it('the bound from an update\'s length is never below what it adds, whatever values it carries', () => {
    // Values whose measure is largest for their encoding: control characters (escaped in JSON), booleans, emoji.
    const value = fc.oneof(fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((code) => String.fromCharCode(code)), maxLength: 6 }), fc.boolean(), fc.constant(null), fc.string({ unit: 'grapheme', maxLength: 4 }), fc.double());
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3), value), { minLength: 1, maxLength: 20 }), (writes) => {
        const doc = new Y.Doc();
        for (const [kind, v] of writes) {
          if (kind === 0) doc.getMap('m').set(String(v).slice(0, 3), v);
          else if (kind === 1) doc.getArray('a').push([v]);
          else if (kind === 2) doc.getText('content').insert(0, String(v));
          else doc.getArray('a').push([{ [String(v).slice(0, 2)]: [v] }]);
        }
        const update = Y.encodeStateAsUpdate(doc);
        expect(newContentBytes(new Y.Doc(), update)).toBeLessThanOrEqual(contentBytesAtMost(update));
      }),
      { numRuns: 500 },
    );
  });

  it('the guard admits updates up to the limit, not past it', () => {
    const server = new Y.Doc();
    const guard = createSizeGuard(server, 10);
    const client = new Y.Doc();
    const typed = (text: string) => {
      const before = Y.encodeStateVector(client);
      client.getText('content').insert(client.getText('content').length, text);
      return Y.encodeStateAsUpdate(client, before);
    };
    const first = typed('12345678');
    expect(guard.admits(first)).toBe(true);
    Y.applyUpdate(server, first);
    expect(guard.admits(typed('9A'))).toBe(true);
    expect(guard.admits(typed('9AB'))).toBe(false);
    guard.close();
  });
});
