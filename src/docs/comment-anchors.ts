import * as Y from 'yjs';
import { AppError } from '../errors.ts';

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
 * outside the anchor and text typed inside it is taken in.
 */
export function createAnchor(text: Y.Text, range: TextRange): StoredAnchor {
  return {
    start: Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(text, range.from, 0)),
    end: Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(text, range.to, -1)),
  };
}

/**
 * Where the anchor is in `doc` now, or null when it is detached: the anchored text was
 * deleted (the two positions meet), or the positions name nothing this document has.
 */
export function resolveAnchor(doc: Y.Doc, text: Y.Text, anchor: StoredAnchor, content = text.toString()): ResolvedAnchor | null {
  const start = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(anchor.start), doc);
  const end = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(anchor.end), doc);
  if (!start || !end || start.type !== text || end.type !== text || end.index <= start.index) return null;
  return { from: start.index, to: end.index, text: content.slice(start.index, end.index) };
}
