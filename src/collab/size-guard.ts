import type * as Y from 'yjs';
import { contentBytesAtMost, contentBytesOfDoc, contentDeltaOf, newContentBytes } from '../docs/yjs-content-size.ts';

/**
 * MAX_DOCUMENT_BYTES for a loaded document: how much content it holds, kept up to date from
 * each transaction (whoever made it: sockets, server writes, other nodes), and the check a
 * socket's update must pass before it is applied.
 */
export interface SizeGuard {
  /** The content the document holds now (yjs-content-size.ts). */
  bytes(): number;
  /**
   * Whether an update a client sent may be applied: what the document holds plus everything
   * new in the update stays within the limit. Deletions in the same update are not credited
   * (that would take applying it), so a document at its limit takes deletions before insertions.
   */
  admits(update: Uint8Array): boolean;
  close(): void;
}

export function createSizeGuard(doc: Y.Doc, maxBytes: number): SizeGuard {
  let bytes = contentBytesOfDoc(doc);
  const count = (transaction: Y.Transaction) => {
    bytes += contentDeltaOf(transaction);
  };
  doc.on('afterTransaction', count);

  return {
    bytes: () => bytes,
    admits(update) {
      // Every socket update passes here: most are settled by their length, without decoding.
      if (bytes + contentBytesAtMost(update) <= maxBytes) return true;
      const added = newContentBytes(doc, update);
      if (bytes + added <= maxBytes) return true;
      // Measured again before refusing, should the running count have drifted: a refusal
      // closes the socket, so this pass over the whole document happens once per connection.
      bytes = contentBytesOfDoc(doc);
      return bytes + added <= maxBytes;
    },
    close() {
      doc.off('afterTransaction', count);
    },
  };
}
