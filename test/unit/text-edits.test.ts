import { describe, expect, it } from 'vitest';
import { applyTextEdits, type TextEdit } from '../../src/docs/text-edits.ts';
import { AppError } from '../../src/errors.ts';

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

function errorOf(text: string, edits: TextEdit[]): AppError {
  try {
    applyTextEdits(text, edits);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected an error');
}

describe('find/replace', () => {
  it('replaces the one occurrence, taking the replacement literally', () => {
    expect(applyTextEdits('a cat sat', [{ find: 'cat', replace: 'dog' }])).toBe('a dog sat');
    expect(applyTextEdits('a cat sat', [{ find: 'cat', replace: '$& $1 $$' }])).toBe('a $& $1 $$ sat');
    expect(applyTextEdits('one\ntwo\nthree', [{ find: 'one\ntwo', replace: '' }])).toBe('\nthree');
  });

  it('with all: true replaces every occurrence, left to right', () => {
    expect(applyTextEdits('a-b-c', [{ find: '-', replace: '+', all: true }])).toBe('a+b+c');
    expect(applyTextEdits('aaaa', [{ find: 'aa', replace: 'b', all: true }])).toBe('bb');
    expect(applyTextEdits('x', [{ find: 'x', replace: 'xx', all: true }])).toBe('xx');
  });

  it('an ambiguous find is a 409 naming the edit and the count', () => {
    const error = errorOf('x x x', [{ append: '!' }, { find: 'x', replace: 'y' }]);
    expect(error.code).toBe('EDIT_CONFLICT');
    expect(error.status).toBe(409);
    expect(error.message).toBe('edit 1 (find "x"): found 3 times; add "all": true or make it unique');
    expect(error.details).toEqual({ edit: 1, reason: 'ambiguous', count: 3 });
    expect(errorOf('x x', [{ find: 'x', replace: 'y', all: false }]).details).toMatchObject({ reason: 'ambiguous' });
  });

  it('counts overlapping occurrences as ambiguous too: either could be meant', () => {
    expect(errorOf('aaa', [{ find: 'aa', replace: 'b' }]).details).toEqual({ edit: 0, reason: 'ambiguous', count: 2 });
  });

  it('a find that is not there is a 409, with or without all', () => {
    const error = errorOf('abc', [{ find: 'zzz', replace: 'y' }]);
    expect(error.code).toBe('EDIT_CONFLICT');
    expect(error.message).toBe('edit 0 (find "zzz"): not found; read the document again');
    expect(error.details).toEqual({ edit: 0, reason: 'not_found', count: 0 });
    expect(errorOf('abc', [{ find: 'zzz', replace: 'y', all: true }]).details).toMatchObject({ edit: 0, reason: 'not_found' });
    // Case matters.
    expect(errorOf('abc', [{ find: 'ABC', replace: 'y' }]).code).toBe('EDIT_CONFLICT');
  });

  it('shortens a long find in the message', () => {
    const find = 'x'.repeat(200);
    const error = errorOf('abc', [{ find, replace: '' }]);
    expect(error.message).toContain(`"${'x'.repeat(57)}..."`);
    expect(error.message.length).toBeLessThan(150);
  });

  it('an empty find is a 400 with the JSON path of the field', () => {
    const error = errorOf('abc', [{ append: 'd' }, { find: '', replace: 'y' }]);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.status).toBe(400);
    expect(error.details).toEqual([{ path: '/edits/1/find', message: 'must not be empty' }]);
  });
});

describe('append and prepend', () => {
  it('add the text as given at the very end and start, separators included or not', () => {
    expect(applyTextEdits('middle', [{ append: ' end' }, { prepend: 'start ' }])).toBe('start middle end');
    expect(applyTextEdits('line\n', [{ append: 'next\n' }, { prepend: '# Title\n\n' }])).toBe('# Title\n\nline\nnext\n');
    expect(applyTextEdits('', [{ append: 'a' }, { prepend: 'b' }])).toBe('ba');
  });
});

