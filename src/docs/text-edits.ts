import { fromMarkdown } from 'mdast-util-from-markdown';
import { toString } from 'mdast-util-to-string';
import { AppError } from '../errors.ts';
import { findSections, lineBreakLength, normalizeTitle, type MarkdownSection } from './markdown-sections.ts';

/** JSON edits of PATCH /v1/documents/:id (INTERFACE.md "JSON edits"). */
export type TextEdit =
  | { find: string; replace: string; all?: boolean | undefined }
  | { append: string }
  | { prepend: string }
  | { heading: string; append: string }
  | { heading: string; replace: string };

/**
 * Applies the edits in order, each against the result of the previous one. Pure: an edit
 * that does not apply throws before anything is written, so a request applies whole or
 * not at all. Conflicts are 409 EDIT_CONFLICT with `details: { edit, reason, count }`:
 * `edit` is the 0-based index in the list (as in the JSON path /edits/<i>), `reason`
 * "not_found" or "ambiguous", `count` how many matches there are. An empty `find` or
 * `heading` is 400 VALIDATION_FAILED.
 *
 * - `{ find, replace }` replaces the one occurrence of `find`. Occurrences are counted
 *   overlapping ones included ("aa" is twice in "aaa"), since either could be meant.
 *   `all: true` replaces every occurrence, left to right without overlaps; there must be one.
 * - `{ append }` / `{ prepend }` add the text as given, at the very end or start.
 * - `{ heading, ... }` works on a section: the heading and what follows up to the next
 *   heading of the same or a higher level, subsections included (see markdown-sections.ts).
 *   `heading` is markdown, "## Tasks" (that level) or "Tasks" (any level), and matches the
 *   heading's rendered text, case-sensitive, with runs of whitespace made one space, so
 *   "## **Tasks**" in the document is matched by "## Tasks" and "Tasks". Text that is not a
 *   heading or a plain paragraph ("1. Intro" reads as a list) is matched as written.
 * - `{ heading, append }` puts the text on the line after the section's last non-blank line,
 *   so it lands before the blank lines that separate the section from the next heading and
 *   a list grows by an item ("- b" after "- a"). Leading blank lines in the text ask for a
 *   blank line before it (one, however many are sent; "\n\nNew paragraph."); trailing ones
 *   are dropped because the section's own spacing after it is kept. In an empty section the
 *   text goes after the heading with the spacing the heading had (a blank line before the
 *   text if one followed the heading).
 * - `{ heading, replace }` replaces everything from the section's first to its last
 *   non-blank line, keeping the heading line and the blank lines around the body, with the
 *   text stripped of leading blank lines and trailing whitespace. An empty text empties the
 *   section: the heading is then followed directly by the spacing that followed the body.
 * Separators that Tandem adds use the section's line breaks (CRLF if it has them).
 */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  return edits.reduce((current, edit, index) => applyOne(current, edit, index), text);
}

function applyOne(text: string, edit: TextEdit, index: number): string {
  if ('find' in edit) return findAndReplace(text, edit, index);
  if ('heading' in edit) {
    const section = sectionFor(text, edit.heading, index);
    return 'append' in edit ? appendToSection(text, section, edit.append) : replaceSectionBody(text, section, edit.replace);
  }
  if ('append' in edit) return text + edit.append;
  return edit.prepend + text;
}

const quote = (value: string) => JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);

function conflict(index: number, label: string, reason: 'not_found' | 'ambiguous', advice: string, count: number): AppError {
  return new AppError('EDIT_CONFLICT', `edit ${index} (${label}): ${advice}`, { details: { edit: index, reason, count } });
}

function invalid(index: number, field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', `edit ${index}: "${field}" ${message}`, {
    details: [{ path: `/edits/${index}/${field}`, message }],
  });
}

function findAndReplace(text: string, edit: { find: string; replace: string; all?: boolean | undefined }, index: number): string {
  if (edit.find === '') throw invalid(index, 'find', 'must not be empty');
  const label = `find ${quote(edit.find)}`;
  const count = countOccurrences(text, edit.find);
  if (count === 0) throw conflict(index, label, 'not_found', 'not found; read the document again', 0);
  if (edit.all) return text.split(edit.find).join(edit.replace);
  if (count > 1) throw conflict(index, label, 'ambiguous', `found ${count} times; add "all": true or make it unique`, count);
  const at = text.indexOf(edit.find);
  // Slicing rather than String.replace, where "$&" in the replacement would be a pattern.
  return text.slice(0, at) + edit.replace + text.slice(at + edit.find.length);
}

