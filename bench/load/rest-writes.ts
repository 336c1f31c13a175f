export interface RestWritesTask {
  kind: 'rest-writes';
  httpUrl: string;
  requests: number;
  concurrency: number;
  documents: number;
  prefix: string;
}

export interface RestWritesResult {
  latenciesMs: number[];
  elapsedMs: number;
  failures: number;
}

/**
 * JSON append PATCHes, each answered once durable, from `concurrency` callers in a loop,
 * spread over `documents` documents.
 */
export async function runRestWrites(task: RestWritesTask): Promise<RestWritesResult> {
  const ids = Array.from({ length: task.documents }, (_, i) => `${task.prefix}-${i}`);
  for (const id of ids) {
    const response = await fetch(`${task.httpUrl}/v1/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, content: '# Log\n' }),
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
          body: JSON.stringify({ edits: [{ append: `- entry ${n}\n` }] }),
        });
        await response.arrayBuffer();
        if (response.status === 200) latenciesMs.push(performance.now() - sent);
        else failures += 1;
      }
    }),
  );
  return { latenciesMs, elapsedMs: performance.now() - started, failures };
}
