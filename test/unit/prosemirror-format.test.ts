import { tests as commonmarkExamples } from 'commonmark-spec';
import MarkdownIt from 'markdown-it';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { changeAgainstBase } from '../../src/docs/base-change.ts';
import { docFromUpdates } from '../../src/docs/yjs-state.ts';
import { AppError } from '../../src/errors.ts';
import { richTextMarkdown } from '../../src/formats/prosemirror-markdown.ts';
import { prosemirrorFormat } from '../../src/formats/prosemirror-format.ts';
import { FRAGMENT, richTextSchema } from '../../src/formats/prosemirror-schema.ts';

/**
 * Rich-text documents read and written as markdown (INTERFACE.md, "Rich-text documents"):
 * what the schema holds survives markdown → fragment → markdown; what it cannot hold is
 * refused by name; a write changes only the nodes it must.
 */

const richText = richTextMarkdown(richTextSchema());
/** The parsed document and its markdown, without the rendering's ranges. */
const markdown = {
  parse: (text: string) => richText.parse(text).doc,
  serialize: (doc: Parameters<typeof richText.serialize>[0]) => richText.serialize(doc).text,
};
const commonmark = MarkdownIt('commonmark', { html: true }).enable('strikethrough');

function unsupportedMessage(input: string): string {
  try {
    markdown.parse(input);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('UNSUPPORTED_MARKDOWN');
    return (error as AppError).message;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

/** Documents as agents and people write them: each must come back exactly as it is. */
const README_LIKE = [
  `# Tandem

A real-time collaboration server where people and **AI agents** edit the same documents.
It speaks *y-websocket* and Hocuspocus, and keeps every update in \`Postgres\`.

## Quick start

1. Install with \`npm ci\`.
2. Run \`npm start\`.
3. Open [the editor](http://127.0.0.1:1234/ "Tandem").

\`\`\`sh
npm ci && npm start
\`\`\`

## Tasks

- [x] Markdown documents
- [ ] Rich-text documents
  - [ ] Tiptap in the editor

> Every write is durable before it is acknowledged.
> Nothing acknowledged is ever lost.

---

![The editor](https://example.com/editor.png)

Text with ~~strike~~, a hard\\
break, and a final line.`,
  `## Notes

- one
- two
  - nested *italic*
  - nested **bold**
- three

0. zero-based
1. list

Plain paragraph with AT&T, R&D and a < b.`,
];

describe('markdown of rich-text documents', () => {
  it.each(README_LIKE.map((text, index) => [index, text]))('writes back README-like document %i exactly as it was', (_, text) => {
    expect(markdown.serialize(markdown.parse(text))).toBe(text);
  });

  it('keeps every CommonMark example the schema holds: it reads back the same, and renders the same HTML but for the listed normalisations', () => {
    /** Examples whose HTML changes, each for a reason the schema cannot avoid. */
    const normalised = new Map<number, string>([
      ...[81, 82, 95].map((n) => [n, 'a setext heading written on several lines becomes one ATX line'] as const),
      ...[109, 306, 311, 313, 314, 315, 317, 320, 321, 326].map((n) => [n, 'a loose list comes out tight: the schema does not keep which it was'] as const),
      ...[369, 373, 389, 407, 408, 409, 417, 419, 425, 426, 427, 461, 463, 464, 465, 466, 468].map(
        (n) => [n, 'emphasis nested in the same emphasis is one mark in ProseMirror'] as const,
      ),
      ...[484, 487].map((n) => [n, 'a link with no text has nothing to carry its mark'] as const),
      // The document keeps "[foo](uri2)" as the alt text; markdown-it's HTML renderer leaves
      // escaped characters out of an alt attribute, so the HTML of the written form differs.
      [520, "escaped brackets in an image's alt text"],
    ]);
    let held = 0;
    const changed: number[] = [];
    for (const example of commonmarkExamples) {
      let doc;
      try {
        doc = markdown.parse(example.markdown);
      } catch (error) {
        expect((error as AppError).code, `example ${example.number}`).toBe('UNSUPPORTED_MARKDOWN');
        continue;
      }
      held += 1;
      const written = markdown.serialize(doc);
      expect(markdown.parse(written).eq(doc), `example ${example.number} reads back the same`).toBe(true);
      if (commonmark.render(written) !== commonmark.render(example.markdown)) changed.push(example.number);
    }
    // Most of the spec maps onto the schema (the rest is HTML and lists that start with a block).
    expect(held).toBeGreaterThan(550);
    expect(changed.filter((number) => !normalised.has(number))).toEqual([]);
  });

  it('refuses what the schema cannot hold, naming it, instead of dropping it', () => {
    expect(unsupportedMessage('| a | b |\n|---|---|\n| 1 | 2 |')).toContain('a table (line 1)');
    expect(unsupportedMessage('Intro\n\n<div>raw</div>')).toContain('an HTML block (line 3)');
    expect(unsupportedMessage('Some <b>bold</b> text')).toContain('inline HTML');
    expect(unsupportedMessage('- # A heading in a list item')).toContain('a list item that starts with something other than text (heading)');
    // What the schema would change silently: Tiptap's code mark carries no other mark, and
    // the fragment keeps no marks on images (a README badge would lose its link).
    expect(unsupportedMessage('Some **`bold code`** here')).toContain('code inside bold');
    expect(unsupportedMessage('See [`the API`](https://example.com/api).')).toContain('code inside a link');
    expect(unsupportedMessage('[![build](https://ci.example/badge.svg)](https://ci.example)')).toContain('an image inside a link');
    // markdown-it stops reading blocks nested deeper than its limit.
    expect(unsupportedMessage(`${'>'.repeat(60)} deep secret`)).toContain('nested more than');
  });

  it('reads a task marker as a marker even where a reference definition would make it a link, and keeps a code block\'s blank last line', () => {
    expect(markdown.serialize(markdown.parse('- [x] done\n\n[x]: https://example.com/elsewhere'))).toBe('- [x] done');
    expect(markdown.serialize(markdown.parse('```\ncode\n\n```'))).toBe('```\ncode\n\n```');
  });

  it('splits a list that mixes task items and plain items where the kind changes, keeping every item', () => {
    const doc = markdown.parse('- plain one\n- [ ] a task\n- [x] done\n- plain two\n  - nested');
    expect(doc.content.content.map((list) => [list.type.name, list.childCount])).toEqual([
      ['bulletList', 1],
      ['taskList', 2],
      ['bulletList', 1],
    ]);
    expect(markdown.serialize(doc)).toBe('- plain one\n\n* [ ] a task\n* [x] done\n\n- plain two\n  - nested');
  });

  it('keeps task items, their state and two lists in a row apart', () => {
    const text = '- [ ] open\n- [x] done\n\n* plain\n* list\n\n- another list';
    const doc = markdown.parse(text);
    expect(doc.child(0).type.name).toBe('taskList');
    expect(doc.child(0).child(1).attrs.checked).toBe(true);
    expect(doc.childCount).toBe(3);
    expect(markdown.serialize(doc)).toBe(text);
  });
});

/** A Y.Doc whose fragment holds `text` (as a person's client would have made it). */
/** The error `action` throws, or undefined. */
function errorOf(action: () => unknown): AppError | undefined {
  try {
    action();
  } catch (error) {
    return error as AppError;
  }
  return undefined;
}

function richDoc(text: string): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => prosemirrorFormat.replace(doc, () => text));
  return doc;
}