function countOccurrences(text: string, find: string): number {
  let count = 0;
  for (let at = text.indexOf(find); at !== -1; at = text.indexOf(find, at + 1)) count++;
  return count;
}

function sectionFor(text: string, heading: string, index: number): MarkdownSection {
  if (heading.trim() === '') throw invalid(index, 'heading', 'must not be empty');
  const wanted = parseHeading(heading);
  const matches = findSections(text).filter(
    (section) => section.title === wanted.title && (wanted.depth === undefined || section.depth === wanted.depth),
  );
  const label = `heading ${quote(heading)}`;
  if (matches.length === 0) throw conflict(index, label, 'not_found', 'no such heading; read the document again', 0);
  if (matches.length > 1) {
    const advice = wanted.depth === undefined ? 'give its level ("## ...") or make the headings unique' : 'make the headings unique';
    throw conflict(index, label, 'ambiguous', `${matches.length} headings match; ${advice}`, matches.length);
  }
  return matches[0]!;
}

/** "## **Tasks**" → level 2, "Tasks"; "Tasks" → any level. Parsed as the document is, so both render alike. */
function parseHeading(heading: string): { depth?: number; title: string } {
  const blocks = fromMarkdown(heading.trim()).children;
  const only = blocks.length === 1 ? blocks[0]! : undefined;
  if (only?.type === 'heading') return { depth: only.depth, title: normalizeTitle(toString(only)) };
  if (only?.type === 'paragraph') return { title: normalizeTitle(toString(only)) };
  return { title: normalizeTitle(heading) };
}

/** Where a section's body has text: from the start of its first to the end of its last non-blank line. */
function layoutOf(text: string, section: MarkdownSection) {
  const headingEnd = section.bodyStart - lineBreakBefore(text, section.bodyStart);
  const eol = /\r\n/.test(text.slice(section.headingStart, section.end)) ? '\r\n' : '\n';
  const body = text.slice(section.bodyStart, section.end);
  const first = body.search(/\S/);
  if (first === -1) return { headingEnd, eol, content: undefined };
  const last = body.trimEnd().length - 1;
  const start = section.bodyStart + Math.max(body.lastIndexOf('\n', first), body.lastIndexOf('\r', first)) + 1;
  const lineBreak = /[\r\n]/.exec(body.slice(last));
  const end = section.bodyStart + (lineBreak ? last + lineBreak.index : body.length);
  return { headingEnd, eol, content: { start, end } };
}

function lineBreakBefore(text: string, offset: number): number {
  if (offset >= 2 && text.startsWith('\r\n', offset - 2)) return 2;
  return offset >= 1 && lineBreakLength(text, offset - 1) === 1 ? 1 : 0;
}

/** Added text as whole lines: without its leading blank lines (noting whether it had any) and trailing whitespace. */
function core(addition: string): { text: string; blankBefore: boolean } {
  const leading = /^(?:[ \t]*\r?\n)*/.exec(addition)![0];
  return { text: addition.slice(leading.length).trimEnd(), blankBefore: leading.length > 0 };
}

function appendToSection(text: string, section: MarkdownSection, addition: string): string {
  const { headingEnd, eol, content } = layoutOf(text, section);
  const added = core(addition);
  if (added.text === '') return text;
  const anchor = content?.end ?? headingEnd;
  // In an empty section, mirror the heading's spacing: a blank line after it stays before the text.
  const blank = added.blankBefore || (content === undefined && blankLineFollows(text, anchor, section.end));
  return text.slice(0, anchor) + eol + (blank ? eol : '') + added.text + text.slice(anchor);
}

function replaceSectionBody(text: string, section: MarkdownSection, replacement: string): string {
  const { headingEnd, eol, content } = layoutOf(text, section);
  const body = core(replacement).text;
  if (content === undefined) {
    if (body === '') return text;
    const blank = blankLineFollows(text, headingEnd, section.end);
    return text.slice(0, headingEnd) + eol + (blank ? eol : '') + body + text.slice(headingEnd);
  }
  if (body === '') return text.slice(0, headingEnd) + text.slice(content.end);
  return text.slice(0, content.start) + body + text.slice(content.end);
}

/** Whether the whitespace from `from` to `to` holds an empty line, i.e. two line breaks. */
function blankLineFollows(text: string, from: number, to: number): boolean {
  return (text.slice(from, to).match(/\r\n|\r|\n/g)?.length ?? 0) >= 2;
}
