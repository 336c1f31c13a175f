import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createAnchor, rangeOf, resolveAnchor, type StoredAnchor } from '../../src/docs/comment-anchors.ts';
import { parseMentions } from '../../src/docs/mentions.ts';
import { AppError } from '../../src/errors.ts';

function docWith(content: string) {
  const doc = new Y.Doc();
  const text = doc.getText('content');
  text.insert(0, content);
  return { doc, text };
}

/** Anchors go through the database as bytes and come back into a different Y.Doc. */
function roundTrip(source: Y.Doc): { doc: Y.Doc; text: Y.Text } {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(source));
  return { doc, text: doc.getText('content') };
}

const resolved = (doc: Y.Doc, anchor: StoredAnchor) => resolveAnchor(doc, doc.getText('content'), anchor);

describe('comment anchors: Yjs relative positions that follow the words', () => {
  const content = 'The quick brown fox jumps.';

  it('finds a quote or takes offsets, and refuses what does not fit the text', () => {
    expect(rangeOf(content, { quote: 'brown fox' })).toEqual({ from: 10, to: 19 });
    expect(rangeOf(content, { from: 4, to: 9 })).toEqual({ from: 4, to: 9 });
    expect(() => rangeOf(content, { quote: 'lazy dog' })).toThrow(expect.objectContaining({ code: 'ANCHOR_NOT_FOUND' }));
    expect(() => rangeOf(content, { from: 20, to: 40 })).toThrow(expect.objectContaining({ code: 'ANCHOR_NOT_FOUND' }));
    const empty = (() => {
      try {
        rangeOf(content, { from: 5, to: 5 });
      } catch (error) {
        return error;
      }
    })();
    expect(empty).toBeInstanceOf(AppError);
    expect((empty as AppError).code).toBe('VALIDATION_FAILED');
  });

  it('text typed before, right at both edges and after stays outside the anchor', () => {
    const { doc, text } = docWith(content);
    const anchor = createAnchor(text, rangeOf(content, { quote: 'brown fox' }));
    text.insert(text.toString().indexOf('fox') + 3, ' cub'); // right after the last word
    text.insert(text.toString().indexOf('brown'), 'very '); // right before the first word
    text.insert(0, 'Look! '); // before
    text.insert(text.length, ' Again.'); // after
    expect(text.toString()).toBe('Look! The quick very brown fox cub jumps. Again.');
    const at = resolved(roundTrip(doc).doc, anchor);
    expect(at).toEqual({ from: 21, to: 30, text: 'brown fox' });
  });

  it('takes in text typed inside, lets go of deleted edges, and detaches when all is deleted', () => {
    const { doc, text } = docWith(content);
    const anchor = createAnchor(text, rangeOf(content, { quote: 'brown fox' }));
    text.insert(text.toString().indexOf(' fox'), ' little');
    expect(resolved(doc, anchor)?.text).toBe('brown little fox');
    text.delete(text.toString().indexOf('brown'), 'brown '.length);
    expect(resolved(doc, anchor)?.text).toBe('little fox');
    text.delete(text.toString().indexOf('little fox'), 'little fox'.length);
    expect(text.toString()).toBe('The quick  jumps.');
    expect(resolved(doc, anchor)).toBeNull();
  });

  it('survives the edits of another replica merged in, and a state rebuilt from an update', () => {
    const { doc, text } = docWith(content);
    const anchor = createAnchor(text, { from: 4, to: 9 }); // "quick"
    const other = roundTrip(doc);
    other.text.insert(4, 'very ');
    other.text.delete(other.text.toString().indexOf(' jumps'), ' jumps'.length);
    text.insert(0, '> ');
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other.doc));
    expect(resolved(roundTrip(doc).doc, anchor)).toEqual({ from: 11, to: 16, text: 'quick' });
  });

  it('an anchor that names nothing this document has is detached', () => {
    const { text } = docWith(content);
    const anchor = createAnchor(text, { from: 0, to: 3 });
    expect(resolved(docWith(content).doc, anchor)).toBeNull();
  });
});

describe('mentions: "@" and an email address', () => {
  it('finds each mentioned email once, lower-cased, in order', () => {
    expect(parseMentions('@Ada@Example.com and @bob@example.org, then @ada@example.com again.')).toEqual([
      'ada@example.com',
      'bob@example.org',
    ]);
  });

  it('a sentence may end right after a mention; markdown around it is fine', () => {
    expect(parseMentions('Thanks @ada@example.com.')).toEqual(['ada@example.com']);
    expect(parseMentions('**@ada@example.com** (@bo.b+x@mail.example.co.uk)')).toEqual(['ada@example.com', 'bo.b+x@mail.example.co.uk']);
  });

  it('a bare email address, an @ inside a word or a handle without a domain is no mention', () => {
    expect(parseMentions('write to ada@example.com or x@bob@example.com; ping @carol or @dave@localhost')).toEqual([]);
  });

  it('stops at 50 people', () => {
    const body = Array.from({ length: 60 }, (_, i) => `@user${i}@example.com`).join(' ');
    expect(parseMentions(body)).toHaveLength(50);
  });
});
