import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyUnifiedDiff } from '../../src/docs/unified-diff.ts';
import { AppError } from '../../src/errors.ts';

/** What `diff -u` (the tool agents and people use) writes for these two texts. */
function diffU(before: string, after: string, ...flags: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-diff-'));
  try {
    writeFileSync(join(dir, 'old.md'), before);
    writeFileSync(join(dir, 'new.md'), after);
    try {
      return execFileSync('diff', ['-u', ...flags, 'old.md', 'new.md'], { cwd: dir, encoding: 'utf8' });
    } catch (error) {
      // diff exits 1 when the files differ; its output is the patch.
      return (error as { stdout: string }).stdout;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function errorOf(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an error');
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

const PLAN = '# Plan\n\n## Tasks\n\n- write\n- test\n\n## Notes\n\nNothing yet.\n';
const PLAN_AFTER = '# The plan\n\n## Tasks\n\n- write\n- test\n- ship\n\n## Notes\n\nNothing yet.\n';

describe('applyUnifiedDiff', () => {
  it('applies diff -u output with several hunks', () => {
    const before = lines(40);
    const after = before.replace('line 3\n', 'line three\n').replace('line 30\n', 'line 30\ninserted\n').replace('line 38\n', '');
    const patch = diffU(before, after);
    expect(patch.match(/^@@/gm)).toHaveLength(3);
    expect(applyUnifiedDiff(before, patch)).toBe(after);
  });

  it('applies git diff output: diff --git and index lines, a/ b/ prefixes (captured from git 2)', () => {
    const gitDiff = [
      'diff --git a/plan.md b/plan.md',
      'index 27e81f3..a9fcf19 100644',
      '--- a/plan.md',
      '+++ b/plan.md',
      '@@ -1,9 +1,10 @@',
      '-# Plan',
      '+# The plan',
      ' ',
      ' ## Tasks',
      ' ',
      ' - write',
      ' - test',
      '+- ship',
      ' ',
      ' ## Notes',
      ' ',
      '',
    ].join('\n');
    expect(applyUnifiedDiff(PLAN, gitDiff)).toBe(PLAN_AFTER);
    const gitDiffU1 = [
      'diff --git a/plan.md b/plan.md',
      'index 27e81f3..a9fcf19 100644',
      '--- a/plan.md',
      '+++ b/plan.md',
      '@@ -1,2 +1,2 @@',
      '-# Plan',
      '+# The plan',
      ' ',
      '@@ -6,2 +6,3 @@',
      ' - test',
      '+- ship',
      ' ',
      '',
    ].join('\n');
    expect(applyUnifiedDiff(PLAN, gitDiffU1)).toBe(PLAN_AFTER);
  });

  it('applies bare hunks without file headers, and empty context lines whose space was trimmed', () => {
    expect(applyUnifiedDiff(PLAN, '@@ -1,2 +1,2 @@\n-# Plan\n+# The plan\n\n')).toBe(PLAN.replace('# Plan', '# The plan'));
  });

  it('applies a hunk whose line numbers are off where its context is, as patch(1) does', () => {
    const before = lines(20);
    const patch = diffU(before, before.replace('line 10\n', 'ten\n')).replace(/@@ -\d+,(\d+) \+\d+,(\d+) @@/, '@@ -2,$1 +2,$2 @@');
    expect(applyUnifiedDiff(before, patch)).toBe(before.replace('line 10\n', 'ten\n'));
  });

  it('handles "\\ No newline at end of file" whichever side has it', () => {
    for (const [before, after] of [
      ['a\nb', 'a\nc'],
      ['a\nb\n', 'a\nb'],
      ['a\nb', 'a\nb\n'],
      ['a\nb', 'a\nb\nc'],
    ]) {
      const patch = diffU(before!, after!);
      expect(patch).toContain('\\ No newline at end of file');
      expect(applyUnifiedDiff(before!, patch)).toBe(after);
    }
  });

  it('refuses a diff that adds a final newline the document already has, naming its hunk', () => {
    const patch = diffU('a\nb', 'a\nb\n');
    expect(errorOf(() => applyUnifiedDiff('a\nb\n', patch)).details).toEqual({ hunk: 1, header: '@@ -1,2 +1,2 @@' });
  });

  it('keeps CRLF line endings, changing only the lines the diff changes', () => {
    expect(applyUnifiedDiff('one\r\ntwo\r\n', diffU('one\r\ntwo\r\n', 'one\r\n2\r\n'))).toBe('one\r\n2\r\n');
    // A diff that changes one line's ending changes exactly that one.
    const mixed = 'one\r\ntwo\r\nthree\r\n';
    expect(applyUnifiedDiff(mixed, diffU(mixed, 'one\r\ntwo\nthree\r\n'))).toBe('one\r\ntwo\nthree\r\n');
    // An agent that writes its diff with LF (JSON strings, most tools) still fits a CRLF document, which stays CRLF.
    const lf = '--- a/doc.md\n+++ b/doc.md\n@@ -1,2 +1,2 @@\n one\n-two\n+2\n';
    expect(applyUnifiedDiff('one\r\ntwo\r\n', lf)).toBe('one\r\n2\r\n');
    // And a diff sent with CRLF (a Windows tool) fits an LF document, which stays LF.
    expect(applyUnifiedDiff('one\ntwo\n', lf.replaceAll('\n', '\r\n'))).toBe('one\n2\n');
  });

  it('names the first hunk that does not fit, with its header, and says what to do', () => {
    const before = lines(40);
    const patch = diffU(before, before.replace('line 3\n', 'x\n').replace('line 20\n', 'y\n').replace('line 35\n', 'z\n'));
    expect(patch.match(/^@@/gm)).toHaveLength(3);
    const changed = before.replace('line 20\n', 'someone else edited this\n').replace('line 35\n', 'and this\n');
    const error = errorOf(() => applyUnifiedDiff(changed, patch));
    expect(error.code).toBe('EDIT_CONFLICT');
    expect(error.status).toBe(409);
    expect(error.details).toEqual({ hunk: 2, header: '@@ -17,7 +17,7 @@' });
    expect(error.message).toMatch(/^hunk 2 of 3 \(@@ -17,7 \+17,7 @@\) does not fit the document/);
    expect(error.message).toContain('Read the document again');
    expect(errorOf(() => applyUnifiedDiff(before.replace('line 36\n', '36\n'), patch)).details).toMatchObject({ hunk: 3 });
    expect(errorOf(() => applyUnifiedDiff(before.replace('line 1\n', '1\n'), patch)).details).toMatchObject({ hunk: 1 });
  });

  it('names a later hunk whose context is only found before where the earlier one applied', () => {
    // Hunk 1 finds its context further down than its header says; hunk 2's is only above it.
    const text = 'x\ny\nfiller\nfiller\na\nb\n';
    const patch = '@@ -1,2 +1,2 @@\n a\n-b\n+B\n@@ -5,2 +5,2 @@\n x\n-y\n+Y\n';
    expect(errorOf(() => applyUnifiedDiff(text, patch)).details).toEqual({ hunk: 2, header: '@@ -5,2 +5,2 @@' });
    expect(applyUnifiedDiff(text, '@@ -1,2 +1,2 @@\n a\n-b\n+B\n')).toBe('x\ny\nfiller\nfiller\na\nB\n');
  });

  it('refuses with 400 hunks out of order or overlapping, which jsdiff would apply twice over the same lines', () => {
    const text = '1\n2\n3\n4\n5\n6\n';
    const outOfOrder = '@@ -4,2 +4,2 @@\n 4\n-5\n+five\n@@ -1,2 +1,2 @@\n 1\n-2\n+two\n';
    const overlapping = '@@ -1,3 +1,3 @@\n 1\n-2\n+two\n 3\n@@ -2,2 +2,2 @@\n-2\n+TWO\n 3\n';
    for (const patch of [outOfOrder, overlapping]) {
      const error = errorOf(() => applyUnifiedDiff(text, patch));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).toMatch(/^Hunk 2 \(@@ -\d+,2 \+\d+,2 @@\) overlaps hunk 1 or comes before it/);
    }
    // Sharing context lines is fine: that is where hunk 1 leaves off.
    const sharedContext = '@@ -1,3 +1,3 @@\n 1\n-2\n+two\n 3\n@@ -3,2 +3,2 @@\n 3\n-4\n+four\n';
    expect(applyUnifiedDiff(text, sharedContext)).toBe('1\ntwo\n3\nfour\n5\n6\n');
  });

  it('shows an insertion-only hunk header as the diff wrote it', () => {
    const patch = '@@ -0,0 +1 @@\n+first\n';
    expect(applyUnifiedDiff('', patch)).toBe('first\n');
    const deletion = '@@ -2 +1,0 @@\n-gone\n';
    expect(errorOf(() => applyUnifiedDiff('a\nb\n', deletion)).details).toEqual({ hunk: 1, header: '@@ -2,1 +1,0 @@' });
  });

  it('refuses what is not a diff of exactly one file with 400', () => {
    for (const notADiff of ['just some words', '', '--- a/doc.md\n+++ b/doc.md\n']) {
      const error = errorOf(() => applyUnifiedDiff('x', notADiff));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).toContain('no hunk');
    }
    const two = `${diffU('a\n', 'b\n').replace(/old\.md|new\.md/g, 'one.md')}${diffU('a\n', 'b\n').replace(/old\.md|new\.md/g, 'two.md')}`;
    const error = errorOf(() => applyUnifiedDiff('a\n', two));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('2 files');
  });

  it('refuses with 400, rather than half-applying, a hunk whose counts disagree with its lines', () => {
    const tooMany = '@@ -1,1 +1,1 @@\n-a\n+A\n-b\n+B\n';
    const tooFew = '@@ -1,3 +1,3 @@\n-a\n+A\n';
    const noNumbers = '@@ -x +y @@\n-a\n+b\n';
    for (const patch of [tooMany, tooFew, noNumbers, '@@ -1 +1 @@\n-a\n*b\n']) {
      const error = errorOf(() => applyUnifiedDiff('a\nb\n', patch));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).toMatch(/^Not a unified diff: /);
      expect(error.details).toEqual([{ path: '', message: error.message }]);
    }
  });

  it('round-trips any pair of texts through a diff made by jsdiff', () => {
    const text = fc
      .array(fc.constantFrom('a', 'b', 'c', '', '# h', 'x y', '😀', ' '), { maxLength: 15 })
      .chain((textLines) => fc.constantFrom(textLines.join('\n'), textLines.join('\n') + '\n'));
    fc.assert(
      fc.property(text, text, fc.integer({ min: 0, max: 3 }), (before, after, context) => {
        const patch = createTwoFilesPatch('a/doc.md', 'b/doc.md', before, after, '', '', { context });
        if (before === after) return; // no hunk: refused, tested above
        expect(applyUnifiedDiff(before, patch)).toBe(after);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips texts through real diff -u output', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'c', '', '- item', '😀'), { minLength: 1, maxLength: 12 }).map((l) => l.join('\n'));
    fc.assert(
      fc.property(text, text, fc.boolean(), (before, after, finalNewline) => {
        const [from, to] = finalNewline ? [`${before}\n`, `${after}\n`] : [before, after];
        if (from === to) return;
        expect(applyUnifiedDiff(from, diffU(from, to))).toBe(to);
      }),
      { numRuns: 40 },
    );
  });
});