describe('edits in order', () => {
  it('applies each to the result of the previous one', () => {
    expect(applyTextEdits('a', [{ append: 'b' }, { find: 'ab', replace: 'c' }])).toBe('c');
    expect(applyTextEdits('# A\n', [{ append: '## B\n' }, { heading: '## B', append: 'in B' }])).toBe('# A\n## B\nin B\n');
  });

  it('names the edit that fails, however many applied before it', () => {
    const edits: TextEdit[] = [{ append: 'x' }, { prepend: 'y' }, { find: 'x', replace: 'z' }, { find: 'x', replace: 'w' }];
    expect(errorOf('abc', edits).details).toMatchObject({ edit: 3, reason: 'not_found' });
  });

  it('works on the README example', () => {
    const result = applyTextEdits('# Plan\n\n## Tasks\n\n- write\n', [
      { heading: '## Tasks', append: '- review\n' },
      { find: '- write', replace: '- write the intro' },
    ]);
    expect(result).toBe('# Plan\n\n## Tasks\n\n- write the intro\n- review\n');
  });
});

describe('heading + append', () => {
  it('puts the text on the line after the section content, before the blank line, past subsections', () => {
    // "## Tasks" runs to the next heading of level 2 or higher, so "### Subtask" is part of it.
    expect(applyTextEdits(DOC, [{ heading: '## Tasks', append: '- ship' }])).toBe(
      DOC.replace('- detail\n', '- detail\n- ship\n'),
    );
    expect(applyTextEdits(DOC, [{ heading: '# Plan', append: 'The end.' }])).toBe(`${DOC}The end.\n`);
  });

  it('lets a list grow by an item, and keeps the document final line break as it was', () => {
    expect(applyTextEdits('## T\n\n- a\n', [{ heading: 'T', append: '- b' }])).toBe('## T\n\n- a\n- b\n');
    expect(applyTextEdits('## T\n\n- a\n', [{ heading: 'T', append: '- b\n' }])).toBe('## T\n\n- a\n- b\n');
    expect(applyTextEdits('## T\n\n- a', [{ heading: 'T', append: '- b' }])).toBe('## T\n\n- a\n- b');
  });

  it('gives one blank line before the text when it starts with blank lines, however many', () => {
    const doc = '## A\n\nPara.\n\n## B\n';
    const expected = '## A\n\nPara.\n\nNew para.\n\n## B\n';
    expect(applyTextEdits(doc, [{ heading: 'A', append: '\nNew para.' }])).toBe(expected);
    expect(applyTextEdits(doc, [{ heading: 'A', append: '\n\n\nNew para.\n\n\n' }])).toBe(expected);
    expect(applyTextEdits(doc, [{ heading: 'A', append: '  \n\nNew para.' }])).toBe(expected);
  });

  it('drops trailing blank lines of the text: the spacing before the next heading stays as it was', () => {
    expect(applyTextEdits('## A\nx\n## B\n', [{ heading: 'A', append: 'y\n\n\n' }])).toBe('## A\nx\ny\n## B\n');
    expect(applyTextEdits('## A\nx\n\n\n## B\n', [{ heading: 'A', append: 'y' }])).toBe('## A\nx\ny\n\n\n## B\n');
  });

  it('keeps the indentation and inner lines of the text', () => {
    const result = applyTextEdits('## A\n\n- a\n', [{ heading: 'A', append: '  - nested\n\n  more\n- b' }]);
    expect(result).toBe('## A\n\n- a\n  - nested\n\n  more\n- b\n');
  });

  it('in an empty section, mirrors the spacing that followed the heading', () => {
    expect(applyTextEdits('# A\n# B\n', [{ heading: 'A', append: 'x' }])).toBe('# A\nx\n# B\n');
    expect(applyTextEdits('# A\n\n# B\n', [{ heading: 'A', append: 'x' }])).toBe('# A\n\nx\n\n# B\n');
    expect(applyTextEdits('# A\n# B\n', [{ heading: 'A', append: '\nx' }])).toBe('# A\n\nx\n# B\n');
    expect(applyTextEdits('# A\n', [{ heading: 'A', append: 'x' }])).toBe('# A\nx\n');
    expect(applyTextEdits('# A', [{ heading: 'A', append: 'x' }])).toBe('# A\nx');
    expect(applyTextEdits('Title\n=====\n\nNext\n====\n', [{ heading: 'Title', append: 'x' }])).toBe('Title\n=====\n\nx\n\nNext\n====\n');
  });

  it('appends to the last section, after code whose "# lines" are not headings', () => {
    const doc = '# Real\n\n```sh\n# not a heading\n```\n\ntail\n';
    expect(applyTextEdits(doc, [{ heading: 'Real', append: 'added' }])).toBe(`${doc}added\n`);
    expect(errorOf(doc, [{ heading: 'not a heading', append: 'x' }]).details).toMatchObject({ reason: 'not_found' });
  });

  it('changes nothing for a text of whitespace only', () => {
    expect(applyTextEdits(DOC, [{ heading: 'Tasks', append: '\n \n' }])).toBe(DOC);
  });

  it('separates with CRLF in a CRLF document', () => {
    const doc = '## A\r\n\r\n- a\r\n\r\n## B\r\n';
    expect(applyTextEdits(doc, [{ heading: 'A', append: '- b' }])).toBe('## A\r\n\r\n- a\r\n- b\r\n\r\n## B\r\n');
    expect(applyTextEdits(doc, [{ heading: 'A', append: '\r\n\r\npara' }])).toBe('## A\r\n\r\n- a\r\n\r\npara\r\n\r\n## B\r\n');
  });
});

