import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyUnifiedDiff } from '../../src/docs/unified-diff.ts';
import { AppError } from '../../src/errors.ts';

/** What `diff -u` (the tool agents and people use) writes for these two texts. */
function diffU(before: string, after: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-diff-'));
  try {
    writeFileSync(join(dir, 'old.md'), before);
    writeFileSync(join(dir, 'new.md'), after);
    try {
      return execFileSync('diff', ['-u', 'old.md', 'new.md'], { cwd: dir, encoding: 'utf8' });
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

describe('applyUnifiedDiff', () => {
  it('applies diff -u output with several hunks', () => {
    const before = lines(40);
    const after = before.replace('line 3\n', 'line three\n').replace('line 30\n', 'line 30\ninserted\n').replace('line 38\n', '');
    const patch = diffU(before, after);
    expect(patch.match(/^@@/gm)).toHaveLength(3);
    expect(applyUnifiedDiff(before, patch)).toBe(after);
  });

  it('applies git-style headers (a/ b/ prefixes)', () => {
    const patch = ['diff --git a/doc.md b/doc.md', '--- a/doc.md', '+++ b/doc.md', '@@ -1,2 +1,2 @@', ' keep', '-old', '+new', ''].join('\n');
    expect(applyUnifiedDiff('keep\nold\n', patch)).toBe('keep\nnew\n');
  });

  it('handles a file without a final newline', () => {
    const patch = diffU('a\nb', 'a\nc');
    expect(patch).toContain('\\ No newline at end of file');
    expect(applyUnifiedDiff('a\nb', patch)).toBe('a\nc');
  });

  it('keeps CRLF line endings', () => {
    const patch = diffU('one\r\ntwo\r\n', 'one\r\n2\r\n');
    expect(applyUnifiedDiff('one\r\ntwo\r\n', patch)).toBe('one\r\n2\r\n');
  });

  it('names the first hunk that does not fit', () => {
    const before = lines(40);
    const patch = diffU(before, before.replace('line 3\n', 'x\n').replace('line 30\n', 'y\n'));
    const changed = before.replace('line 30\n', 'someone else edited this\n');
    const error = errorOf(() => applyUnifiedDiff(changed, patch));
    expect(error.code).toBe('EDIT_CONFLICT');
    expect(error.details).toMatchObject({ hunk: 2, header: expect.stringMatching(/^@@ -\d+,\d+ \+\d+,\d+ @@$/) });
    expect(error.message).toContain('hunk 2');
  });

  it('refuses what is not a diff of exactly one file with 400', () => {
    expect(errorOf(() => applyUnifiedDiff('x', 'just some words')).code).toBe('VALIDATION_FAILED');
    const two = `${diffU('a\n', 'b\n').replace(/old\.md|new\.md/g, 'one.md')}${diffU('a\n', 'b\n').replace(/old\.md|new\.md/g, 'two.md')}`;
    expect(errorOf(() => applyUnifiedDiff('a\n', two)).code).toBe('VALIDATION_FAILED');
  });
});
