export interface RestWritesTask {
  kind: 'rest-writes';
  httpUrl: string;
  requests: number;
  concurrency: number;
  documents: number;
  prefix: string;
  /**
   * An agent rewriting one section of a large document after another (the document's format
   * and first content), instead of appending lines to small markdown documents.
   */
  sections?: { format: 'markdown' | 'prosemirror'; content: string; count: number } | undefined;
}

export interface RestWritesResult {
  latenciesMs: number[];
  elapsedMs: number;
  failures: number;
}

/**
 * A document of about `bytes` of markdown in `count` sections, each with a heading, a
 * paragraph with marks and a link, a list and a task list: what rich-text documents hold.
 */
export function sectionedMarkdown(bytes: number): { content: string; count: number } {
  const sections: string[] = [];
  for (let i = 0, length = 0; length < bytes; i++, length += sections.at(-1)!.length + 2) {
    sections.push(
      `## Section ${i}\n\nThis paragraph of section ${i} has **bold** and *italic* words, \`code\`, and a [link](https://example.com/${i}).\nIt runs over a second line, as written text does, and then a third line to make it longer.\n\n- first point of ${i}\n- second point\n  - nested point\n\n- [ ] open task ${i}\n- [x] done task ${i}`,
    );
  }
  return { content: sections.join('\n\n'), count: sections.length };
}

/**
 * JSON PATCHes, each answered once durable, from `concurrency` callers in a loop, spread over
 * `documents` documents: appended lines, or (`sections`) one section's body rewritten.
 */
export async function runRestWrites(task: RestWritesTask): Promise<RestWritesResult> {
  const ids = Array.from({ length: task.documents }, (_, i) => `${task.prefix}-${i}`);
  for (const id of ids) {
    const response = await fetch(`${task.httpUrl}/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(task.sections ? { id, format: task.sections.format, content: task.sections.content } : { id, content: '# Log\n' }),
    });
    if (response.status !== 201) throw new Error(`creating ${id}: HTTP ${response.status} ${await response.text()}`);
  }
  const latenciesMs: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: task.concurrency }, async () => {
      while (next < task.requests) {
        const n = next++;
        const id = ids[n % ids.length]!;
        const sent = performance.now();
        const response = await fetch(`${task.httpUrl}/v1/documents/${id}`, {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ edits: [editFor(task, n)] }),
        });
        await response.arrayBuffer();
        if (response.status === 200) latenciesMs.push(performance.now() - sent);
        else failures += 1;
      }
    }),
  );
  return { latenciesMs, elapsedMs: performance.now() - started, failures };
}

function editFor(task: RestWritesTask, n: number): Record<string, string> {
  if (!task.sections) return { append: `- entry ${n}\n` };
  return {
    heading: `## Section ${(n * 7) % task.sections.count}`,
    replace: `Rewritten by write ${n}, with **bold** words and a [link](https://example.com/w${n}).\n\n- a new point ${n}`,
  };
}
