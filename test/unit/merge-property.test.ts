import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { changeAgainstBase } from '../../src/docs/base-change.ts';
import { DIFF_LIMITS, type DiffLimits } from '../../src/formats/text-diff.ts';
import { markdownFormat } from '../../src/formats/markdown-format.ts';

/**
 * The heart of Tandem's promise: an agent's change made against an old version never
 * reverts what people typed since. The agent's update comes from the server's own
 * base-version merge (changeAgainstBase in src/docs/document-writes.ts, what PATCH, PUT and
 * POST update with a base use: rebuild the base from its stored updates in a fresh Y.Doc,
 * a new client id, and turn its text into the agent's with replaceText in one transaction),
 * and is applied to the live document as the live write does, after people edited it.
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

/**
 * The agent's update as the server makes it: `next` is handed the base's text and returns the
 * agent's. Null when that changes nothing; otherwise applying it to the base gives the agent's text.
 */
function agentChange(baseUpdates: Uint8Array[], base: string, agentText: string, limits: DiffLimits): Uint8Array | null {
  const change = changeAgainstBase(
    markdownFormat,
    baseUpdates,
    (text: string) => {
      expect(text).toBe(base);
      return agentText;
    },
    limits,
  );
  const update = change?.update ?? null;
  if (agentText === base) {
    expect(update).toBeNull();
    return null;
  }
  expect(update).not.toBeNull();
  const check = new Y.Doc();
  for (const stored of [...baseUpdates, update!]) Y.applyUpdate(check, stored);
  expect(check.getText('content').toString()).toBe(agentText);
  return update;
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
  const snapshot = Y.encodeStateAsUpdate(server);
  const snapshotVector = Y.encodeStateVector(server);
  const earlier = new Y.Doc();
  Y.applyUpdate(earlier, snapshot);
  earlier.getText('content').insert(0, `${base.slice(0, half)}<gone>`);
  earlier.getText('content').delete(half, '<gone>'.length);
  Y.applyUpdate(server, Y.encodeStateAsUpdate(earlier));
  expect(serverText.toString()).toBe(base);
  const baseState = Y.encodeStateAsUpdate(server);
  // As the store hands the base to the merge: a snapshot and the log after it.
  const baseUpdates = [snapshot, Y.encodeStateAsUpdate(earlier, snapshotVector)];

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

  // The agent's change, computed from the base text alone by the server's merge.
  const agentText = parts.map((part, i) => (segments[i]!.owner === 1 ? part.edited : part.base)).join(separator);
  const agentUpdate = agentChange(baseUpdates, base, agentText, limits);

  const updates = personDocs.map((doc) => Y.encodeStateAsUpdate(doc, Y.encodeStateVector(server)));
  if (reversePeople) updates.reverse();
  if (agentUpdate) updates.splice(agentAt, 0, agentUpdate);
  for (const update of updates) Y.applyUpdate(server, update);

  const result = serverText.toString();
  for (const [i, part] of parts.entries()) {
    if (part.inserted) expect(result).toContain(part.inserted);
    if (segments[i]!.owner > 0) expect(result).toContain(part.edited);
  }
  expect(result).toBe(parts.map((part, i) => (segments[i]!.owner > 0 ? part.edited : part.base)).join(separator));
}

/**
 * Overlapping edits: the agent and up to three people edit the same stretch of one base,
 * deleting and inserting at the same places. So that "what each of them deleted" means one
 * thing, every base character here is a different code point (emoji that share a high
 * surrogate included): the agent's text then has exactly one minimal diff from the base.
 * Then, whatever the order in which the updates reach the live document:
 *  - nobody's inserted text is lost: every marker is in the result exactly once, whole;
 *  - a base character is there (once) if nobody deleted it, and gone if anyone did, so what
 *    several deleted stays deleted and nothing anyone deleted comes back;
 *  - each editor's text keeps its order: what they inserted sits among the surviving base
 *    characters where they put it, relative to everything else they saw;
 *  - every person's copy, once it has the other updates, reads the same as the live document.
 */
const GLYPHS = [...'abcdefghijklmnopqrstuvwxyz #-*\n', '😀', '😃', '😄', '🎉', '🚀', '日', '本', '語', 'é', 'ß'];

interface Party {
  /** Per base character: whether this party deletes it. */
  deletes: boolean[];
  /** Per gap (before character i, and after the last): whether this party inserts its marker there. */
  inserts: boolean[];
}

const party = (length: number) =>
  fc.record({
    // About one in three, so that edits of different parties often touch or overlap.
    deletes: fc.array(fc.constantFrom(false, false, true), { minLength: length, maxLength: length }),
    inserts: fc.array(fc.constantFrom(false, false, true), { minLength: length + 1, maxLength: length + 1 }),
  });

