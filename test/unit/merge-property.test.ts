import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { replaceText } from '../../src/docs/text-diff.ts';

/**
 * The heart of Tandem's promise to agents and people: an agent's change made against an old
 * version never reverts what people typed since. The merge is done as the server does it
 * (src/docs/document-writes.ts): rebuild the base in a fresh Y.Doc, apply the agent's text
 * there as a minimal diff, and merge the resulting update into the live document.
 *
 * "Non-overlapping" here: the base is cut into words; every word is touched by at most one
 * party (a person inserts a marker after it or deletes it, or the agent does), so no two
 * edits claim the same characters. Words and markers are unique, so "contains" is exact.
 * Each word is fenced by characters that occur nowhere else: with repeated text a minimal
 * diff may choose to delete "_4_ beta" where the agent removed "beta_4_ " (the same result
 * on the base), and then a person's concurrent deletion of the next "beta" leaves one
 * behind. That is what any text-diff merge does with repeated text (the agent sends a new
 * text, not its intent); the fences keep this property about genuinely separate edits.
 */

type Action = 'keep' | 'delete' | 'insert';
const WORDS = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'sigma', 'kappa', 'theta'];

const scenario = fc
  .array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 25 })
  .chain((words) =>
    fc.record({
      words: fc.constant(words),
      // Per word: who touches it (0 nobody, 1 the agent, 2.. a person) and how.
      owner: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: words.length, maxLength: words.length }),
      action: fc.array(fc.constantFrom<Action>('keep', 'delete', 'insert'), { minLength: words.length, maxLength: words.length }),
      separators: fc.array(fc.constantFrom(' ', '\n', '\n\n', ', '), { minLength: words.length, maxLength: words.length }),
    }),
  );

describe('an agent change against an old base merged into a live document', () => {
  it('keeps every non-overlapping edit of the people and of the agent', () => {
    fc.assert(
      fc.property(scenario, ({ words, owner, action, separators }) => {
        const fence = (i: number, end: number) => String.fromCharCode(0x4e00 + 2 * i + end);
        const tokens = words.map((word, i) => `${fence(i, 0)}${word}_${i}_${separators[i]}${fence(i, 1)}`);
        const base = tokens.join('');

        // The server holds the base; two people sync it and type concurrently.
        const server = new Y.Doc();
        server.getText('content').insert(0, base);
        const baseState = Y.encodeStateAsUpdate(server);
        const people = [new Y.Doc(), new Y.Doc()];
        for (const person of people) Y.applyUpdate(person, baseState);

        const kept: string[] = [];
        const deleted: string[] = [];
        const markers: [word: string, marker: string][] = [];
        let agentText = '';
        tokens.forEach((token, i) => {
          const who = owner[i]!;
          const what = who === 0 ? 'keep' : action[i]!;
          const word = `${words[i]}_${i}_`;
          const marker = `<${who === 1 ? 'A' : `P${who}`}:${i}>`;
          if (what === 'delete') deleted.push(word);
          else kept.push(word);
          if (what === 'insert') markers.push([word, marker]);
          if (who === 1) agentText += what === 'delete' ? '' : what === 'insert' ? `${token}${marker}` : token;
          else agentText += token;
        });
        const expectedLength =
          tokens.filter((_, i) => !(owner[i] !== 0 && action[i] === 'delete')).join('').length +
          markers.reduce((n, [, marker]) => n + marker.length, 0);
        // People edit from the end so that earlier positions stay valid.
        for (let i = tokens.length - 1; i >= 0; i--) {
          const who = owner[i]!;
          if (who < 2 || action[i] === 'keep') continue;
          const text = people[who - 2]!.getText('content');
          const start = tokens.slice(0, i).join('').length;
          if (action[i] === 'delete') text.delete(start, tokens[i]!.length);
          else text.insert(start + tokens[i]!.length, `<P${who}:${i}>`);
        }
        for (const person of people) Y.applyUpdate(server, Y.encodeStateAsUpdate(person));

        // The agent's change, against the base, by a fresh client.
        const agentDoc = new Y.Doc();
        Y.applyUpdate(agentDoc, baseState);
        const before = Y.encodeStateVector(agentDoc);
        agentDoc.transact(() => replaceText(agentDoc.getText('content'), agentText));
        Y.applyUpdate(server, Y.encodeStateAsUpdate(agentDoc, before));

        const result = server.getText('content').toString();
        for (const word of kept) expect(result).toContain(word);
        for (const word of deleted) expect(result).not.toContain(word);
        for (const [word, marker] of markers) {
          expect(result).toContain(marker);
          expect(result.indexOf(word)).toBeLessThan(result.indexOf(marker));
        }
        expect(result.length).toBe(expectedLength);
      }),
      { numRuns: 300 },
    );
  });
});
