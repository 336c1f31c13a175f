import { AppError } from '../errors.ts';
import { joinedBytes, requireWithinLimit, utf8Bytes } from './document-size.ts';
import { findSections, lineBreakLength, normalizeTitle, parseHeadingLine, type MarkdownSection } from './markdown-sections.ts';

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
 *
 * Limits: more than MAX_EDITS edits is 413 TOO_MANY_EDITS; an edit whose result would be
 * larger than `limits.maxBytes` is 413 DOCUMENT_TOO_LARGE with `details: { edit, bytes,
 * maxBytes }`, found before that result is built.
 */
export function applyTextEdits(text: string, edits: readonly TextEdit[], limits: EditLimits = NO_LIMITS): string {
  requireEditCount(edits.length);
  let current = { text, bytes: utf8Bytes(text) };
  edits.forEach((edit, index) => {
    current = applyOne(current, edit, index, limits.maxBytes);
  });
  return current.text;
}

/** The most edits one request may carry (INTERFACE.md); more is 413 TOO_MANY_EDITS, before any is looked at. */
export const MAX_EDITS = 1000;

export function requireEditCount(count: number): void {
  if (count > MAX_EDITS) {
    throw new AppError('TOO_MANY_EDITS', `${count} edits in one request; at most ${MAX_EDITS} are allowed. Nothing was applied`, {
      details: { edits: count, maxEdits: MAX_EDITS },
    });
  }
}

/**
 * `maxBytes`: the largest text the edits may make (MAX_DOCUMENT_BYTES, in UTF-8 bytes). Each
 * edit's result size is known before its text is built, so a chain of edits that doubles the
 * text (`{ find: "a", replace: "aa", all: true }` again and again) stops at the edit that
 * would pass the limit instead of building a string too large for the process to hold.
 */
export interface EditLimits {
  maxBytes: number;
}

const NO_LIMITS: EditLimits = { maxBytes: Number.POSITIVE_INFINITY };

/** A text with its UTF-8 length, kept along so that no edit measures the whole text again without need. */
interface Sized {
  text: string;
  bytes: number;
}

function applyOne(current: Sized, edit: TextEdit, index: number, maxBytes: number): Sized {
  const within = (bytes: number) => requireWithinLimit(bytes, maxBytes, { edit: index });
  if ('find' in edit) return findAndReplace(current, edit, index, within);
  if ('heading' in edit) {
    const { text } = current;
    const section = sectionFor(text, edit.heading, index);
    // A section edit adds its own text and at most two line breaks, never a multiple of
    // anything: it is built, then measured.
    const result = 'append' in edit ? appendToSection(text, section, edit.append) : replaceSectionBody(text, section, edit.replace);
    const bytes = utf8Bytes(result);
    within(bytes);
    return { text: result, bytes };
  }
  if ('append' in edit) {
    const bytes = joinedBytes(current.text, current.bytes, edit.append, utf8Bytes(edit.append));
    within(bytes);
    return { text: current.text + edit.append, bytes };
  }
  const bytes = joinedBytes(edit.prepend, utf8Bytes(edit.prepend), current.text, current.bytes);
  within(bytes);
  return { text: edit.prepend + current.text, bytes };
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

function findAndReplace(
  current: Sized,
  edit: { find: string; replace: string; all?: boolean | undefined },
  index: number,
  within: (bytes: number) => void,
): Sized {
  const { text } = current;
  if (edit.find === '') throw invalid(index, 'find', 'must not be empty');
  const label = `find ${quote(edit.find)}`;
  const count = countOccurrences(text, edit.find, 1);
  if (count === 0) throw conflict(index, label, 'not_found', 'not found; read the document again', 0);
  if (!edit.all && count > 1) throw conflict(index, label, 'ambiguous', `found ${count} times; add "all": true or make it unique`, count);
  // The size the result will have, before it exists: exact for well-formed text (a lone
  // surrogate split from or joined to its pair can move it by a few bytes, which the exact
  // measure below catches).
  const replaced = edit.all ? countOccurrences(text, edit.find, edit.find.length) : 1;
  within(current.bytes + replaced * (utf8Bytes(edit.replace) - utf8Bytes(edit.find)));
  let result: string;
  if (edit.all) {
    // split/join: measured faster and leaner than replaceAll on an 8 MiB text of matches.
    result = text.split(edit.find).join(edit.replace);
  } else {
    const at = text.indexOf(edit.find);
    // Slicing rather than String.replace, where "$&" in the replacement would be a pattern.
    result = text.slice(0, at) + edit.replace + text.slice(at + edit.find.length);
  }
  const bytes = utf8Bytes(result);
  within(bytes);
  return { text: result, bytes };
}

/** Occurrences of `find`, the next looked for `step` after the start of the last: 1 counts overlapping ones, find.length does not. */
function countOccurrences(text: string, find: string, step: number): number {
  let count = 0;
  for (let at = text.indexOf(find); at !== -1; at = text.indexOf(find, at + step)) count++;
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
  return parseHeadingLine(heading.trim()) ?? { title: normalizeTitle(heading) };
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