describe('heading + replace', () => {
  it('replaces the body, keeping the heading line and the blank lines around the body', () => {
    expect(applyTextEdits(DOC, [{ heading: '### Subtask', replace: '- new detail\n' }])).toBe(
      DOC.replace('- detail', '- new detail'),
    );
    expect(applyTextEdits(DOC, [{ heading: 'Notes', replace: 'Done.' }])).toBe(DOC.replace('Nothing yet.', 'Done.'));
    expect(applyTextEdits(DOC, [{ heading: 'Notes', replace: '\n\nDone.\n\n\n' }])).toBe(DOC.replace('Nothing yet.', 'Done.'));
  });

  it('replaces subsections too: the body runs to the next heading of the same or a higher level', () => {
    expect(applyTextEdits(DOC, [{ heading: '## Tasks', replace: '- all done' }])).toBe(
      '# Plan\n\nIntro.\n\n## Tasks\n\n- all done\n\n## Notes\n\nNothing yet.\n',
    );
  });

  it('an empty text empties the section, keeping the spacing that followed the body', () => {
    expect(applyTextEdits(DOC, [{ heading: '## Tasks', replace: '' }])).toBe('# Plan\n\nIntro.\n\n## Tasks\n\n## Notes\n\nNothing yet.\n');
    expect(applyTextEdits('# A\ntext', [{ heading: 'A', replace: '' }])).toBe('# A');
  });

  it('fills an empty section with the heading spacing mirrored', () => {
    expect(applyTextEdits('## A\n\n## B\n', [{ heading: 'A', replace: 'body' }])).toBe('## A\n\nbody\n\n## B\n');
    expect(applyTextEdits('## A\n## B\n', [{ heading: 'A', replace: 'body' }])).toBe('## A\nbody\n## B\n');
    expect(applyTextEdits('## A', [{ heading: 'A', replace: 'body' }])).toBe('## A\nbody');
    expect(applyTextEdits('## A\n', [{ heading: 'A', replace: '' }])).toBe('## A\n');
  });

  it('keeps the indentation of the first line of the text (an indented code block stays one)', () => {
    expect(applyTextEdits('## A\n\n    old code\n', [{ heading: 'A', replace: '    new code\n' }])).toBe('## A\n\n    new code\n');
  });

  it('works on setext sections and in CRLF documents', () => {
    expect(applyTextEdits('A\n---\nold\n\nB\n---\n', [{ heading: '## A', replace: 'new' }])).toBe('A\n---\nnew\n\nB\n---\n');
    expect(applyTextEdits('# A\r\n\r\nold\r\n\r\n# B\r\n', [{ heading: 'A', replace: 'new' }])).toBe('# A\r\n\r\nnew\r\n\r\n# B\r\n');
  });
});

