import { fromMarkdown } from 'mdast-util-from-markdown';
import { toString } from 'mdast-util-to-string';

/** A markdown section: its heading and the body up to the next heading of the same or a higher level. */
export interface MarkdownSection {
  depth: number;
  /** The heading's text as rendered ("**Tasks**" → "Tasks"), trimmed. */
  title: string;
  /** UTF-16 offsets into the markdown. */
  headingStart: number;
  /** Just after the heading line (ATX) or its underline (setext), newline included. */
  bodyStart: number;
  end: number;
}

/**
 * The document's sections, found by a markdown parser: a "# line" inside a fenced code block
 * or an HTML block is not a heading. Only top-level headings count (not those inside lists
 * or block quotes).
 */
export function findSections(markdown: string): MarkdownSection[] {
  const headings = fromMarkdown(markdown).children.flatMap((node) =>
    node.type === 'heading' && node.position?.start.offset !== undefined && node.position.end.offset !== undefined
      ? [{ depth: node.depth, title: toString(node).trim(), start: node.position.start.offset, end: node.position.end.offset }]
      : [],
  );
  return headings.map((heading, index) => {
    const next = headings.slice(index + 1).find((other) => other.depth <= heading.depth);
    const bodyStart = markdown.startsWith('\r\n', heading.end)
      ? heading.end + 2
      : markdown[heading.end] === '\n'
        ? heading.end + 1
        : heading.end;
    return { depth: heading.depth, title: heading.title, headingStart: heading.start, bodyStart, end: next?.start ?? markdown.length };
  });
}
