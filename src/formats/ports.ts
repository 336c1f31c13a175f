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
   * Changes `doc` (the caller holds the transaction) so that it renders as `markdown`,
   * touching as little as it can, so that what people are editing elsewhere keeps its Yjs
   * identity. False when nothing had to change. Throws before changing anything when the
   * format cannot hold the markdown (UNSUPPORTED_MARKDOWN).
   */
  replace(doc: Y.Doc, markdown: string, limits?: DiffLimits): boolean;
}
