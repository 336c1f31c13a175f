import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { DIFF_LIMITS, replaceText, type DiffLimits } from '../../src/docs/text-diff.ts';

/**
 * The heart of Tandem's promise: an agent's change made against an old version never
 * reverts what people typed since. The merge is done as the server does it
 * (src/docs/document-writes.ts): rebuild the base in a fresh Y.Doc (a new client id), turn
 * its text into the agent's with replaceText in one transaction, and apply the update that
 * transaction made to the live document, which people have edited meanwhile.
 *
 * "Non-overlapping" here: the base is a row of segments, each fenced by two characters
 * that occur nowhere else and that nobody edits. Each segment is edited by at most one
 * party (the agent or one person) and only between its fences: an insertion of a marker,
 * a deletion, or both at once. Markers are unique and use characters the base does not,
 * so "the result contains every insertion" is exact. The fences matter: the agent sends a
 * new text, not its intent, so in repeated text ("b b" → "b") a diff may pick the other
 * "b" than the one the agent meant, and a person's concurrent edit of that one then
 * collides with it. That is what any text merge does with repeated text; the fences keep
 * the property about edits that are separate in fact, while the text inside a segment is
 * as repetitive (and as full of emoji) as the generator makes it.
 *
 * Then the result is exactly every segment as its editor left it: every insertion of
 * people and agent is there, everything either deleted is gone, and nothing else moved.
 */

/** Pieces of segment text: few letters (so text repeats), blank lines, markdown, and emoji sharing surrogates. */
const PIECES = ['a', 'b', ' ', '#', '- ', '😀', '😃', '👍🏽', '日'];

type Edit = { at: number; deleteCount: number; insert: boolean };
interface Segment {
  pieces: string[];
  /** 0: nobody; 1: the agent; 2..: person (owner - 2). */
  owner: number;
  edit: Edit;
}

const segment = (people: number, newlines: boolean) =>
  fc
    .array(fc.constantFrom(...PIECES, ...(newlines ? ['\n', '\n\n'] : [])), { maxLength: 8 })
    .chain((pieces) =>
      fc.record({
        pieces: fc.constant(pieces),
        owner: fc.integer({ min: 0, max: 1 + people }),
        edit: fc
          .record({ at: fc.integer({ min: 0, max: pieces.length }), deleteCount: fc.nat(pieces.length), insert: fc.boolean() })
          .map((edit) => ({ ...edit, deleteCount: Math.min(edit.deleteCount, pieces.length - edit.at) })),
      }),
    );

const scenario = (newlines: boolean) =>
  fc.integer({ min: 1, max: 3 }).chain((people) =>
    fc.record({
      people: fc.constant(people),
      segments: fc.array(segment(people, newlines), { minLength: 1, maxLength: 16 }),
      // Where the agent's update lands among the people's, and in which order theirs do.
      agentAt: fc.integer({ min: 0, max: people }),
      reversePeople: fc.boolean(),
    }),
  );

const fence = (index: number, side: 0 | 1) => String.fromCodePoint(0x4e00 + 2 * index + side);
const marker = (owner: number, index: number) => (owner === 1 ? `<A${index}>` : `<P${owner - 2}.${index}>`);

/** The segment's text (fences included) before and after its editor's edit, and where the edit starts. */
function texts(seg: Segment, index: number) {
  const { pieces } = seg;
  const edit = seg.owner === 0 ? { at: 0, deleteCount: 0, insert: false } : seg.edit;
  const inserted = edit.insert ? marker(seg.owner, index) : '';
  const before = pieces.join('');
  const after = [...pieces.slice(0, edit.at), inserted, ...pieces.slice(edit.at + edit.deleteCount)].join('');
  return {
    base: fence(index, 0) + before + fence(index, 1),
    edited: fence(index, 0) + after + fence(index, 1),
    offset: 1 + pieces.slice(0, edit.at).join('').length,
    deleteLength: pieces.slice(edit.at, edit.at + edit.deleteCount).join('').length,
    inserted,
  };
}

