import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createAnchor, rangeOf, resolveAnchor, type StoredAnchor } from '../../src/docs/comment-anchors.ts';
import { parseMentions } from '../../src/docs/mentions.ts';
import { AppError } from '../../src/errors.ts';
import { markdownFormat } from '../../src/formats/markdown-format.ts';
import { prosemirrorFormat } from '../../src/formats/prosemirror-format.ts';
import { FRAGMENT } from '../../src/formats/prosemirror-schema.ts';

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

const resolved = (doc: Y.Doc, anchor: StoredAnchor) => resolveAnchor(doc, markdownFormat.textMap(doc), anchor);

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
    const anchor = createAnchor(markdownFormat.textMap(doc), rangeOf(content, { quote: 'brown fox' }));
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
    const anchor = createAnchor(markdownFormat.textMap(doc), rangeOf(content, { quote: 'brown fox' }));
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
    const anchor = createAnchor(markdownFormat.textMap(doc), { from: 4, to: 9 }); // "quick"
    const other = roundTrip(doc);
    other.text.insert(4, 'very ');
    other.text.delete(other.text.toString().indexOf(' jumps'), ' jumps'.length);
    text.insert(0, '> ');
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other.doc));
    expect(resolved(roundTrip(doc).doc, anchor)).toEqual({ from: 11, to: 16, text: 'quick' });
  });

  it('an anchor that names nothing this document has is detached', () => {
    const anchor = createAnchor(markdownFormat.textMap(docWith(content).doc), { from: 0, to: 3 });
    expect(resolved(docWith(content).doc, anchor)).toBeNull();
  });
});

describe('comment anchors in rich text: markdown offsets to positions in the fragment and back', () => {
  const content = '# Notes\n\nThe quick **brown** fox.\n\n- [ ] feed the fox';
  const richDoc = () => {
    const doc = new Y.Doc();
    doc.transact(() => prosemirrorFormat.replace(doc, () => content));
    return doc;
  };
  const paragraph = (doc: Y.Doc) => (doc.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).get(0) as Y.XmlText;

  it('anchors a quote that crosses markup to the text itself, and follows it through a person\'s typing', () => {
    const doc = richDoc();
    const map = prosemirrorFormat.textMap(doc);
    expect(map.markdown).toBe(content);
    const anchor = createAnchor(map, rangeOf(map.markdown, { quote: 'quick **brown**' }));
    expect(resolveAnchor(doc, map, anchor)).toEqual({ from: 13, to: 26, text: 'quick **brown' });
    // Someone types at the start of the paragraph, in another replica.
    const other = roundTrip(doc).doc;
    paragraph(other).insert(0, 'Look: ');
    const now = prosemirrorFormat.textMap(other);
    expect(now.markdown).toBe('# Notes\n\nLook: The quick **brown** fox.\n\n- [ ] feed the fox');
    expect(resolveAnchor(other, now, anchor)).toEqual({ from: 19, to: 32, text: 'quick **brown' });
  });

  it('resolves in a document that holds content the schema lacks (its map is made on a copy), which stays as it is', () => {
    const doc = richDoc();
    const anchor = createAnchor(prosemirrorFormat.textMap(doc), rangeOf(content, { quote: 'feed the fox' }));
    paragraph(doc).format(0, 3, { underline: {} });
    // The read shows the words without the mark it does not know; the document keeps the mark.
    const map = prosemirrorFormat.textMap(doc);
    expect(map.markdown).toBe(content);
    expect(resolveAnchor(doc, map, anchor)).toEqual({ from: 41, to: 53, text: 'feed the fox' });
    expect(paragraph(doc).toDelta()[0]).toEqual({ insert: 'The', attributes: { underline: {} } });
  });

  it('refuses a range that holds only markup, and detaches when the text is deleted', () => {
    const doc = richDoc();
    const map = prosemirrorFormat.textMap(doc);
    expect(() => createAnchor(map, rangeOf(map.markdown, { quote: '- [ ] ' }))).toThrow(expect.objectContaining({ code: 'ANCHOR_NOT_FOUND' }));
    const anchor = createAnchor(map, rangeOf(map.markdown, { quote: 'feed the fox' }));
    expect(resolveAnchor(doc, map, anchor)?.text).toBe('feed the fox');
    const item = ((doc.getXmlFragment(FRAGMENT).get(2) as Y.XmlElement).get(0) as Y.XmlElement).get(0) as Y.XmlElement;
    (item.get(0) as Y.XmlText).delete(0, 'feed the fox'.length);
    expect(resolveAnchor(doc, prosemirrorFormat.textMap(doc), anchor)).toBeNull();
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
