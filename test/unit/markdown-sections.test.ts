import { describe, expect, it } from 'vitest';
import { findSections } from '../../src/docs/markdown-sections.ts';

describe('findSections', () => {
  it('gives each heading its body, up to the next heading of the same or a higher level', () => {
    const doc = '# A\n\nintro\n\n## B\n\nb body\n\n### C\n\nc body\n\n## D\nd body';
    const sections = findSections(doc);
    expect(sections.map(({ depth, title }) => [depth, title])).toEqual([
      [1, 'A'],
      [2, 'B'],
      [3, 'C'],
      [2, 'D'],
    ]);
    const [a, b, c, d] = sections;
    expect(doc.slice(a!.bodyStart, a!.end)).toBe(doc.slice(4));
    expect(doc.slice(b!.headingStart, b!.bodyStart)).toBe('## B\n');
    expect(doc.slice(b!.bodyStart, b!.end)).toBe('\nb body\n\n### C\n\nc body\n\n');
    expect(doc.slice(c!.bodyStart, c!.end)).toBe('\nc body\n\n');
    expect(doc.slice(d!.bodyStart, d!.end)).toBe('d body');
  });

  it('knows setext headings and rendered titles, and ignores # lines in code and headings in lists', () => {
    const doc = 'Title\n=====\n\n```\n# code\n```\n\n- # in a list\n\n## *Emphasis* here\n';
    const sections = findSections(doc);
    expect(sections.map(({ depth, title }) => [depth, title])).toEqual([
      [1, 'Title'],
      [2, 'Emphasis here'],
    ]);
    expect(doc.slice(sections[0]!.headingStart, sections[0]!.bodyStart)).toBe('Title\n=====\n');
  });

  it('finds nothing in a document without headings', () => {
    expect(findSections('just text\n')).toEqual([]);
    expect(findSections('')).toEqual([]);
  });
});
