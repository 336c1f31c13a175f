import * as Y from 'yjs';
import type { ContentFormat } from './ports.ts';

/** Markdown [start, end) whose characters are the Yjs items client:clock … client:clock + (end − start − 1). */
export interface ItemRun {
  start: number;
  end: number;
  client: number;
  clock: number;
}

/** The Y.Text and Y.XmlText types that hold a document's characters, wherever they are. */
function textTypes(doc: Y.Doc): Y.Text[] {
  const found: Y.Text[] = [];
  const visit = (type: unknown) => {
    if (type instanceof Y.Text) found.push(type); // Y.XmlText is a Y.Text
    else if (type instanceof Y.XmlElement || type instanceof Y.XmlFragment) for (const child of type.toArray()) visit(child);
  };
  for (const type of doc.share.values()) {
    // A root type someone only ever read is an AbstractType; its content tells its kind.
    if (type instanceof Y.Text || type instanceof Y.XmlFragment) visit(type);
  }
  return found;
}

/**
 * Which Yjs item each character of the document's markdown is, as runs of consecutive items.
 * Markup (heading marks, list markers, escapes) belongs to no item and is left out. The
 * characters are found through the format's text map, so rich text and markdown share this.
 */
export function itemRuns(format: ContentFormat, doc: Y.Doc): { markdown: string; runs: ItemRun[] } {
  const map = format.textMap(doc);
  const length = map.markdown.length;
  const clients = new Float64Array(length).fill(-1);
  const clocks = new Float64Array(length);
  for (const type of textTypes(doc)) {
    let index = 0;
    for (let item = type._start; item; item = item.right) {
      if (item.deleted || !item.countable) continue;
      for (let k = 0; k < item.length; k++) {
        const offset = map.offsetOf({ type, index: index + k, assoc: 0 } as Y.AbsolutePosition, 'start');
        if (offset === null || offset >= length) continue;
        clients[offset] = item.id.client;
        clocks[offset] = item.id.clock + k;
      }
      index += item.length;
    }
  }
  const runs: ItemRun[] = [];
  let open: ItemRun | undefined;
  for (let offset = 0; offset < length; offset++) {
    const client = clients[offset]!;
    if (client === -1) {
      open = undefined;
      continue;
    }
    const clock = clocks[offset]!;
    if (open && open.client === client && open.clock + (open.end - open.start) === clock) open.end = offset + 1;
    else runs.push((open = { start: offset, end: offset + 1, client, clock }));
  }
  return { markdown: map.markdown, runs };
}
