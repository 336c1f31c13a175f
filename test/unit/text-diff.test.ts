import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DIFF_LIMITS, replaceText, textChanges, type DiffLimits } from '../../src/formats/text-diff.ts';

function textWith(content: string) {
  const doc = new Y.Doc();
  const text = doc.getText('content');
  text.insert(0, content);
  return { doc, text };
}

/** What one transaction of replaceText adds to the document: characters inserted and deleted. */
function changeSize(from: string, to: string, limits?: DiffLimits) {
  const { doc, text } = textWith(from);
  const before = Y.encodeStateVector(doc);
  doc.transact(() => replaceText(text, to, limits));
  expect(text.toString()).toBe(to);
  const decoded = Y.decodeUpdate(Y.encodeStateAsUpdate(doc, before));
  return {
    inserted: decoded.structs.reduce((n, struct) => n + struct.length, 0),
    deleted: [...decoded.ds.clients.values()].flat().reduce((n, item) => n + item.len, 0),
  };
}

const LINE_MODE: DiffLimits = { charWork: 0, lineEdits: DIFF_LIMITS.lineEdits };
const ALL_LIMITS: [string, DiffLimits][] = [
  ['default limits', DIFF_LIMITS],
  ['line pass, blocks replaced whole', LINE_MODE],
  ['line pass, some blocks by character', { charWork: 40, lineEdits: 50 }],
  ['no line pass either', { charWork: 0, lineEdits: 0 }],
];

/** Characters that stress surrogate pairs: emoji sharing their high surrogate, a skin tone modifier, a ZWJ sequence. */
const TRICKY = ['a', 'b', ' ', '\n', '😀', '😃', '😄', '👍', '🏽', '🏿', '👩‍💻', '日'];
const trickyText = fc.array(fc.constantFrom(...TRICKY), { maxLength: 30 }).map((parts) => parts.join(''));
const LONE_SURROGATE = /\p{Cs}/u;

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
    expect(replaceText(text, '')).toBe(true);
    expect(text.toString()).toBe('');
  });

  it('touches only what changed: the untouched characters keep their Yjs identity', () => {
    expect(changeSize('abcdefghij', 'abcXdefghj')).toEqual({ inserted: 1, deleted: 1 });
    expect(changeSize('# Title\n\nsome text\n', '# Title\n\nsome more text\n')).toEqual({ inserted: 5, deleted: 0 });
  });

  it('never splits a surrogate pair (emoji next to emoji)', () => {
    for (const [from, to] of [
      ['a😀b', 'a😃b'],
      ['😀😀', '😀😃😀'],
      ['😀😃', '😃'],
      ['😃😀', '😃'],
      ['x👍🏽y', 'x👍🏿y'],
      ['👍🏽', '👍'],
      ['😀', ''],
      ['', '😀'],
    ] as const) {
      for (const [, limits] of ALL_LIMITS) {
        const { doc, text } = textWith(from);
        doc.transact(() => replaceText(text, to, limits));
        expect(text.toString()).toBe(to);
        // Yjs turns a split pair into U+FFFD, so the round trip shows any split.
        const copy = new Y.Doc();
        Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
        expect(copy.getText('content').toString()).toBe(to);
      }
    }
  });

  it('leaves an unchanged emoji alone when a neighbour with the same high surrogate changes', () => {
    // 🚀 and 😀 both start with U+D83D: diffed by code unit, the 😀 was deleted and inserted
    // again, so a merged write brought it back for someone who had deleted it meanwhile.
    expect(changeSize('f🚀a😀é', 'fX😀!é')).toEqual({ inserted: 2, deleted: '🚀a'.length });
    expect(changeSize('🚀a😀', 'X😀Y')).toEqual({ inserted: 2, deleted: '🚀a'.length });
  });

  it.each(ALL_LIMITS)('turns any text into any other, emoji included (%s)', (_, limits) => {
    fc.assert(
      fc.property(trickyText, trickyText, (from, to) => {
        const { doc, text } = textWith(from);
        doc.transact(() => replaceText(text, to, limits));
        expect(text.toString()).toBe(to);
        const copy = new Y.Doc();
        Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
        expect(copy.getText('content').toString()).toBe(to);
      }),
      { numRuns: 300 },
    );
  });
});

describe('textChanges', () => {
  it.each(ALL_LIMITS)('is an edit script from the old text to the new one whose chunks are whole characters (%s)', (_, limits) => {
    fc.assert(
      fc.property(trickyText, trickyText, (from, to) => {
        let old = '';
        let result = '';
        for (const [operation, chunk] of textChanges(from, to, limits)) {
          expect(chunk).not.toBe('');
          expect(chunk).not.toMatch(LONE_SURROGATE);
          if (operation !== 1) old += chunk;
          if (operation !== -1) result += chunk;
        }
        expect(old).toBe(from);
        expect(result).toBe(to);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps character precision inside changed lines when it goes line by line', () => {
    const lines = Array.from({ length: 2_000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog`);
    const from = lines.join('\n');
    // Edits at both ends, so the middle between the common ends is the whole text: too much for fast-diff alone.
    const to = lines.map((line, i) => (i % 100 === 0 ? line.replace('quick', 'slow') : line)).join('\n');
    expect(changeSize(from, to)).toEqual({ inserted: 20 * 'slow'.length, deleted: 20 * 'quick'.length });
  });

  it('stays fast on large texts that differ everywhere (fast-diff alone takes minutes on these)', () => {
    const random = (seed: number) => {
      let state = seed;
      return Array.from({ length: 100_000 }, () => {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        return 'abcdefghij klmnop\n'[state % 18];
      }).join('');
    };
    const [from, to] = [random(1), random(2)];
    const started = performance.now();
    const changes = textChanges(from, to);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(changes.filter(([op]) => op !== 1).map(([, chunk]) => chunk).join('')).toBe(from);
    expect(changes.filter(([op]) => op !== -1).map(([, chunk]) => chunk).join('')).toBe(to);
  });

  it('keeps a person’s concurrent edits in a large document diffed line by line', () => {
    const lines = Array.from({ length: 3_000 }, (_, i) => `paragraph ${i} says something`);
    const base = lines.join('\n') + '\n';
    const server = new Y.Doc();
    server.getText('content').insert(0, base);
    const baseState = Y.encodeStateAsUpdate(server);

    // A person deletes a word in the middle and types at the end of another line.
    const person = new Y.Doc();
    Y.applyUpdate(person, baseState);
    const personText = person.getText('content');
    personText.insert(base.indexOf(' something', base.indexOf('paragraph 2000 ')), ' [typed]');
    personText.delete(base.indexOf('paragraph 1500 says') + 'paragraph 1500 '.length, 'says '.length);

    // Meanwhile the agent, from the base, edits the first and the last line.
    const agent = new Y.Doc();
    Y.applyUpdate(agent, baseState);
    const before = Y.encodeStateVector(agent);
    const agentText = base.replace('paragraph 0 says', 'paragraph zero says').replace('paragraph 2999 says', 'last paragraph says');
    agent.transact(() => replaceText(agent.getText('content'), agentText));

    Y.applyUpdate(server, Y.encodeStateAsUpdate(person));
    Y.applyUpdate(server, Y.encodeStateAsUpdate(agent, before));
    const expected = agentText
      .replace('paragraph 1500 says something', 'paragraph 1500 something')
      .replace('paragraph 2000 says something', 'paragraph 2000 says [typed] something');
    expect(server.getText('content').toString()).toBe(expected);
  });
});
