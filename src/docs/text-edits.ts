import { AppError } from '../errors.ts';
import { findSections, type MarkdownSection } from './markdown-sections.ts';

/** JSON edits of PATCH /v1/documents/:id (INTERFACE.md), applied in order. */
export type TextEdit =
  | { find: string; replace: string; all?: boolean | undefined }
  | { append: string }
  | { prepend: string }
  | { heading: string; append: string }
  | { heading: string; replace: string };

/**
 * Applies the edits in order, each to the result of the previous one. Pure: a conflict in
 * any edit throws before anything is written, so a request applies whole or not at all.
 *
 * - `find`/`replace`: the one occurrence of `find`; several → conflict unless `all: true`.
 * - `append`/`prepend`: concatenated as given, at the end or the start.
 * - `heading` + `append`: at the end of that section's content (before the blank lines that
 *   separate it from the next heading), on a line of its own.
 * - `heading` + `replace`: the section's body; the heading line and the blank lines around
 *   the body stay as they were.
 * `heading` is "## Tasks" (that level) or "Tasks" (any level), matched against the heading's
 * rendered text, so "## **Tasks**" is "Tasks".
 */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  return edits.reduce((current, edit, index) => applyOne(current, edit, index), text);
}

function applyOne(text: string, edit: TextEdit, index: number): string {
  if ('find' in edit) return findAndReplace(text, edit, index);
  if ('heading' in edit) {
    const section = sectionFor(text, edit.heading, index);
    return 'append' in edit ? appendToSection(text, section, edit.append) : replaceSection(text, section, edit.replace);
  }
  if ('append' in edit) return text + edit.append;
  return edit.prepend + text;
}

function conflict(index: number, edit: string, reason: string): AppError {
  return new AppError('EDIT_CONFLICT', `edit ${index} (${edit}): ${reason}`, { details: { edit: index, reason } });
}

const quote = (value: string) => JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);

function findAndReplace(text: string, edit: { find: string; replace: string; all?: boolean | undefined }, index: number): string {
  if (edit.find === '') throw new AppError('VALIDATION_FAILED', `edit ${index}: "find" must not be empty`);
  const count = text.split(edit.find).length - 1;
  const label = `find ${quote(edit.find)}`;
  if (count === 0) throw conflict(index, label, 'not found; read the document again');
  if (count > 1 && !edit.all) throw conflict(index, label, `found ${count} times; add "all": true or make it unique`);
  if (edit.all) return text.split(edit.find).join(edit.replace);
  const at = text.indexOf(edit.find);
  return text.slice(0, at) + edit.replace + text.slice(at + edit.find.length);
}

function sectionFor(text: string, heading: string, index: number): MarkdownSection {
  const atx = /^(#{1,6})\s+(.*?)(?:\s+#+)?\s*$/.exec(heading.trim());
  const depth = atx ? atx[1]!.length : undefined;
  const title = (atx ? atx[2]! : heading).trim();
  const matches = findSections(text).filter((section) => section.title === title && (depth === undefined || section.depth === depth));
  const label = `heading ${quote(heading)}`;
  if (matches.length === 0) throw conflict(index, label, 'no such heading; read the document again');
  if (matches.length > 1) throw conflict(index, label, `${matches.length} headings match; give the level ("## ...") or rename one`);
  return matches[0]!;
}

/** Where a section's content ends: before the blank lines that separate it from what follows. */
function contentEnd(text: string, section: MarkdownSection): number {
  let end = section.end;
  while (end > section.bodyStart && /\s/.test(text[end - 1]!)) end--;
  return end;
}

function appendToSection(text: string, section: MarkdownSection, addition: string): string {
  const end = contentEnd(text, section);
  const hasContent = end > section.bodyStart;
  // The addition goes on a line of its own, right after the last line of content.
  const at = hasContent ? end + (text[end] === '\r' ? 2 : text[end] === '\n' ? 1 : 0) : section.bodyStart;
  const before = at > 0 && text[at - 1] !== '\n' ? '\n' : '';
  const after = at < text.length && !addition.endsWith('\n') ? '\n' : '';
  return text.slice(0, at) + before + addition + after + text.slice(at);
}

function replaceSection(text: string, section: MarkdownSection, replacement: string): string {
  const body = text.slice(section.bodyStart, section.end);
  const leading = /^\s*/.exec(body)![0];
  const trailing = body.trim() === '' ? '' : /\s*$/.exec(body)![0];
  const core = replacement.replace(/^\n+/, '').replace(/\s+$/, '');
  const tail = trailing || (section.end < text.length ? '\n' : '');
  return text.slice(0, section.bodyStart) + leading + core + (core ? tail : '') + text.slice(section.end);
}
