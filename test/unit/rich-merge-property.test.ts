import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { changeAgainstBase } from '../../src/docs/base-change.ts';
import { docFromUpdates } from '../../src/docs/yjs-state.ts';
import { AppError } from '../../src/errors.ts';
import { prosemirrorFormat } from '../../src/formats/prosemirror-format.ts';
import { FRAGMENT } from '../../src/formats/prosemirror-schema.ts';

/**
 * The base-version merge on rich text, attacked: a person types into one block of the live
 * document while an agent, from the older version, rewrites the block structure around it
 * (edits, deletes, inserts, moves, duplicates, and turns blocks into other kinds: list items,
 * nested items, headings, quotes).
 * The blocks repeat (twins), since that is where matching blocks by content goes wrong.
 * The promise: either the write is refused (EDIT_CONFLICT, nothing applied), or the merged
 * document is exactly the agent's document plus the person's typing, where they typed it.
 */

const WORDS = ['TODO', 'Alpha one', 'Bravo two', 'TODO'];
type Kind = 'p' | 'li' | 'sub' | 'h' | 'quote';
type Block = { kind: Kind; text: string };

/** How each kind of block is written: a paragraph, a list item, an item nested in it, a heading, a quote. */
const PREFIX: Record<Kind, string> = { p: '', li: '- ', sub: '  - ', h: '## ', quote: '> ' };
const inList = (kind: Kind | undefined) => kind === 'li' || kind === 'sub';

function markdownOf(blocks: readonly Block[]): string {
  let out = '';
  blocks.forEach((block, index) => {
    const previous = blocks[index - 1];
    // A nested item needs an item to be nested in; without one it is a plain item.
    const kind = block.kind === 'sub' && !inList(previous?.kind) ? 'li' : block.kind;
    if (index > 0) out += inList(previous?.kind) && inList(kind) ? '\n' : '\n\n';
    out += PREFIX[kind] + block.text;
  });
  return out;
}

const blockArbitrary = fc.record({ kind: fc.constantFrom<Kind>('p', 'p', 'li', 'li', 'sub', 'h', 'quote'), text: fc.constantFrom(...WORDS) });

type Operation =
  | { op: 'edit' | 'delete' | 'duplicate'; at: number }
  | { op: 'kind'; at: number; kind: Kind }
  | { op: 'insert'; at: number; block: Block }
  | { op: 'move'; at: number; to: number };

const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ op: fc.constantFrom<'edit' | 'delete' | 'duplicate'>('edit', 'delete', 'duplicate'), at: fc.nat(7) }),
  fc.record({ op: fc.constant<'kind'>('kind'), at: fc.nat(7), kind: fc.constantFrom<Kind>('p', 'li', 'sub', 'h', 'quote') }),
  fc.record({ op: fc.constant<'insert'>('insert'), at: fc.nat(7), block: blockArbitrary }),
  fc.record({ op: fc.constant<'move'>('move'), at: fc.nat(7), to: fc.nat(7) }),
);

function applyOperations(blocks: readonly Block[], operations: readonly Operation[]): Block[] {
  const out = blocks.map((block) => ({ ...block }));
  for (const operation of operations) {
    if (out.length === 0) break;
    const at = operation.at % out.length;
    if (operation.op === 'edit') out[at]!.text += ' edited';
    else if (operation.op === 'delete' && out.length > 1) out.splice(at, 1);
    else if (operation.op === 'kind') out[at]!.kind = operation.kind;
    else if (operation.op === 'duplicate') out.splice(at, 0, { ...out[at]! });
    else if (operation.op === 'insert') out.splice(at, 0, { ...operation.block });
    else if (operation.op === 'move') out.splice(operation.to % out.length, 0, ...out.splice(at, 1));
  }
  return out;
}

/** The Y.XmlTexts of the fragment, in document order. */
function textsOf(type: Y.XmlFragment | Y.XmlElement): Y.XmlText[] {
  return type.toArray().flatMap((child) => (child instanceof Y.XmlText ? [child] : child instanceof Y.XmlElement ? textsOf(child) : []));
}

describe('rich-text base-version merges, attacked', () => {
  it("never lose a person's typing to an agent's structural change from an older version, and apply all of the agent's change", () => {
    let merged = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.array(blockArbitrary, { minLength: 1, maxLength: 6 }),
        fc.array(operationArbitrary, { minLength: 1, maxLength: 3 }),
        fc.nat(),
        fc.boolean(),
        (blocks, operations, typedBlock, atEnd) => {
          const base = new Y.Doc();
          base.transact(() => prosemirrorFormat.replace(base, () => markdownOf(blocks)));
          const baseUpdates = [Y.encodeStateAsUpdate(base)];
          const agent = markdownOf(applyOperations(blocks, operations));
          const change = changeAgainstBase(prosemirrorFormat, baseUpdates, () => agent);
          if (!change) return;
          // What the agent's change makes of the base alone.
          const agentOnly = docFromUpdates([...baseUpdates, change.update]);
          expect(prosemirrorFormat.render(agentOnly)).toBe(prosemirrorFormat.render(docFromUpdates([Y.encodeStateAsUpdate(richDoc(agent))])));

          const live = docFromUpdates(baseUpdates);
          const texts = textsOf(live.getXmlFragment(FRAGMENT));
          const typedInto = texts[typedBlock % texts.length]!;
          typedInto.insert(atEnd ? typedInto.length : 0, atEnd ? ' typed' : 'typed ');
          try {
            change.requireNothingLost(live);
          } catch (error) {
            expect((error as AppError).code).toBe('EDIT_CONFLICT');
            refused += 1;
            return;
          }
          Y.applyUpdate(live, change.update);
          const result = prosemirrorFormat.render(live);
          const typed = atEnd ? ' typed' : 'typed ';
          expect(result).toContain(typed);
          expect(result.replace(typed, '')).toBe(prosemirrorFormat.render(agentOnly));
          merged += 1;
        },
      ),
      { numRuns: 600 },
    );
    // The property holds either way; these say the attack exercised both outcomes.
    expect(merged).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(10);
  });
});

function richDoc(markdown: string): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => prosemirrorFormat.replace(doc, () => markdown));
  return doc;
}