describe('writing rich-text documents', () => {
  it('rewrites only the nodes that changed: the others keep their Yjs identity', () => {
    const doc = richDoc('# Title\n\nFirst paragraph.\n\nSecond paragraph.\n\nThird paragraph.');
    const before = doc.getXmlFragment(FRAGMENT).toArray();
    const changed = doc.transact(() => prosemirrorFormat.replace(doc, () => '# Title\n\nFirst paragraph.\n\nSecond paragraph, rewritten.\n\nThird paragraph.'));
    expect(changed).toBe(true);
    const after = doc.getXmlFragment(FRAGMENT).toArray();
    expect(after).toHaveLength(4);
    for (const index of [0, 1, 3]) expect(after[index]).toBe(before[index]);
    expect(prosemirrorFormat.render(doc)).toBe('# Title\n\nFirst paragraph.\n\nSecond paragraph, rewritten.\n\nThird paragraph.');
    expect(doc.transact(() => prosemirrorFormat.replace(doc, () => prosemirrorFormat.render(doc)))).toBe(false);
  });

  it('matches blocks by content: a paragraph added at the top moves no one\'s text into another paragraph', () => {
    const paragraphs = ['The quick brown fox jumps.', 'Budget is approved for Q3.', 'Alice owns the launch plan.', 'Risks: supplier delay.'];
    const text = paragraphs.join('\n\n');
    const textOf = (doc: Y.Doc, start: string) => {
      const element = doc.getXmlFragment(FRAGMENT).toArray().find((child) => (child as Y.XmlElement).toString().includes(start)) as Y.XmlElement;
      return element.get(0) as Y.XmlText;
    };
    // Without a base: the person keeps typing into the paragraph they were in after the write.
    const live = richDoc(text);
    const alice = textOf(live, 'Alice');
    live.transact(() => prosemirrorFormat.replace(live, () => `Summary first.\n\n${text.replace('supplier delay', 'supplier delay (mitigated)')}`));
    alice.insert(alice.length - 1, ' (typed after)');
    expect(prosemirrorFormat.render(live)).toBe(
      'Summary first.\n\nThe quick brown fox jumps.\n\nBudget is approved for Q3.\n\nAlice owns the launch plan (typed after).\n\nRisks: supplier delay (mitigated).',
    );
    // With a base: typing in the base's paragraph, concurrent with the agent's change, stays there.
    const base = richDoc(text);
    const baseUpdates = [Y.encodeStateAsUpdate(base)];
    const person = docFromUpdates(baseUpdates);
    const typed = textOf(person, 'Alice');
    typed.insert(typed.length - 1, ' (typed live)');
    const update = changeAgainstBase(prosemirrorFormat, baseUpdates, (current) => `Summary first.\n\n${current.replace('supplier delay', 'supplier delay (mitigated)')}`);
    Y.applyUpdate(person, update!.update);
    expect(prosemirrorFormat.render(person)).toBe(
      'Summary first.\n\nThe quick brown fox jumps.\n\nBudget is approved for Q3.\n\nAlice owns the launch plan (typed live).\n\nRisks: supplier delay (mitigated).',
    );
  });

  it('leaves alone what it cannot render: a text directly under the fragment neither breaks a read nor is deleted by a write', () => {
    const doc = richDoc('One paragraph.');
    doc.getXmlFragment(FRAGMENT).insert(0, [new Y.XmlText('stray text')]);
    expect(prosemirrorFormat.render(doc)).toBe('One paragraph.');
    doc.transact(() => prosemirrorFormat.replace(doc, () => 'One paragraph.\n\nAnd another.'));
    expect(prosemirrorFormat.render(doc)).toBe('One paragraph.\n\nAnd another.');
    expect((doc.getXmlFragment(FRAGMENT).get(0) as Y.XmlText).toString()).toBe('stray text');
  });

  it("leaves alone what other clients wrote that does not fit: reads neither fail nor change it, writes elsewhere keep it, rewriting its block is refused", () => {
    const first = (doc: Y.Doc) => doc.getXmlFragment(FRAGMENT).get(0) as Y.XmlElement;
    const text = (doc: Y.Doc) => first(doc).get(0) as Y.XmlText;
    const element = (name: string, children: (Y.XmlElement | Y.XmlText)[] = [], attrs: Record<string, unknown> = {}) => {
      const made = new Y.XmlElement(name);
      for (const [key, value] of Object.entries(attrs)) made.setAttribute(key, value as string);
      made.insert(0, children);
      return made;
    };
    // Elements that do not fit the schema: left out of reads, never touched by a write.
    const misfits: [string, () => Y.XmlElement][] = [
      ['an element the schema lacks', () => element('table', [element('paragraph', [new Y.XmlText('cell')])])],
      ['a document inside the document', () => element('doc', [element('paragraph', [new Y.XmlText('inner')])])],
      ["an element named 'text'", () => element('text')],
      ['a paragraph in a paragraph', () => element('paragraph', [element('paragraph', [new Y.XmlText('nested')])])],
      ['a list holding text', () => element('bulletList', [new Y.XmlText('loose')])],
      ['a heading of level 9', () => element('heading', [new Y.XmlText('Deep')], { level: 9 })],
    ];
    for (const [what, misfit] of misfits) {
      const doc = richDoc('Some words here.\n\nAnother paragraph.');
      doc.getXmlFragment(FRAGMENT).insert(1, [misfit()]);
      const stored = Y.encodeStateAsUpdate(doc);
      expect(prosemirrorFormat.render(doc), what).toBe('Some words here.\n\nAnother paragraph.');
      expect(prosemirrorFormat.textMap(doc).markdown, what).toBe('Some words here.\n\nAnother paragraph.');
      expect(Y.encodeStateAsUpdate(doc), `${what}: reading changes nothing`).toEqual(stored);
      const kept = (doc.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).toString();
      doc.transact(() => prosemirrorFormat.replace(doc, () => 'Some words, changed.\n\nAnother paragraph.\n\nAnd a new one.'));
      expect(prosemirrorFormat.render(doc), what).toBe('Some words, changed.\n\nAnother paragraph.\n\nAnd a new one.');
      expect(doc.getXmlFragment(FRAGMENT).toArray().map((child) => child.toString()), `${what} is kept`).toContain(kept);
    }
    // Blocks that render without something they hold: shown without it. Their words can be
    // edited, and it stays on the words it was on; a write that would have to rewrite the
    // block whole (to change an element inside it) is refused; a write elsewhere applies.
    const kept: [string, (doc: Y.Doc) => void, string][] = [
      ["the 'underline' mark", (doc) => text(doc).format(0, 4, { underline: {} }), 'Some words here.'],
      ["the 'textAlign' attribute", (doc) => first(doc).setAttribute('textAlign', 'center'), 'Some words here.'],
      ["a 'link' mark without a valid href", (doc) => text(doc).format(0, 4, { link: { href: null } }), 'Some words here.'],
      ["the 'bold' mark together with marks it excludes", (doc) => text(doc).format(0, 4, { code: {}, bold: {} }), '`Some` words here.'],
    ];
    for (const [what, add, reads] of kept) {
      const doc = richDoc('Some words here.\n\nAnother paragraph.');
      add(doc);
      const stored = Y.encodeStateAsUpdate(doc);
      expect(prosemirrorFormat.render(doc), what).toBe(`${reads}\n\nAnother paragraph.`);
      expect(Y.encodeStateAsUpdate(doc), `${what}: reading changes nothing`).toEqual(stored);
      const holding = first(doc).toString();
      doc.transact(() => prosemirrorFormat.replace(doc, () => `${reads.replace('here', 'there')}\n\nAnother paragraph.`));
      expect(prosemirrorFormat.render(doc), what).toBe(`${reads.replace('here', 'there')}\n\nAnother paragraph.`);
      expect(first(doc).toString(), `${what} stays on its words`).toBe(holding.replace('here', 'there'));
    }
    const refusedWhole: [string, (doc: Y.Doc) => void][] = [
      ['an embedded object', (doc) => text(doc).insertEmbed(4, { widget: 1 })],
      ["a 'mention' element it holds", (doc) => first(doc).insert(1, [new Y.XmlElement('mention')])],
      ["the 'width' of a 'image'", (doc) => {
        const image = new Y.XmlElement('image');
        image.setAttribute('src', 'a.png');
        image.setAttribute('width', '300' as string);
        first(doc).insert(1, [image]);
      }],
    ];
    for (const [what, add] of refusedWhole) {
      const doc = richDoc('Some words here.\n\nAnother paragraph.');
      add(doc);
      const stored = Y.encodeStateAsUpdate(doc);
      const reads = prosemirrorFormat.render(doc);
      const refused = errorOf(() => doc.transact(() => prosemirrorFormat.replace(doc, (current) => current.replace('Some', 'Same').replace('.', '!'))));
      expect(refused?.code, what).toBe('UNSUPPORTED_CONTENT');
      expect(refused!.message).toContain(what);
      expect(Y.encodeStateAsUpdate(doc), `${what}: a refused write changes nothing`).toEqual(stored);
      const holding = first(doc).toString();
      doc.transact(() => prosemirrorFormat.replace(doc, () => reads.replace('Another paragraph.', 'Another paragraph, changed.')));
      expect(first(doc).toString(), `${what} is kept`).toBe(holding);
    }
  });

  it('changes, of two equal blocks, the one the writer edited, also in a list, while a person types in the other', () => {
    for (const [text, edited, expected, typedAt] of [
      [
        'Intro\n\nTODO\n\nTODO\n\nEnd',
        'Intro\n\nTODO done\n\nTODO\n\nEnd',
        'Intro\n\nTODO done\n\nTODO typed live\n\nEnd',
        (doc: Y.Doc) => doc.getXmlFragment(FRAGMENT).get(2) as Y.XmlElement,
      ],
      [
        'Intro\n\n- TODO\n- TODO\n\nEnd',
        'Intro\n\n- TODO done\n- TODO\n\nEnd',
        'Intro\n\n- TODO done\n- TODO typed live\n\nEnd',
        (doc: Y.Doc) => ((doc.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).get(1) as Y.XmlElement).get(0) as Y.XmlElement,
      ],
    ] as const) {
      const baseUpdates = [Y.encodeStateAsUpdate(richDoc(text))];
      const live = docFromUpdates(baseUpdates);
      const second = typedAt(live);
      (second.get(0) as Y.XmlText).insert(4, ' typed live');
      const change = changeAgainstBase(prosemirrorFormat, baseUpdates, () => edited);
      change!.requireNothingLost(live);
      Y.applyUpdate(live, change!.update);
      expect(prosemirrorFormat.render(live)).toBe(expected);
      expect(typedAt(live)).toBe(second);
    }
  });

  it("keeps an empty paragraph that markdown cannot show: a person typing into it keeps their words through an agent's write", () => {
    const base = richDoc('First.\n\nLast.');
    // The person pressed Enter after the first paragraph: an empty paragraph, in the base.
    base.getXmlFragment(FRAGMENT).insert(1, [new Y.XmlElement('paragraph')]);
    const baseUpdates = [Y.encodeStateAsUpdate(base)];
    const live = docFromUpdates(baseUpdates);
    (live.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).insert(0, [new Y.XmlText('Typed into the new line.')]);
    const change = changeAgainstBase(prosemirrorFormat, baseUpdates, (current) => current.replace('Last.', 'Last, by the agent.'));
    change!.requireNothingLost(live);
    Y.applyUpdate(live, change!.update);
    expect(prosemirrorFormat.render(live)).toBe('First.\n\nTyped into the new line.\n\nLast, by the agent.');
  });

  it('never loses typing to a change from an older version that moves, joins or re-nests blocks: where it would delete a block someone typed in, it is refused', () => {
    const paragraphs = ['Alpha one.', 'Bravo two.', 'Charlie three.'];
    const baseUpdates = [Y.encodeStateAsUpdate(richDoc(paragraphs.join('\n\n')))];
    for (const [what, next] of [
      ['moves a block', 'Alpha one.\n\nCharlie three.\n\nBravo two.'],
      ['joins two blocks', 'Alpha one.\n\nBravo two. Charlie three.'],
      ['puts a block in a list', 'Alpha one.\n\n- Bravo two.\n\nCharlie three.'],
    ] as const) {
      const change = changeAgainstBase(prosemirrorFormat, baseUpdates, () => next)!;
      let refusals = 0;
      paragraphs.forEach((words, index) => {
        // A person types at the start of one paragraph on the live document; the change has not seen it.
        const live = docFromUpdates(baseUpdates);
        ((live.getXmlFragment(FRAGMENT).get(index) as Y.XmlElement).get(0) as Y.XmlText).insert(0, 'Typed: ');
        const refused = errorOf(() => change.requireNothingLost(live));
        if (refused) {
          refusals += 1;
          expect(refused!.code, what).toBe('EDIT_CONFLICT');
          expect(refused!.message, what).toContain(`"Typed: ${words}`);
        } else {
          Y.applyUpdate(live, change.update);
          expect(prosemirrorFormat.render(live), `${what}, typing in "${words}"`).toContain('Typed: ');
        }
      });
      expect(refusals, `${what}: the block it re-creates had typing in it once`).toBeGreaterThan(0);
    }
  });

  it("merges two edits of one paragraph from an older version character by character: a person's deletion, bold and typing there since all stay", () => {
    const baseUpdates = [Y.encodeStateAsUpdate(richDoc('alpha beta gamma delta'))];
    const live = docFromUpdates(baseUpdates);
    const text = (live.getXmlFragment(FRAGMENT).get(0) as Y.XmlElement).get(0) as Y.XmlText;
    text.delete('alpha beta '.length, 'gamma '.length);
    text.insert('alpha '.length, 'NEW ');
    text.format('alpha NEW '.length, 'beta'.length, { bold: {} });
    expect(prosemirrorFormat.render(live)).toBe('alpha NEW **beta** delta');
    const change = changeAgainstBase(prosemirrorFormat, baseUpdates, (current) => current.replace('alpha', 'ALPHA').replace('delta', 'DELTA'))!;
    change.requireNothingLost(live);
    Y.applyUpdate(live, change.update);
    expect(prosemirrorFormat.render(live)).toBe('ALPHA NEW **beta** DELTA');
  });

  it('refuses a change from an older version that edits a block a person split, joined, converted or deleted since, instead of misplacing or losing the edit', () => {
    const paragraphs = (doc: Y.Doc) => doc.getXmlFragment(FRAGMENT);
    const textOf = (element: Y.XmlElement) => element.get(0) as Y.XmlText;
    const personActions: [string, (doc: Y.Doc) => void][] = [
      ['splits it', (doc) => {
        // As Tiptap splits a paragraph: the rest of its text moves into a new paragraph after it.
        const first = paragraphs(doc).get(0) as Y.XmlElement;
        textOf(first).delete('one two'.length, ' three four'.length);
        const rest = new Y.XmlElement('paragraph');
        rest.insert(0, [new Y.XmlText('three four')]);
        paragraphs(doc).insert(1, [rest]);
      }],
      ['joins it with the next', (doc) => {
        const [first, second] = paragraphs(doc).toArray() as Y.XmlElement[];
        textOf(second!).insert(0, 'one two three four ');
        paragraphs(doc).delete(0, 1);
        void first;
      }],
      ['turns it into a heading', (doc) => {
        const heading = new Y.XmlElement('heading');
        heading.setAttribute('level', 2 as unknown as string);
        heading.insert(0, [new Y.XmlText('one two three four')]);
        paragraphs(doc).delete(0, 1);
        paragraphs(doc).insert(0, [heading]);
      }],
      ['deletes it', (doc) => paragraphs(doc).delete(0, 1)],
    ];
    const baseUpdates = [Y.encodeStateAsUpdate(richDoc('one two three four\n\nnext paragraph'))];
    const change = changeAgainstBase(prosemirrorFormat, baseUpdates, (current) => current.replace('four', 'FOUR'))!;
    for (const [what, act] of personActions) {
      const live = docFromUpdates(baseUpdates);
      act(live);
      const refused = errorOf(() => change.requireNothingLost(live));
      expect(refused?.code, `the person ${what}`).toBe('EDIT_CONFLICT');
    }
    // A person typing elsewhere in that paragraph is no conflict.
    const live = docFromUpdates(baseUpdates);
    textOf(paragraphs(live).get(0) as Y.XmlElement).insert(0, 'Typed: ');
    change.requireNothingLost(live);
    Y.applyUpdate(live, change.update);
    expect(prosemirrorFormat.render(live)).toBe('Typed: one two three FOUR\n\nnext paragraph');
  });

  it("adds a paragraph above another without taking the other's element, with or without a person typing there", () => {
    const baseUpdates = [Y.encodeStateAsUpdate(richDoc('# Title\n\nfoo bar baz'))];
    const live = docFromUpdates(baseUpdates);
    const paragraph = live.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement;
    (paragraph.get(0) as Y.XmlText).insert('foo bar'.length, ' TYPED');
    const change = changeAgainstBase(prosemirrorFormat, baseUpdates, () => '# Title\n\nnew para\n\nfoo bar baz')!;
    change.requireNothingLost(live);
    Y.applyUpdate(live, change.update);
    expect(prosemirrorFormat.render(live)).toBe('# Title\n\nnew para\n\nfoo bar TYPED baz');
    expect(live.getXmlFragment(FRAGMENT).get(2)).toBe(paragraph);
    for (const [text, added] of [
      ['one\n\nfoo bar baz', 'one\n\nnew\n\nfoo bar baz'],
      ['- one\n- foo bar baz', '- one\n- new\n- foo bar baz'],
    ]) {
      const doc = richDoc(text!);
      const elements = (doc.getXmlFragment(FRAGMENT).toArray() as Y.XmlElement[]).map((element) => element.toString());
      const before = doc.getXmlFragment(FRAGMENT).toArray();
      doc.transact(() => prosemirrorFormat.replace(doc, () => added!));
      expect(prosemirrorFormat.render(doc)).toBe(added);
      if (before.length > 1) expect(doc.getXmlFragment(FRAGMENT).toArray().at(-1)).toBe(before.at(-1));
      expect(elements.length).toBeGreaterThan(0);
    }
  });

  it("refuses a change from an older version that splits, deletes or converts a block where a person's edit would be lost or misplaced; merges where it would not", () => {
    const fragment = (doc: Y.Doc) => doc.getXmlFragment(FRAGMENT);
    const textAt = (doc: Y.Doc, index: number) => (fragment(doc).get(index) as Y.XmlElement).get(0) as Y.XmlText;
    const splitBeforeThree = (doc: Y.Doc) => {
      textAt(doc, 0).delete('one two'.length, ' three four'.length);
      const rest = new Y.XmlElement('paragraph');
      rest.insert(0, [new Y.XmlText('three four')]);
      fragment(doc).insert(1, [rest]);
    };
    const toHeading = (doc: Y.Doc) => {
      const heading = new Y.XmlElement('heading');
      heading.setAttribute('level', 2 as unknown as string);
      heading.insert(0, [new Y.XmlText(textAt(doc, 0).toString())]);
      fragment(doc).delete(0, 1);
      fragment(doc).insert(0, [heading]);
    };
    // What each outcome is: refused, or merged into this.
    const cases: [string, string, (doc: Y.Doc) => void, (markdown: string) => string, string][] = [
      ['the agent deletes a paragraph a person typed in, and edits the next', 'b0 b1 b2 b3\n\nb4 b5 b6', (doc) => textAt(doc, 0).insert(5, ' TYPED'), () => 'b4 NEW b5 b6', 'EDIT_CONFLICT'],
      // A split keeps the paragraph's element for its larger part and makes the other anew.
      ['the agent splits a paragraph, a person typed in the part it keeps', 'one two three four', (doc) => textAt(doc, 0).insert('one two three'.length, ' TYPED'), () => 'one two\n\nthree four', 'one two\n\nthree TYPED four'],
      ['the agent splits a paragraph, a person made bold in the part it keeps', 'one two three four', (doc) => textAt(doc, 0).format('one two three '.length, 4, { bold: {} }), () => 'one two\n\nthree four', 'one two\n\nthree **four**'],
      ['the agent splits a paragraph, a person typed in the part it moves', 'one two three four', (doc) => textAt(doc, 0).insert(3, ' TYPED'), () => 'one two\n\nthree four', 'EDIT_CONFLICT'],
      ['a person split a paragraph, and the agent adds a word to the part that moved', 'one two three four', splitBeforeThree, (markdown) => markdown.replace('three four', 'three and four'), 'EDIT_CONFLICT'],
      ['a person split a paragraph, and the agent appends to it', 'one two three four', splitBeforeThree, (markdown) => markdown.replace('four', 'four five'), 'EDIT_CONFLICT'],
      ['a person split a paragraph, and the agent makes the moved part bold', 'one two three four', splitBeforeThree, (markdown) => markdown.replace('four', '**four**'), 'EDIT_CONFLICT'],
      ['a person made a paragraph a heading, and the agent deletes it', 'convert me\n\nstays', toHeading, () => 'stays', 'EDIT_CONFLICT'],
      ['a person deleted a paragraph, and the agent makes it a heading', 'gone soon\n\nstays', (doc) => fragment(doc).delete(0, 1), (markdown) => `## ${markdown}`, 'EDIT_CONFLICT'],
    ];
    for (const [what, text, person, agent, outcome] of cases) {
      const baseUpdates = [Y.encodeStateAsUpdate(richDoc(text))];
      const live = docFromUpdates(baseUpdates);
      person(live);
      const change = changeAgainstBase(prosemirrorFormat, baseUpdates, agent)!;
      const refused = errorOf(() => change.requireNothingLost(live));
      if (outcome === 'EDIT_CONFLICT') {
        expect(refused?.code, what).toBe('EDIT_CONFLICT');
      } else {
        expect(refused, what).toBeUndefined();
        Y.applyUpdate(live, change.update);
        expect(prosemirrorFormat.render(live), what).toBe(outcome);
      }
    }
  });

  it("keeps a person's typing after a word the agent rewrites after the new word, and a person's bold on the block it was on", () => {
    const merged = (text: string, person: (doc: Y.Doc) => void, agent: string) => {
      const baseUpdates = [Y.encodeStateAsUpdate(richDoc(text))];
      const live = docFromUpdates(baseUpdates);
      person(live);
      const change = changeAgainstBase(prosemirrorFormat, baseUpdates, () => agent)!;
      const refused = errorOf(() => change.requireNothingLost(live));
      if (refused) return refused.code;
      Y.applyUpdate(live, change.update);
      return prosemirrorFormat.render(live);
    };
    const textAt = (doc: Y.Doc, index: number) => (doc.getXmlFragment(FRAGMENT).get(index) as Y.XmlElement).get(0) as Y.XmlText;
    // Whichever client id is larger (Yjs orders concurrent insertions at one place by it).
    for (let round = 0; round < 10; round++) {
      expect(merged('hello world', (doc) => textAt(doc, 0).insert('hello world'.length, ' again'), 'hello earth')).toBe('hello earth again');
      // A paragraph rewritten whole is a new paragraph: typing in the old one is refused, not glued on.
      expect(merged('b0', (doc) => textAt(doc, 0).insert(2, ' p6 p5'), 'a21')).toBe('EDIT_CONFLICT');
    }
    // Moving one block and rewriting the other: the bold stays on its words, or the write is refused.
    const moved = merged('b0\n\nb1', (doc) => textAt(doc, 0).format(0, 2, { bold: {} }), 'b1 a22\n\nb0');
    expect(['EDIT_CONFLICT', 'b1 a22\n\n**b0**']).toContain(moved);
    const typedMoved = merged('b0\n\nb1', (doc) => textAt(doc, 0).insert(2, ' typed'), 'b1 a22\n\nb0');
    expect(['EDIT_CONFLICT', 'b1 a22\n\nb0 typed']).toContain(typedMoved);
    // Replacing a word someone made bold is refused (README: text someone formatted).
    expect(merged('b0 b1', (doc) => textAt(doc, 0).format(3, 2, { bold: {} }), 'b0 a16')).toBe('EDIT_CONFLICT');
    // One level down, in a quote: a paragraph added above another does not take its place.
    const quoted = merged('> q1\n>\n> q2', (doc) => {
      const quote = doc.getXmlFragment(FRAGMENT).get(0) as Y.XmlElement;
      ((quote.get(1) as Y.XmlElement).get(0) as Y.XmlText).insert(2, ' P');
    }, '> q1\n>\n> new\n>\n> q2');
    expect(quoted).toBe('> q1\n>\n> new\n>\n> q2 P');
  });

  it('keeps a block a person adds after one the agent converts after what replaces it, whichever client id is larger', () => {
    for (let round = 0; round < 20; round++) {
      const baseUpdates = [Y.encodeStateAsUpdate(richDoc('# head\n\ntail'))];
      const live = docFromUpdates(baseUpdates);
      const added = new Y.XmlElement('paragraph');
      added.insert(0, [new Y.XmlText('person new')]);
      live.getXmlFragment(FRAGMENT).insert(1, [added]);
      const change = changeAgainstBase(prosemirrorFormat, baseUpdates, () => 'head\n\ntail')!;
      change.requireNothingLost(live);
      Y.applyUpdate(live, change.update);
      expect(prosemirrorFormat.render(live), `round ${round}`).toBe('head\n\nperson new\n\ntail');
    }
  });

  it('puts a block the writer turned into another kind where it was, not after the paragraph a person is typing into next to it', () => {
    const base = richDoc('AAA\n\nBBB');
    base.getXmlFragment(FRAGMENT).insert(1, [new Y.XmlElement('paragraph')]);
    const baseUpdates = [Y.encodeStateAsUpdate(base)];
    const live = docFromUpdates(baseUpdates);
    (live.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement).insert(0, [new Y.XmlText('typed into the empty one')]);
    const change = changeAgainstBase(prosemirrorFormat, baseUpdates, (current) => current.replace('AAA', '## AAA').replace('BBB', 'BBB, edited'))!;
    change.requireNothingLost(live);
    Y.applyUpdate(live, change.update);
    expect(prosemirrorFormat.render(live)).toBe('## AAA\n\ntyped into the empty one\n\nBBB, edited');
  });

  it('never rewrites a block the writer left as it was, even one that does not read back as itself, and writing back the rendering changes nothing', () => {
    const element = (name: string, text: string, attrs: Record<string, unknown> = {}) => {
      const made = new Y.XmlElement(name);
      for (const [key, value] of Object.entries(attrs)) made.setAttribute(key, value as string);
      if (text) made.insert(0, [new Y.XmlText(text)]);
      return made;
    };
    const image = (src: string) => {
      const paragraph = new Y.XmlElement('paragraph');
      paragraph.insert(0, [element('image', '', { src })]);
      return paragraph;
    };
    const linked = (href: string) => {
      const text = new Y.XmlText();
      text.insert(0, 'x', { link: { href } });
      const paragraph = new Y.XmlElement('paragraph');
      paragraph.insert(0, [text]);
      return paragraph;
    };
    const odd: [string, () => Y.XmlElement][] = [
      ['a paragraph ending in a space', () => element('paragraph', 'Hello ')],
      ['a paragraph of spaces', () => element('paragraph', '   ')],
      ['a paragraph indented four spaces', () => element('paragraph', '    four spaces')],
      ['a setext underline in a paragraph', () => element('paragraph', 'a\n===')],
      ['a blank line in a paragraph', () => element('paragraph', 'line a\n\nline b')],
      ['a line break in a heading', () => element('heading', 'one\ntwo', { level: 2 })],
      ['a carriage return', () => element('paragraph', 'a\rb')],
      ['an image whose address has a space', () => image('a b.png')],
      ['a link whose address has a space', () => linked('a b')],
      ['code with spaces around it', () => {
        const text = new Y.XmlText();
        text.insert(0, ' x ', { code: {} });
        const paragraph = new Y.XmlElement('paragraph');
        paragraph.insert(0, [text]);
        return paragraph;
      }],
    ];
    for (const [what, make] of odd) {
      const doc = richDoc('top\n\nbottom');
      const block = make();
      doc.getXmlFragment(FRAGMENT).insert(1, [block]);
      const held = block.toString();
      const stored = Y.encodeStateAsUpdate(doc);
      expect(doc.transact(() => prosemirrorFormat.replace(doc, (current) => current)), what).toBe(false);
      expect(Y.encodeStateAsUpdate(doc), `${what}: its own rendering written back`).toEqual(stored);
      // Edited right after it, where a diff is most likely to take it along.
      doc.transact(() => prosemirrorFormat.replace(doc, (current) => current.replace('bottom', 'Bottom, edited')));
      expect(prosemirrorFormat.render(doc).endsWith('Bottom, edited'), what).toBe(true);
      const children = doc.getXmlFragment(FRAGMENT).toArray();
      expect(children[1], `${what} keeps its element`).toBe(block);
      expect(block.toString(), `${what} is as it was`).toBe(held);
    }
  });

  it('leaves alone a block nested deeper than markdown reads back (a raw client nested 5,000 quotes): reads and writes elsewhere work', () => {
    const doc = richDoc('top\n\nbottom');
    // One level at a time, as the updates of a raw client arrive (Yjs integrates a nested
    // element given whole by recursion, which would overflow the stack here first).
    const outer = new Y.XmlElement('blockquote');
    doc.getXmlFragment(FRAGMENT).insert(1, [outer]);
    let inner = outer;
    for (let depth = 0; depth < 5_000; depth++) {
      const quote = new Y.XmlElement('blockquote');
      inner.insert(0, [quote]);
      inner = quote;
    }
    const paragraph = new Y.XmlElement('paragraph');
    inner.insert(0, [paragraph]);
    paragraph.insert(0, [new Y.XmlText('deep')]);
    expect(prosemirrorFormat.render(doc)).toBe('top\n\nbottom');
    doc.transact(() => prosemirrorFormat.replace(doc, (current) => current.replace('bottom', 'bottom, edited')));
    expect(prosemirrorFormat.render(doc)).toBe('top\n\nbottom, edited');
    expect(doc.getXmlFragment(FRAGMENT).get(1)).toBe(outer);
  });

  it('refuses unsupported markdown before touching the document', () => {
    const doc = richDoc('Kept as it is.');
    const state = Y.encodeStateVector(doc);
    expect(() => doc.transact(() => prosemirrorFormat.replace(doc, () => 'Kept\n\n<table></table>'))).toThrow(AppError);
    expect(Y.encodeStateVector(doc)).toEqual(state);
  });

  it("merges an agent's change made on an older version with what a person typed since, in another paragraph", () => {
    const base = richDoc('# Plan\n\nAlpha paragraph.\n\n## Later\n\nOmega paragraph.');
    const baseUpdates = [Y.encodeStateAsUpdate(base)];
    // The person, on the live document, types into the first paragraph.
    const live = docFromUpdates(baseUpdates);
    const alpha = live.getXmlFragment(FRAGMENT).get(1) as Y.XmlElement;
    (alpha.get(0) as Y.XmlText).insert('Alpha'.length, ' (typed live)');
    const untouched = live.getXmlFragment(FRAGMENT).get(3);
    // The agent rewrites the last section against the base, which has not seen the typing.
    const update = changeAgainstBase(prosemirrorFormat, baseUpdates, (text) => text.replace('Omega paragraph.', 'Omega, patched by an agent.'));
    expect(update).not.toBeNull();
    Y.applyUpdate(live, update!.update);
    expect(prosemirrorFormat.render(live)).toBe('# Plan\n\nAlpha (typed live) paragraph.\n\n## Later\n\nOmega, patched by an agent.');
    expect(live.getXmlFragment(FRAGMENT).get(1)).toBe(alpha);
    expect(live.getXmlFragment(FRAGMENT).get(3)).toBe(untouched);
  });
});
