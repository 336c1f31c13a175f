import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { blameRuns, type LoggedUpdate } from '../../src/docs/blame-runs.ts';
import { markdownFormat } from '../../src/formats/markdown-format.ts';
import { prosemirrorFormat } from '../../src/formats/prosemirror-format.ts';

/** A log made by clients taking turns on one Y.Text: each step is one logged update. */
function markdownLog(steps: { client: number; at: number; insert?: string; remove?: number }[]) {
  const doc = new Y.Doc();
  const text = doc.getText('content');
  const log: LoggedUpdate[] = [];
  doc.on('update', (update: Uint8Array) => log.push({ seq: log.length + 1, update }));
  for (const step of steps) {
    doc.clientID = step.client;
    if (step.remove) text.delete(step.at, step.remove);
    if (step.insert) text.insert(step.at, step.insert);
  }
  return { state: Y.encodeStateAsUpdate(doc), log, text: text.toString() };
}

const cut = (markdown: string, runs: { start: number; end: number; client: number | null; version: number | null }[]) =>
  runs.map((run) => [markdown.slice(run.start, run.end), run.client, run.version]);

describe('blame runs', () => {
  it('cuts markdown by client and by the version that wrote each part, with no gap', () => {
    const { state, log, text } = markdownLog([
      { client: 1, at: 0, insert: 'Hello world' },
      { client: 2, at: 5, insert: ', dear' },
      { client: 1, at: 17, insert: '!' },
      { client: 2, at: 0, remove: 1, insert: 'J' },
    ]);
    expect(text).toBe('Jello, dear world!');
    const { markdown, runs } = blameRuns(markdownFormat, [state], log);
    expect(markdown).toBe(text);
    expect(cut(markdown, runs)).toEqual([
      ['J', 2, 5], // the deletion before it was version 4
      ['ello', 1, 1],
      [', dear', 2, 2],
      [' world', 1, 1],
      ['!', 1, 3],
    ]);
  });

  it('gives text whose log entries were compacted away no version', () => {
    const { state, log } = markdownLog([
      { client: 7, at: 0, insert: 'old' },
      { client: 8, at: 3, insert: ' new' },
    ]);
    const { markdown, runs } = blameRuns(markdownFormat, [state], log.slice(1));
    expect(cut(markdown, runs)).toEqual([
      ['old', 7, null],
      [' new', 8, 2],
    ]);
  });

  it('gives rich text markup to the text after it, and the last markup to the text before it', () => {
    const doc = new Y.Doc();
    doc.clientID = 5;
    const heading = new Y.XmlElement('heading');
    heading.setAttribute('level', 2 as unknown as string);
    heading.insert(0, [new Y.XmlText('Title')]);
    const paragraph = new Y.XmlElement('paragraph');
    const words = new Y.XmlText('plain bold');
    paragraph.insert(0, [words]);
    doc.getXmlFragment('default').insert(0, [heading, paragraph]);
    doc.clientID = 6;
    words.format(6, 4, { bold: {} });
    const { markdown, runs } = blameRuns(prosemirrorFormat, [Y.encodeStateAsUpdate(doc)], []);
    expect(markdown).toBe('## Title\n\nplain **bold**');
    // The bold marks are client 6's formatting, not characters: the text stays client 5's.
    expect(cut(markdown, runs)).toEqual([['## Title\n\nplain **bold**', 5, null]]);
  });

  it('has no runs for an empty document', () => {
    expect(blameRuns(markdownFormat, [], []).runs).toEqual([]);
  });
});
