import { requireWithinLimit, utf8Bytes } from './document-size.ts';
import { applyTextEdits, type TextEdit } from './text-edits.ts';
import { applyUnifiedDiff } from './unified-diff.ts';

/**
 * What a text write asks for, as data rather than a function of the text, so that it can be
 * worked out in another thread (content-work.ts): the whole new content (PUT, restore), JSON
 * edits or a unified diff (PATCH and the MCP tools).
 */
export type TextChange = { content: string } | { edits: readonly TextEdit[] } | { diff: string };

/**
 * The markdown `change` makes of `text`, refused (413 DOCUMENT_TOO_LARGE) past `maxBytes`;
 * edits stop as soon as the text they build is too large.
 */
export function changedText(change: TextChange, text: string, maxBytes: number): string {
  const wanted =
    'content' in change ? change.content : 'edits' in change ? applyTextEdits(text, change.edits, { maxBytes }) : applyUnifiedDiff(text, change.diff);
  requireWithinLimit(utf8Bytes(wanted), maxBytes);
  return wanted;
}
