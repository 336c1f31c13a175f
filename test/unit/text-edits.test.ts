import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.ts';
import { applyTextEdits, type TextEdit } from '../../src/docs/text-edits.ts';

const DOC = `# Plan

Intro.

## Tasks

- write
- test

### Subtask

- detail

## Notes

Nothing yet.
`;

function conflictOf(text: string, edits: TextEdit[]): AppError {
  try {
    applyTextEdits(text, edits);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected a conflict');
}

describe('applyTextEdits', () => {
  it('find/replace replaces the one occurrence', () => {
    expect(applyTextEdits('a cat sat', [{ find: 'cat', replace: 'dog' }])).toBe('a dog sat');
  });

  it('find/replace with all replaces every occurrence', () => {
    expect(applyTextEdits('a-b-c', [{ find: '-', replace: '+', all: true }])).toBe('a+b+c');
  });

  it('an ambiguous or missing find is a 409 naming the edit; an empty one is a 400', () => {
    const ambiguous = conflictOf('x x x', [{ append: '!' }, { find: 'x', replace: 'y' }]);
    expect(ambiguous.code).toBe('EDIT_CONFLICT');
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.details).toMatchObject({ edit: 1 });
    expect(ambiguous.message).toContain('found 3 times');
    const missing = conflictOf('abc', [{ find: 'zzz', replace: 'y' }]);
    expect(missing.details).toMatchObject({ edit: 0 });
    expect(missing.message).toContain('not found');
    expect(conflictOf('abc', [{ find: 'zzz', replace: 'y', all: true }]).code).toBe('EDIT_CONFLICT');
    expect(conflictOf('abc', [{ find: '', replace: 'y' }]).code).toBe('VALIDATION_FAILED');
  });

  it('append and prepend concatenate as given', () => {
    expect(applyTextEdits('middle', [{ append: ' end' }, { prepend: 'start ' }])).toBe('start middle end');
  });

  it('applies edits in order, each to the result of the previous one', () => {
    expect(applyTextEdits('a', [{ append: 'b' }, { find: 'ab', replace: 'c' }])).toBe('c');
  });

  it('heading append adds a line at the end of the section content, before the blank line', () => {
    const result = applyTextEdits(DOC, [{ heading: '## Tasks', append: '- ship' }]);
    // The section runs to the next heading of level 2 or higher: past "### Subtask".
    expect(result).toContain('### Subtask\n\n- detail\n- ship\n\n## Notes');
    expect(applyTextEdits(DOC, [{ heading: '## Notes', append: 'Agent note.\n' }])).toBe(`${DOC}Agent note.\n`);
  });

  it('heading append to a section without a trailing newline, and to an empty section', () => {
    expect(applyTextEdits('# A\ntext', [{ heading: '# A', append: 'more' }])).toBe('# A\ntext\nmore');
    expect(applyTextEdits('# A\n# B\n', [{ heading: 'A', append: 'x' }])).toBe('# A\nx\n# B\n');
  });

  it('heading replace swaps the body and keeps the heading and the spacing around it', () => {
    const result = applyTextEdits(DOC, [{ heading: '### Subtask', replace: '- new detail\n' }]);
    expect(result).toContain('### Subtask\n\n- new detail\n\n## Notes');
    expect(applyTextEdits(DOC, [{ heading: 'Notes', replace: 'Done.' }])).toBe(DOC.replace('Nothing yet.', 'Done.'));
  });

  it('matches headings by level and rendered text; a bare title matches any level', () => {
    const doc = '# Top\n\n## **Tasks**\n\n- a\n\nSetext\n------\n\nbody\n';
    expect(applyTextEdits(doc, [{ heading: '## Tasks', append: '- b' }])).toContain('- a\n- b\n');
    expect(applyTextEdits(doc, [{ heading: 'Setext', replace: 'new body' }])).toBe('# Top\n\n## **Tasks**\n\n- a\n\nSetext\n------\n\nnew body\n');
    expect(conflictOf(doc, [{ heading: '### Tasks', append: 'x' }]).message).toContain('no such heading');
  });

  it('ignores "headings" inside fenced code blocks', () => {
    const doc = '# Real\n\n```sh\n# not a heading\n```\n\ntail\n';
    expect(applyTextEdits(doc, [{ heading: 'Real', append: 'added' }])).toBe('# Real\n\n```sh\n# not a heading\n```\n\ntail\nadded');
    expect(conflictOf(doc, [{ heading: 'not a heading', append: 'x' }]).code).toBe('EDIT_CONFLICT');
  });

  it('two headings with the same title are ambiguous', () => {
    const error = conflictOf('## A\n\nx\n\n## A\n\ny\n', [{ heading: 'A', replace: 'z' }]);
    expect(error.message).toContain('2 headings match');
  });
});