const overlapping = fc.shuffledSubarray(GLYPHS, { minLength: 1, maxLength: 24 }).chain((glyphs) =>
  fc.integer({ min: 1, max: 3 }).chain((people) =>
    fc.record({
      glyphs: fc.constant(glyphs),
      agent: party(glyphs.length),
      people: fc.array(party(glyphs.length), { minLength: people, maxLength: people }),
      agentAt: fc.integer({ min: 0, max: people }),
      reversePeople: fc.boolean(),
    }),
  ),
);

/** A party's view: its text and its tokens (markers and the base characters it kept) in order. */
function view(glyphs: string[], edit: Party, name: string) {
  const tokens: string[] = [];
  for (let gap = 0; gap <= glyphs.length; gap++) {
    if (edit.inserts[gap]) tokens.push(`<${name}${gap}>`);
    if (gap < glyphs.length && !edit.deletes[gap]) tokens.push(glyphs[gap]!);
  }
  return { tokens, text: tokens.join(''), markers: tokens.filter((token) => token.startsWith('<')) };
}

function checkOverlappingMerge(run: { glyphs: string[]; agent: Party; people: Party[]; agentAt: number; reversePeople: boolean }) {
  const { glyphs, agent, people, agentAt, reversePeople } = run;
  const base = glyphs.join('');
  const baseUpdate = (() => {
    const doc = new Y.Doc();
    doc.getText('content').insert(0, base);
    return Y.encodeStateAsUpdate(doc);
  })();
  const server = new Y.Doc();
  Y.applyUpdate(server, baseUpdate);
  const baseVector = Y.encodeStateVector(server);

  // People edit with their own Yjs operations, from the end so that offsets stay valid.
  const offsets = glyphs.map((_, i) => glyphs.slice(0, i).join('').length);
  const personDocs = people.map((edit, p) => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, baseUpdate);
    const text = doc.getText('content');
    for (let gap = glyphs.length; gap >= 0; gap--) {
      const at = gap < glyphs.length ? offsets[gap]! : base.length;
      if (gap < glyphs.length && edit.deletes[gap]) text.delete(at, glyphs[gap]!.length);
      if (edit.inserts[gap]) text.insert(at, `<P${p}.${gap}>`);
    }
    expect(text.toString()).toBe(view(glyphs, edit, `P${p}.`).text);
    return doc;
  });
  const agentView = view(glyphs, agent, 'A');
  const agentUpdate = agentChange([baseUpdate], base, agentView.text, DIFF_LIMITS);

  const personUpdates = personDocs.map((doc) => Y.encodeStateAsUpdate(doc, baseVector));
  const arriving = reversePeople ? [...personUpdates].reverse() : [...personUpdates];
  if (agentUpdate) arriving.splice(agentAt, 0, agentUpdate);
  for (const update of arriving) Y.applyUpdate(server, update);
  const result = server.getText('content').toString();

  const views = [agentView, ...people.map((edit, p) => view(glyphs, edit, `P${p}.`))];
  const occurrences = (token: string) => result.split(token).length - 1;
  for (const marker of views.flatMap((v) => v.markers)) expect(occurrences(marker), `${marker} in ${JSON.stringify(result)}`).toBe(1);
  const deletedByAnyone = (i: number) => [agent, ...people].some((edit) => edit.deletes[i]);
  const survivors = glyphs.filter((_, i) => !deletedByAnyone(i));
  // What is left once every marker is taken out: exactly the characters nobody deleted, in base order.
  expect(views.flatMap((v) => v.markers).reduce((text, marker) => text.replace(marker, ''), result)).toBe(survivors.join(''));
  for (const v of views) {
    const positions = v.tokens.filter((token) => token.startsWith('<') || survivors.includes(token)).map((token) => result.indexOf(token));
    expect(positions, `order of ${v.text} in ${result}`).toEqual([...positions].sort((x, y) => x - y));
  }
  // Every person's own copy converges on the same text once it has everybody else's updates.
  for (const [p, doc] of personDocs.entries()) {
    for (const [q, update] of personUpdates.entries()) if (q !== p) Y.applyUpdate(doc, update);
    if (agentUpdate) Y.applyUpdate(doc, agentUpdate);
    expect(doc.getText('content').toString()).toBe(result);
  }
}

describe('an agent change against an old base, where people edited the same text meanwhile', () => {
  it('loses nobody\'s insertion, brings back nothing anyone deleted, and keeps each editor\'s order', () => {
    fc.assert(fc.property(overlapping, checkOverlappingMerge), { numRuns: 1000 });
  });
});

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
