import * as Y from 'yjs';
import { AppError } from '../errors.ts';
import type { TextMap } from '../formats/ports.ts';

/** A range of the text by character offsets (UTF-16 code units, as JavaScript strings count). */
export interface TextRange {
  from: number;
  to: number;
}

/** How a new thread names the text it is about: offsets into the current content, or the text itself. */
export type AnchorRequest = TextRange | { quote: string };

/** An anchor as stored: two encoded Yjs relative positions. */
export interface StoredAnchor {
  start: Uint8Array;
  end: Uint8Array;
}

/** Where an anchor is in a document now. */
export interface ResolvedAnchor extends TextRange {
  text: string;
}

/**
 * The range `request` names in `content`: the offsets as given (checked against the current
 * length) or the first occurrence of the quote. ANCHOR_NOT_FOUND when it does not fit: the
 * client's view of the text is not the current one.
 */
export function rangeOf(content: string, request: AnchorRequest): TextRange {
  if ('quote' in request) {
    const from = content.indexOf(request.quote);
    if (from === -1) throw new AppError('ANCHOR_NOT_FOUND', 'The quoted text is not in the document', { details: { quote: request.quote } });
    return { from, to: from + request.quote.length };
  }
  const { from, to } = request;
  if (to <= from) throw new AppError('VALIDATION_FAILED', 'anchor.to must be greater than anchor.from', { details: [{ path: '/anchor/to', message: 'must be greater than from' }] });
  if (to > content.length) {
    throw new AppError('ANCHOR_NOT_FOUND', `The range ${from}-${to} is outside the document (${content.length} characters long)`, {
      details: { from, to, length: content.length },
    });
  }
  return { from, to };
}

/**
 * The range as two relative positions. The start sticks to the first anchored character
 * (assoc 0) and the end to the last one (assoc -1), so text typed right at either edge stays
 * outside the anchor and text typed inside it is taken in. ANCHOR_NOT_FOUND when the range
 * holds no text of the document (only markup, in a rich-text document).
 */
export function createAnchor(map: TextMap, range: TextRange): StoredAnchor {
  const anchor = map.anchor(range.from, range.to);
  if (!anchor) {
    throw new AppError('ANCHOR_NOT_FOUND', `The range ${range.from}-${range.to} holds only markup, no text of the document`, { details: range });
  }
  return { start: Y.encodeRelativePosition(anchor.start), end: Y.encodeRelativePosition(anchor.end) };
}

/**
 * Where the anchor is in `doc` now, or null when it is detached: the anchored text was
 * deleted (the two positions meet), or the positions name nothing this document has.
 */
export function resolveAnchor(doc: Y.Doc, map: TextMap, anchor: StoredAnchor): ResolvedAnchor | null {
  const start = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(anchor.start), doc);
  const end = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(anchor.end), doc);
  const from = start && map.offsetOf(start, 'start');
  const to = end && map.offsetOf(end, 'end');
  if (from == null || to == null || to <= from) return null;
  return { from, to, text: map.markdown.slice(from, to) };
}