function checkMerge(
  { people, segments, agentAt, reversePeople }: { people: number; segments: Segment[]; agentAt: number; reversePeople: boolean },
  separator: string,
  limits: DiffLimits,
) {
  const parts = segments.map(texts);
  const base = parts.map((part) => part.base).join(separator);

  // The base, written by two clients and with a deletion in its history, as a real one would be.
  const server = new Y.Doc();
  const serverText = server.getText('content');
  // Cut between segments: a cut inside an emoji would split it (Yjs would store U+FFFD).
  const half = parts.slice(0, Math.floor(parts.length / 2)).reduce((n, part) => n + part.base.length + separator.length, 0);
  serverText.insert(0, base.slice(half));
  const earlier = new Y.Doc();
  Y.applyUpdate(earlier, Y.encodeStateAsUpdate(server));
  earlier.getText('content').insert(0, `${base.slice(0, half)}<gone>`);
  earlier.getText('content').delete(half, '<gone>'.length);
  Y.applyUpdate(server, Y.encodeStateAsUpdate(earlier));
  expect(serverText.toString()).toBe(base);
  const baseState = Y.encodeStateAsUpdate(server);

  // People sync the base and edit their segments concurrently, from the end so that offsets stay valid.
  const personDocs = Array.from({ length: people }, () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, baseState);
    return doc;
  });
  for (let i = segments.length - 1; i >= 0; i--) {
    const owner = segments[i]!.owner;
    if (owner < 2) continue;
    const { offset, deleteLength, inserted } = parts[i]!;
    const start = parts.slice(0, i).reduce((n, part) => n + part.base.length + separator.length, 0) + offset;
    const text = personDocs[owner - 2]!.getText('content');
    personDocs[owner - 2]!.transact(() => {
      text.delete(start, deleteLength);
      text.insert(start, inserted);
    });
  }

  // The agent's change, computed from the base text alone, made by a fresh client on the base.
  const agentText = parts.map((part, i) => (segments[i]!.owner === 1 ? part.edited : part.base)).join(separator);
  const agentDoc = new Y.Doc();
  Y.applyUpdate(agentDoc, baseState);
  const baseVector = Y.encodeStateVector(agentDoc);
  agentDoc.transact(() => replaceText(agentDoc.getText('content'), agentText, limits));
  expect(agentDoc.getText('content').toString()).toBe(agentText);
  const agentUpdate = Y.encodeStateAsUpdate(agentDoc, baseVector);

  const updates = personDocs.map((doc) => Y.encodeStateAsUpdate(doc, Y.encodeStateVector(server)));
  if (reversePeople) updates.reverse();
  updates.splice(agentAt, 0, agentUpdate);
  for (const update of updates) Y.applyUpdate(server, update);

  const result = serverText.toString();
  for (const [i, part] of parts.entries()) {
    if (part.inserted) expect(result).toContain(part.inserted);
    if (segments[i]!.owner > 0) expect(result).toContain(part.edited);
  }
  expect(result).toBe(parts.map((part, i) => (segments[i]!.owner > 0 ? part.edited : part.base)).join(separator));
}

describe('an agent change against an old base merged into a live document', () => {
  it('keeps every non-overlapping edit of the people and of the agent', () => {
    fc.assert(
      fc.property(scenario(true), (run) => checkMerge(run, '', DIFF_LIMITS)),
      { numRuns: 1000 },
    );
  });

  it('keeps them too when the diff goes line by line and replaces changed lines whole (large documents)', () => {
    // With no character budget every changed line is deleted and inserted whole, which is
    // still exact here because each segment is a line of its own with one editor.
    fc.assert(
      fc.property(scenario(false), (run) => checkMerge(run, '\n', { charWork: 0, lineEdits: DIFF_LIMITS.lineEdits })),
      { numRuns: 500 },
    );
  });
});
