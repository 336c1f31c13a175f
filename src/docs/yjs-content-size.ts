import * as Y from 'yjs';

/**
 * How many bytes of content a Y.Doc holds, and how many an update would add: the measure
 * MAX_DOCUMENT_BYTES applies to what sockets and raw Yjs updates write. Every shared type
 * counts, not only `content`: content written under another name takes memory and storage
 * all the same. Deleted content counts nothing (Yjs frees it).
 *
 * The measure must not move when Yjs splits an item (an insertion in the middle of a run
 * splits it in two), or a running count drifts from the truth:
 * - text counts as UTF-8 with each UTF-16 unit on its own (CESU-8): the UTF-8 of the markdown
 *   exactly, except that a character outside the BMP (an emoji) counts 6 bytes, not 4. Yjs
 *   replaces both halves of a surrogate pair it splits by U+FFFD (3 bytes each), so only this
 *   measure stays the same through such a split;
 * - an array of values counts the JSON of each value (not of the array, whose brackets a
 *   split would add); binary counts its length;
 * - a nested type or subdocument counts 1, so that a flood of empty maps is not free.
 */

export function contentBytes(content: Y.Item['content']): number {
  if (content instanceof Y.ContentString) return textBytes(content.str);
  if (content instanceof Y.ContentDeleted) return 0;
  if (content instanceof Y.ContentBinary) return content.content.byteLength;
  if (content instanceof Y.ContentType || content instanceof Y.ContentDoc) return 1;
  if (content instanceof Y.ContentFormat) return textBytes(content.key) + jsonBytes(content.value);
  if (content instanceof Y.ContentEmbed) return jsonBytes(content.embed);
  if (content instanceof Y.ContentAny || content instanceof Y.ContentJSON) {
    return content.arr.reduce((sum: number, value: unknown) => sum + jsonBytes(value), 0);
  }
  return 1;
}

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;
const SURROGATE_PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** CESU-8 length: Buffer's UTF-8 length (a lone surrogate is already 3 bytes there) plus 2 for every pair. */
function textBytes(text: string): number {
  const utf8 = Buffer.byteLength(text);
  if (!HIGH_SURROGATE.test(text)) return utf8;
  return utf8 + 2 * (text.match(SURROGATE_PAIR)?.length ?? 0);
}

function jsonBytes(value: unknown): number {
  return textBytes(JSON.stringify(value) ?? '');
}

/** The content every live (not deleted) item of `doc` holds. One pass over its struct store. */
export function contentBytesOfDoc(doc: Y.Doc): number {
  let total = 0;
  for (const structs of doc.store.clients.values()) {
    for (const struct of structs) if (struct instanceof Y.Item && !struct.deleted) total += contentBytes(struct.content);
  }
  return total;
}

/**
 * An upper bound of what `update` can add, from its length alone, so that the common case (a
 * small update to a document far from its limit) decodes nothing. No encoded byte measures
 * more than 6: a control character in a JSON string is 1 byte encoded and `\u0001` measured,
 * `false` is 1 and 5, an emoji 4 and 6, and every struct carries a header besides. 8 leaves room.
 */
export const contentBytesAtMost = (update: Uint8Array): number => 8 * update.byteLength;

/**
 * The content `update` would add to `doc`: only what `doc` does not have yet (a reconnecting
 * client's sync step 2 repeats the whole document, and counts only for what is new in it).
 * Deletions the update carries are not subtracted, so this is an upper bound, cheap to get:
 * it reads the update, not the document.
 */
export function newContentBytes(doc: Y.Doc, update: Uint8Array): number {
  const fresh = Y.diffUpdate(update, Y.encodeStateVector(doc));
  let total = 0;
  for (const struct of Y.decodeUpdate(fresh).structs) if (struct instanceof Y.Item) total += contentBytes(struct.content);
  return total;
}

/**
 * The exact content `doc` would hold with `update` applied, found on a copy: for the rare
 * write that the upper bound above would refuse (a document near its limit).
 */
export function contentBytesWith(doc: Y.Doc, update: Uint8Array): number {
  const copy = new Y.Doc();
  try {
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    Y.applyUpdate(copy, update);
    return contentBytesOfDoc(copy);
  } finally {
    copy.destroy();
  }
}

/**
 * How much content a transaction added (minus what it deleted), from its own records: the
 * items it created (clocks past its before-state) and those its delete set covers. Run on
 * 'afterTransaction', before Yjs frees the deleted content. Costs what the change touched.
 */
export function contentDeltaOf(transaction: Y.Transaction): number {
  const { store } = transaction.doc;
  let delta = 0;
  transaction.afterState.forEach((after, client) => {
    const before = transaction.beforeState.get(client) ?? 0;
    const structs = store.clients.get(client);
    if (after <= before || !structs) return;
    for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
      const struct = structs[i]!;
      if (struct instanceof Y.Item && !struct.deleted) delta += contentBytes(struct.content);
    }
  });
  transaction.deleteSet.clients.forEach((ranges, client) => {
    const before = transaction.beforeState.get(client) ?? 0;
    const structs = store.clients.get(client);
    if (!structs) return;
    for (const { clock, len } of ranges) {
      for (let i = Y.findIndexSS(structs, clock); i < structs.length && structs[i]!.id.clock < clock + len; i++) {
        const struct = structs[i]!;
        // Created and deleted in this same transaction: never counted above, so not here either.
        if (struct instanceof Y.Item && struct.id.clock < before) delta -= contentBytes(struct.content);
      }
    }
  });
  return delta;
}
