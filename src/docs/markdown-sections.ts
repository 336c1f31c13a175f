import MarkdownIt, { type Token } from 'markdown-it';

/** CommonMark, HTML blocks included (a "# line" inside one is not a heading). */
const commonmark = MarkdownIt('commonmark', { html: true });

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
 * markdown-it rather than micromark (mdast-util-from-markdown): micromark 4 re-splices its
 * whole event list each time a list or block quote ends, so its parse grew with their number
 * times the document's size (30 kB of two-item lists took 1.6 s, a 50 kB document with a
 * few lists per section 80-120 ms); markdown-it tokenizes either in a few milliseconds.
 */
export function findSections(markdown: string): MarkdownSection[] {
  const lines = lineStarts(markdown);
  const tokens = commonmark.parse(markdown, {});
  const headings = tokens.flatMap((token, index) => {
    // Top-level headings only: level 0 is outside every list and block quote.
    if (token.type !== 'heading_open' || token.level !== 0 || !token.map) return [];
    const [first, after] = token.map;
    return [
      {
        depth: Number(token.tag.slice(1)),
        title: normalizeTitle(plainText(tokens[index + 1]?.children ?? [])),
        start: lines[first]!,
        // The line after the heading (a setext heading's underline included), or the text's end.
        bodyStart: lines[after] ?? markdown.length,
      },
    ];
  });
  return headings.map((heading, index) => {
    let next = index + 1;
    while (next < headings.length && headings[next]!.depth > heading.depth) next++;
    return {
      depth: heading.depth,
      title: heading.title,
      headingStart: heading.start,
      bodyStart: heading.bodyStart,
      end: headings[next]?.start ?? markdown.length,
    };
  });
}

/**
 * A heading or a line of text on its own, as the document's headings are read: "## **Tasks**"
 * → depth 2, "Tasks"; "Tasks" → "Tasks" (no depth); null for anything else (a list, two blocks).
 */
export function parseHeadingLine(line: string): { depth?: number; title: string } | null {
  const tokens = commonmark.parse(line, {});
  // One block: its open token, its inline content, its close token.
  if (tokens.length !== 3) return null;
  const title = normalizeTitle(plainText(tokens[1]!.children ?? []));
  if (tokens[0]!.type === 'heading_open') return { depth: Number(tokens[0]!.tag.slice(1)), title };
  return tokens[0]!.type === 'paragraph_open' ? { title } : null;
}

/** The offset where each line starts; lines end at LF, CRLF or a lone CR, as for markdown-it. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (const match of text.matchAll(/\r\n|\r|\n/g)) starts.push(match.index + match[0].length);
  return starts;
}

/** What a reader sees of a heading's inline content: its text, code and image descriptions. */
function plainText(tokens: readonly Token[]): string {
  return tokens
    .map((token) => {
      if (token.type === 'text' || token.type === 'code_inline') return token.content;
      if (token.type === 'image') return plainText(token.children ?? []);
      return token.type === 'softbreak' || token.type === 'hardbreak' ? ' ' : '';
    })
    .join('');
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

