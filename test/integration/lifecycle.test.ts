import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hocuspocusClient, waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { removeDir, type StorageKind, startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { body, openRawSocket } from '../helpers/raw-socket.ts';

/**
 * failure-modes.md, "Lifecycle": loaded-document and connection counts return to zero when
 * clients leave (Hocuspocus #709, #1156); and the operational endpoints of INTERFACE.md.
 */

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

async function gauges(node: TestNode): Promise<{ documents: number; connections: number }> {
  const response = await fetch(`${node.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  const read = (name: string) => {
    const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    if (!match) throw new Error(`metric ${name} missing from /metrics`);
    return Number(match[1]);
  };
  return { documents: read('tandem_documents_loaded'), connections: read('tandem_connections') };
}

async function waitForGauges(node: TestNode, expected: { documents: number; connections: number }) {
  let last = await gauges(node);
  const started = Date.now();
  while (last.documents !== expected.documents || last.connections !== expected.connections) {
    if (Date.now() - started > 20_000) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
    last = await gauges(node);
  }
  expect(last).toEqual(expected);
}

describe.each<StorageKind>(['postgres', 'embedded'])('lifecycle on %s', (storage) => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode(storage);
  });
  afterAll(async () => {
    await node?.close();
    await removeDir(node?.dataDir);
  });

  it('reports the background queues (depth and failures) in /metrics, and the compactions unloads enqueue finish', async () => {
    const id = uniqueDocId('life-jobs');
    const client = yWebsocketClient(node.wsUrl, id);
    await whenSynced(client.provider);
    client.text.insert(0, 'compact me later');
    client.provider.destroy();
    const jobs = async () => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      return new Map([...text.matchAll(/^tandem_jobs\{queue="([a-z]+)",state="([a-z]+)"\} (\d+)$/gm)].map((m) => [`${m[1]}/${m[2]}`, Number(m[3])]));
    };
    await waitFor(async () => {
      const counts = await jobs();
      return ['waiting', 'active', 'delayed'].every((state) => counts.get(`compaction/${state}`) === 0);
    }, 'the compaction queue to drain');
    const counts = await jobs();
    for (const queue of ['compaction', 'expiry', 'notifications', 'webhooks']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) expect(counts.has(`${queue}/${state}`), `${queue}/${state}`).toBe(true);
    }
    expect(counts.get('compaction/failed')).toBe(0);
  });

  it('loaded documents and connections go back to zero once every client of several documents leaves', async () => {
    await waitForGauges(node, { documents: 0, connections: 0 });
    const [a, b, c] = [uniqueDocId('life-a'), uniqueDocId('life-b'), uniqueDocId('life-c')];
    const clients = [
      { id: a, ...yWebsocketClient(node.wsUrl, a) },
      { id: a, ...yWebsocketClient(node.wsUrl, a) },
      { id: a, ...hocuspocusClient(node.wsUrl, a) },
      { id: b, ...hocuspocusClient(node.wsUrl, b) },
      { id: b, ...yWebsocketClient(node.wsUrl, b) },
      { id: c, ...yWebsocketClient(node.wsUrl, c) },
    ];
    await Promise.all(clients.map((client) => whenSynced(client.provider)));
    clients.forEach((client, index) => client.text.insert(0, `edit ${index}. `));
    const edits = (text: string) => (text.match(/edit \d\. /g) ?? []).length;
    const clientsOf = (id: string) => clients.filter((client) => client.id === id).length;
    await waitFor(
      () => clients.every((client) => edits(client.text.toString()) === clientsOf(client.id)),
      'every edit at every client of its document',
    );
    await waitForGauges(node, { documents: 3, connections: 6 });
    // Every logged update reports its commit lag (the durability-lag benchmark reads it).
    await waitFor(async () => {
      const text = await (await fetch(`${node.url}/metrics`)).text();
      return Number(/^tandem_oplog_commit_lag_seconds_count (\d+)$/m.exec(text)?.[1] ?? 0) >= clients.length;
    }, 'the commit-lag histogram to count every edit');

    for (const client of clients) client.provider.destroy();
    await waitForGauges(node, { documents: 0, connections: 0 });

    // And they load again, with their content, when someone comes back.
    const back = yWebsocketClient(node.wsUrl, a);
    await whenSynced(back.provider);
    expect(edits(back.text.toString())).toBe(3);
    await waitForGauges(node, { documents: 1, connections: 1 });
    back.provider.destroy();
    await waitForGauges(node, { documents: 0, connections: 0 });
  });

  it('sockets that leave while their document loads, or are refused, leave nothing behind', async () => {
    const sockets = Array.from({ length: 4 }, () => openRawSocket(node.wsUrl, `/ws/${uniqueDocId('life-quick')}`));
    await Promise.all(sockets.map((socket) => socket.opened));
    await Promise.all(sockets.map((socket) => socket.close()));

    const refused = openRawSocket(node.wsUrl, `/ws/${uniqueDocId('life-refused')}`);
    await refused.opened;
    refused.send(body.update(new Uint8Array([1, 2, 3])));
    expect(await refused.outcome).toEqual({ code: 4400, reason: 'MALFORMED_MESSAGE' });

    const collab = openRawSocket(node.wsUrl, '/collab');
    await collab.opened;
    await collab.close();

    await waitForGauges(node, { documents: 0, connections: 0 });
  });

  it('GET /health answers 200', async () => {
    const response = await fetch(`${node.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /ready answers 200 with status ready when the database answers', async () => {
    const response = await fetch(`${node.url}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
  });

  it('GET /v1 names the service, its version and its capabilities', async () => {
    const response = await fetch(`${node.url}/v1`);
    expect(response.status).toBe(200);
    const info = (await response.json()) as { service: string; version: string; capabilities: unknown };
    expect(info.service).toBe('tandem');
    expect(info.version).toBe(pkg.version);
    expect(info.capabilities).toMatchObject({ websocket: { yWebsocket: '/ws/:id', hocuspocus: '/collab' } });
  });

  it('an unknown route answers 404 application/problem+json with code NOT_FOUND and a requestId', async () => {
    const response = await fetch(`${node.url}/no/such/route?x=1`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 404, code: 'NOT_FOUND', instance: '/no/such/route' });
    expect(typeof problem.title).toBe('string');
    expect(typeof problem.type).toBe('string');
    expect(typeof problem.requestId).toBe('string');
    expect(problem.requestId).not.toBe('');
  });

  it('a malformed URL answers 400 application/problem+json too', async () => {
    const response = await fetch(`${node.url}/v1/bad%ZZ`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ status: 400, code: expect.any(String), requestId: expect.any(String) });
  });
});

describe('closing a node', () => {
  it('finishes while clients are still connecting (upgrades in flight are not waited for forever)', async () => {
    const node = await startTestNode('postgres');
    // Many sockets at once, gone again before most of their upgrades got through the hooks.
    const clients = Array.from({ length: 150 }, (_, i) => yWebsocketClient(node.wsUrl, uniqueDocId(`closing-${i % 10}`)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const client of clients) client.provider.destroy();
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), 20_000);
    });
    try {
      expect(await Promise.race([node.close().then(() => 'closed' as const), hung])).toBe('closed');
    } finally {
      clearTimeout(timer);
    }
  });
});
