import { describe, expect, it } from 'vitest';
import { findSections, type MarkdownSection } from '../../src/docs/markdown-sections.ts';

/** Each section as [depth, title, heading text, body], read back out of the markdown by its offsets. */
function read(markdown: string, sections: MarkdownSection[] = findSections(markdown)) {
  return sections.map((s) => [s.depth, s.title, markdown.slice(s.headingStart, s.bodyStart), markdown.slice(s.bodyStart, s.end)]);
}

describe('findSections', () => {
  it('gives each ATX heading its body, up to the next heading of the same or a higher level', () => {
    const doc = '# A\n\nintro\n\n## B\n\nb body\n\n### C\n\nc body\n\n## D\nd body\n# E\n';
    expect(read(doc)).toEqual([
      [1, 'A', '# A\n', '\nintro\n\n## B\n\nb body\n\n### C\n\nc body\n\n## D\nd body\n'],
      [2, 'B', '## B\n', '\nb body\n\n### C\n\nc body\n\n'],
      [3, 'C', '### C\n', '\nc body\n\n'],
      [2, 'D', '## D\n', 'd body\n'],
      [1, 'E', '# E\n', ''],
    ]);
  });

  it('runs a deeper section to a shallower heading even when levels are skipped', () => {
    const doc = '### deep\nx\n# top\ny\n##### deeper\nz\n## mid\n';
    expect(read(doc).map(([depth, title, , body]) => [depth, title, body])).toEqual([
      [3, 'deep', 'x\n'],
      [1, 'top', 'y\n##### deeper\nz\n## mid\n'],
      [5, 'deeper', 'z\n'],
      [2, 'mid', ''],
    ]);
  });

  it('knows setext headings, their underline being part of the heading', () => {
    const doc = 'Title\n=====\n\nintro\n\nPart one\n--------\ntext\n\n# Atx\n';
    expect(read(doc)).toEqual([
      [1, 'Title', 'Title\n=====\n', '\nintro\n\nPart one\n--------\ntext\n\n'],
      [2, 'Part one', 'Part one\n--------\n', 'text\n\n'],
      [1, 'Atx', '# Atx\n', ''],
    ]);
  });

  it('does not take "# lines" in fenced or indented code, HTML blocks, lists or quotes for headings', () => {
    const doc = [
      '# Real',
      '',
      '```sh',
      '# a comment, not a heading',
      '## nor this',
      '```',
      '',
      '~~~',
      '# tilde fence',
      '~~~',
      '',
      '    # indented code',
      '',
      '<div>',
      '# inside html',
      '</div>',
      '',
      '- # in a list item',
      '',
      '> # in a quote',
      '',
      'tail',
      '',
    ].join('\n');
    const sections = findSections(doc);
    expect(sections.map(({ depth, title }) => [depth, title])).toEqual([[1, 'Real']]);
    expect(sections[0]!.end).toBe(doc.length);
  });

  it('an unclosed fence runs to the end, swallowing later "headings"', () => {
    expect(findSections('# A\n```\n# B\n').map(({ title }) => title)).toEqual(['A']);
  });

  it('titles are the rendered text, trimmed, whitespace runs collapsed; closing #s and trailing spaces are not text', () => {
    const doc = '## **Bold** and _em_ `code` [link](http://x)\n### Spaced   out\t here ###   \n#\n## C#\n## Q&amp;A\n';
    expect(findSections(doc).map(({ title }) => title)).toEqual(['Bold and em code link', 'Spaced out here', '', 'C#', 'Q&A']);
    const [, spaced] = findSections(doc);
    expect(doc.slice(spaced!.headingStart, spaced!.bodyStart)).toBe('### Spaced   out\t here ###   \n');
  });

  it('starts a section at the start of its heading line, indentation included', () => {
    const doc = '# A\ntext\n   # B\nmore\n';
    expect(read(doc)).toEqual([
      [1, 'A', '# A\n', 'text\n'],
      [1, 'B', '   # B\n', 'more\n'],
    ]);
  });

  it('counts CRLF line breaks as part of the heading line', () => {
    const doc = '# A\r\n\r\nbody\r\n## B\r\nb\r\n';
    expect(read(doc)).toEqual([
      [1, 'A', '# A\r\n', '\r\nbody\r\n## B\r\nb\r\n'],
      [2, 'B', '## B\r\n', 'b\r\n'],
    ]);
  });

  it('handles a last heading without a line break, and empty bodies', () => {
    expect(read('# A\n## B')).toEqual([
      [1, 'A', '# A\n', '## B'],
      [2, 'B', '## B', ''],
    ]);
  });

  it('counts offsets in UTF-16 code units, as JavaScript and Y.Text do', () => {
    const doc = '# 😀 smile\n👍🏽\n## 日本\nx\n';
    const [smile, japan] = findSections(doc);
    expect(smile!.title).toBe('😀 smile');
    expect(doc.slice(smile!.bodyStart, smile!.end)).toBe('👍🏽\n## 日本\nx\n');
    expect(doc.slice(japan!.headingStart, japan!.bodyStart)).toBe('## 日本\n');
  });

  it('finds nothing in a document without headings', () => {
    expect(findSections('just text\n\n    # code\n')).toEqual([]);
    expect(findSections('')).toEqual([]);
  });
});