describe('which heading', () => {
  const doc = '# Top\n\n## **Tasks**\n\n- a\n\nSetext\n------\n\nbody\n\n## 1. Intro   and  more ##\n\ni\n';

  it('matches level and rendered text, whatever the emphasis, spacing or closing #s on either side', () => {
    for (const heading of ['## Tasks', 'Tasks', '## **Tasks**', '**Tasks**', '  ##   Tasks  ', '## Tasks ##']) {
      expect(applyTextEdits(doc, [{ heading, append: '- b' }])).toContain('- a\n- b\n');
    }
    expect(applyTextEdits(doc, [{ heading: '## Setext', replace: 'new' }])).toBe(doc.replace('\nbody\n', '\nnew\n'));
    expect(applyTextEdits(doc, [{ heading: '1. Intro and more', replace: 'x' }])).toBe(doc.replace('\ni\n', '\nx\n'));
  });

  it('a heading at another level, in other case or not in the document is a 409 naming the edit', () => {
    for (const heading of ['### Tasks', 'tasks', 'Task', 'Missing']) {
      const error = errorOf(doc, [{ append: '' }, { heading, append: 'x' }]);
      expect(error.code).toBe('EDIT_CONFLICT');
      expect(error.details).toEqual({ edit: 1, reason: 'not_found', count: 0 });
      expect(error.message).toBe(`edit 1 (heading ${JSON.stringify(heading)}): no such heading; read the document again`);
    }
  });

  it('several matching headings are a 409; giving the level settles it when the levels differ', () => {
    const twice = '# Notes\n\nall\n\n## Notes\n\nsome\n';
    const bare = errorOf(twice, [{ heading: 'Notes', replace: 'x' }]);
    expect(bare.details).toEqual({ edit: 0, reason: 'ambiguous', count: 2 });
    expect(bare.message).toBe('edit 0 (heading "Notes"): 2 headings match; give its level ("## ...") or make the headings unique');
    expect(applyTextEdits(twice, [{ heading: '## Notes', replace: 'x' }])).toBe('# Notes\n\nall\n\n## Notes\n\nx\n');
    const same = errorOf('## A\n\nx\n\n## A\n\ny\n', [{ heading: '## A', replace: 'z' }]);
    expect(same.details).toEqual({ edit: 0, reason: 'ambiguous', count: 2 });
  });

  it('an empty heading is a 400', () => {
    const error = errorOf(doc, [{ heading: '  ', append: 'x' }]);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual([{ path: '/edits/0/heading', message: 'must not be empty' }]);
  });
});

describe('applyTextEdits limits', () => {
  const limitError = (run: () => unknown): AppError => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      return error as AppError;
    }
    throw new Error('expected an error');
  };
  const doubling = (times: number) => Array.from({ length: times }, () => ({ find: 'a', replace: 'aa', all: true }));

  it('a chain of doublings stops at the edit that would pass maxBytes, long before the text would not fit in memory', () => {
    // Edit 20 would make 2 MiB; edit 60 would make 2^60 characters, were it ever built.
    const error = limitError(() => applyTextEdits('a', doubling(60), { maxBytes: 1024 * 1024 }));
    expect(error.code).toBe('DOCUMENT_TOO_LARGE');
    expect(error.details).toEqual({ edit: 20, bytes: 2 * 1024 * 1024, maxBytes: 1024 * 1024 });
    expect(applyTextEdits('a', doubling(20), { maxBytes: 1024 * 1024 })).toHaveLength(1024 * 1024);
  });

  it('counts UTF-8 bytes, appends and section edits included', () => {
    expect(limitError(() => applyTextEdits('', [{ append: '€€' }], { maxBytes: 5 })).details).toEqual({ edit: 0, bytes: 6, maxBytes: 5 });
    expect(limitError(() => applyTextEdits('ab', [{ prepend: 'xyz' }, { append: 'c' }], { maxBytes: 5 })).details).toMatchObject({ edit: 1 });
    expect(limitError(() => applyTextEdits('# T\n', [{ heading: '# T', append: 'body' }], { maxBytes: 8 })).details).toMatchObject({ edit: 0 });
    // A lone high surrogate meeting a lone low one makes one 4-byte character, not two 3-byte ones.
    expect(applyTextEdits('\uD83D', [{ append: '\uDE00' }], { maxBytes: 4 })).toBe('😀');
  });

  it('replace-all keeps "$" patterns in the replacement as written', () => {
    expect(applyTextEdits('a-a', [{ find: 'a', replace: "$&$'$$", all: true }])).toBe("$&$'$$-$&$'$$");
  });

  it('more than 1,000 edits is 413 TOO_MANY_EDITS before any edit is looked at', () => {
    const edits = Array.from({ length: 1001 }, () => ({ find: 'not there', replace: '' }));
    const error = limitError(() => applyTextEdits('text', edits));
    expect(error.code).toBe('TOO_MANY_EDITS');
    expect(error.details).toEqual({ edits: 1001, maxEdits: 1000 });
  });
});
