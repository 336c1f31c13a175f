import type * as Y from 'yjs';
import type { DiffLimits } from './text-diff.ts';

/** What a document holds (INTERFACE.md, "Rich-text documents"); fixed when it is made. */
export const DOCUMENT_FORMATS = ['markdown', 'prosemirror'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

/**
 * How a format's Y.Doc is read and written as markdown, the one language of REST, MCP, history
 * and agents. Everything that reads or writes content goes through here, so that both formats
 * get every write path (PUT, PATCH edits and diffs, base-version merges, restores).
 */
export interface ContentFormat {
  readonly name: DocumentFormat;
  /** The document's content as markdown. */
  render(doc: Y.Doc): string;
  /**
   * Changes `doc` (the caller holds the transaction) so that it renders as `next` makes of
   * its markdown now, touching as little as it can, so that what people are editing
   * elsewhere keeps its Yjs identity. False when nothing had to change. Throws before
   * changing anything when `next` does, or the format cannot hold the markdown
   * (UNSUPPORTED_MARKDOWN).
   */
  replace(doc: Y.Doc, next: (markdown: string) => string, limits?: DiffLimits): boolean;
  /** The markdown, and where its characters live in `doc`: what comments anchor to. */
  textMap(doc: Y.Doc): TextMap;
}

/**
 * Between offsets in a document's markdown and Yjs positions in its content, so that an
 * anchor made on the markdown follows the text through everyone's later edits.
 */
export interface TextMap {
  readonly markdown: string;
  /**
   * Relative positions around the text of the markdown range [from, to): the start sticks to
   * the first character in it (assoc 0), the end to the last (assoc -1), so text typed at
   * either edge stays outside. Null when no character of the document's text lies in the
   * range (markup alone, in rich text).
   */
  anchor(from: number, to: number): { start: Y.RelativePosition; end: Y.RelativePosition } | null;
  /** The markdown offset of an anchor's start or end, now; null when it names no text of the document. */
  offsetOf(position: Y.AbsolutePosition, edge: 'start' | 'end'): number | null;
}
