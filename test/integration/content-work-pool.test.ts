import { afterAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createContentWorkPool } from '../../src/docs/content-work-pool.ts';
import { docFromUpdates } from '../../src/docs/yjs-state.ts';
import { AppError } from '../../src/errors.ts';
import { prosemirrorFormat } from '../../src/formats/prosemirror-format.ts';
import { FRAGMENT } from '../../src/formats/prosemirror-schema.ts';

/**
 * Rich-text content work on its worker thread (a real Piscina thread running the sources):
 * the event loop keeps turning while a large document is worked out, and what the thread
 * answers (markdown, a change and its check, a refusal) is what the same work answers here.
 */

const pool = createContentWorkPool({ threads: 1 });
afterAll(() => pool.close());

const MAX_BYTES = 8 * 1024 * 1024;

/** About 700 kB of markdown in a few thousand blocks of every kind. */
function largeMarkdown(): string {
  const sections: string[] = [];
  for (let i = 0; i < 4_000; i++) {
    sections.push(`## Section ${i}\n\nSome **bold** and *italic* words, a [link](https://example.com/${i}).\n\n- item ${i}\n  - nested ${i}\n\n> quoted ${i}`);
  }
  return sections.join('\n\n');
}

/** How many times the event loop turns while `work` runs. */
async function turnsDuring(work: Promise<unknown>): Promise<number> {
  let done = false;
  let turns = 0;
  void work.finally(() => {
    done = true;
  });
  while (!done) {
    await new Promise((resolve) => setImmediate(resolve));
    turns += 1;
  }
  return turns;
}

describe('rich-text content work on a worker thread', () => {
  it('keeps the event loop turning while a large document is made, changed and read', async () => {
    const text = largeMarkdown();
    let created: Uint8Array | undefined;
    expect(await turnsDuring(pool.changeOn('prosemirror', [], { content: text }, MAX_BYTES).then((change) => (created = change!.update)))).toBeGreaterThan(10);
    expect(await turnsDuring(pool.changeOn('prosemirror', [created!], { edits: [{ find: 'quoted 3999', replace: 'quoted, changed' }] }, MAX_BYTES))).toBeGreaterThan(10);
    let read = '';
    expect(await turnsDuring(pool.markdownOf('prosemirror', [created!]).then((markdown) => (read = markdown)))).toBeGreaterThan(10);
    expect(read).toBe(text);
  });

  it("answers as this thread would: the change, its check against people's edits, and refusals with their code", async () => {
    const base = [Y.encodeStateAsUpdate(docFromUpdates([(await pool.changeOn('prosemirror', [], { content: 'Alpha.\n\nBravo.' }, MAX_BYTES))!.update]))];
    const change = await pool.changeOn('prosemirror', base, { content: 'Bravo.\n\nAlpha.' }, MAX_BYTES);
    // A person typed into the block the change re-creates: the check refuses it.
    const live = docFromUpdates(base);
    for (const element of live.getXmlFragment(FRAGMENT).toArray() as Y.XmlElement[]) (element.get(0) as Y.XmlText).insert(0, 'Typed ');
    expect(() => change!.requireNothingLost(live)).toThrow(expect.objectContaining({ code: 'EDIT_CONFLICT' }));
    const untouched = docFromUpdates(base);
    change!.requireNothingLost(untouched);
    Y.applyUpdate(untouched, change!.update);
    expect(prosemirrorFormat.render(untouched)).toBe('Bravo.\n\nAlpha.');

    const refusal = await pool.changeOn('prosemirror', base, { content: '<table></table>' }, MAX_BYTES).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ code: 'UNSUPPORTED_MARKDOWN', status: 422 });
    expect((refusal as AppError).message).toContain('an HTML block');
    const tooLarge = await pool.changeOn('prosemirror', base, { content: 'x'.repeat(200) }, 100).catch((error: unknown) => error);
    expect(tooLarge).toMatchObject({ code: 'DOCUMENT_TOO_LARGE' });
  });
});
