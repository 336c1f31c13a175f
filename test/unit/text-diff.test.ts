import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { replaceText } from '../../src/docs/text-diff.ts';

function textWith(content: string) {
  const doc = new Y.Doc();
  const text = doc.getText('content');
  text.insert(0, content);
  return { doc, text };
}

describe('replaceText', () => {
  it('turns the text into the new one and says whether anything changed', () => {
    const { doc, text } = textWith('hello world');
    let changed = false;
    doc.transact(() => {
      changed = replaceText(text, 'hello brave new world');
    });
    expect(changed).toBe(true);
    expect(text.toString()).toBe('hello brave new world');
    expect(replaceText(text, 'hello brave new world')).toBe(false);
  });

  it('touches only what changed: the untouched characters keep their Yjs identity', () => {
    const { doc, text } = textWith('abcdefghij');
    const before = Y.encodeStateVector(doc);
    doc.transact(() => replaceText(text, 'abcXdefghj'));
    const update = Y.encodeStateAsUpdate(doc, before);
    const decoded = Y.decodeUpdate(update);
    // One inserted character and one deletion, not a rewrite of the whole text.
    expect(decoded.structs.reduce((n, struct) => n + struct.length, 0)).toBe(1);
    expect([...decoded.ds.clients.values()].flat().reduce((n, item) => n + item.len, 0)).toBe(1);
  });

  it('never splits a surrogate pair (emoji next to emoji)', () => {
    for (const [from, to] of [
      ['a😀b', 'a😃b'],
      ['😀😀', '😀😃😀'],
      ['x👍🏽y', 'x👍🏿y'],
      ['😀', ''],
    ] as const) {
      const { doc, text } = textWith(from);
      doc.transact(() => replaceText(text, to));
      expect(text.toString()).toBe(to);
      // Every delta is well-formed UTF-16: a lone surrogate would not survive this round trip.
      const copy = new Y.Doc();
      Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
      expect(Buffer.from(copy.getText('content').toString(), 'utf8').toString('utf8')).toBe(to);
    }
  });
});
