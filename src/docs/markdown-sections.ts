import { fromMarkdown } from 'mdast-util-from-markdown';
import { toString } from 'mdast-util-to-string';

/**
 * A markdown section: a heading and everything after it up to the next heading of the same
 * or a higher level (depth ≤ its depth), or the end of the text. Offsets are UTF-16 code
 * units into the markdown, as JavaScript strings and Y.Text count them.
 */
export interface MarkdownSection {
  depth: number;
  /** The heading's rendered text ("## **Tasks**" → "Tasks"), trimmed, runs of whitespace made one space. */
  title: string;
  /** The start of the heading's line, indentation included. */
  headingStart: number;
  /** Just after the heading's line break (a setext heading's underline included); the text's end if there is none. */
  bodyStart: number;
  /** The start of the next heading's line at this level or higher, or the text's length. */
  end: number;
}

/**
 * The document's sections, in order, found by a CommonMark parser rather than by matching
 * lines: a "# line" in a fenced or indented code block or an HTML block is not a heading,
 * and setext headings (a line underlined with === or ---) are. Only top-level headings
 * count: a "# heading" inside a list item or a block quote belongs to that block and does
 * not end a section.
 *
 * Front matter is not understood (the parser has no extension for it here): a YAML block
 * "---\ntitle: x\n---" at the top reads as a thematic break and a setext heading "title: x".
 *
 * Cost: micromark 4 re-splices its whole event list each time a list or block quote ends,
 * so parsing grows with their number times the document's size (30 kB made of two-item
 * lists takes 1.6 s; Tandem's 18 kB README takes 20 ms).
 */
export function findSections(markdown: string): MarkdownSection[] {
  const headings = fromMarkdown(markdown).children.flatMap((node) => {
    const start = node.position?.start.offset;
    const end = node.position?.end.offset;
    if (node.type !== 'heading' || start === undefined || end === undefined) return [];
    return [{ depth: node.depth, title: normalizeTitle(toString(node)), start: lineStart(markdown, start), end }];
  });
  return headings.map((heading, index) => {
    let next = index + 1;
    while (next < headings.length && headings[next]!.depth > heading.depth) next++;
    return {
      depth: heading.depth,
      title: heading.title,
      headingStart: heading.start,
      // The parser's heading ends before its line break (trailing spaces included).
      bodyStart: heading.end + lineBreakLength(markdown, heading.end),
      end: headings[next]?.start ?? markdown.length,
    };
  });
}

/** How headings' titles are compared: what a reader sees, whatever the spacing. */
export function normalizeTitle(title: string): string {
  return title.replace(/\s+/g, ' ').trim();
}

/** The length of the line break at `offset`: 2 for CRLF, 1 for LF or a lone CR, 0 otherwise. */
export function lineBreakLength(text: string, offset: number): number {
  if (text.startsWith('\r\n', offset)) return 2;
  return text[offset] === '\n' || text[offset] === '\r' ? 1 : 0;
}

/** A top-level heading may be indented by up to three spaces; the section starts with its line. */
function lineStart(text: string, offset: number): number {
  let start = offset;
  while (start > 0 && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--;
  return start;
}
