import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/clients.ts';
import { docFrom, inspectPostgres } from '../helpers/db-inspect.ts';
import { uniqueDocId } from '../helpers/node.ts';
import { seededRandom } from '../helpers/random.ts';
import { startTestRedis, type TestRedis } from '../helpers/redis-server.ts';
import { restClient } from '../helpers/rest.ts';
import { killAllServerProcesses, type LogLine, type ServerProcess, startServerProcess } from '../helpers/server-process.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A person typing unique tokens into one document, connected to one node at a time. */
class Typist {
  readonly doc = new Y.Doc();
  readonly text = this.doc.getText('content');
  readonly typed: string[] = [];
  provider!: WebsocketProvider;
  node!: ServerProcess;

  readonly name: string;
  readonly documentId: string;

  constructor(name: string, documentId: string, node: ServerProcess) {
    this.name = name;
    this.documentId = documentId;
    this.connect(node);
  }

  connect(node: ServerProcess): void {
    this.provider?.destroy();
    this.node = node;
    this.provider = new WebsocketProvider(`${node.wsUrl}/ws`, this.documentId, this.doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
  }

  type(next: () => number): void {
    const token = `[${this.name}-${this.typed.length}]`;
    this.typed.push(token);
    // Only between tokens, so that every token stays whole and can be counted at the end.
    const current = this.text.toString();
    const boundaries = [0];
    for (let i = current.indexOf(']'); i !== -1; i = current.indexOf(']', i + 1)) boundaries.push(i + 1);
    this.text.insert(boundaries[Math.floor(next() * boundaries.length)]!, token);
  }
}

/** Every typist shows the same text, the log holds it, and every token typed is in it exactly once. */
async function expectConverged(typists: Typist[], reader: ServerProcess, documentId: string): Promise<void> {
  const all = typists.flatMap((typist) => typist.typed);
  const stored = async () => (await restClient(reader.url).get(`/v1/documents/${documentId}`)).body.content as string;
  await waitFor(
    async () => {
      const first = typists[0]!.text.toString();
      return typists.every((typist) => typist.text.toString() === first) && all.every((token) => first.includes(token)) && (await stored()) === first;
    },
    'every client and the stored document to converge',
    20_000,
  ).catch(async (error: Error) => {
    const state = typists.map((t) => `${t.name}@${t.node.port} ${t.provider.wsconnected ? 'connected' : 'disconnected'}/${t.provider.synced ? 'synced' : 'unsynced'}: ${t.text.length} chars, missing ${all.filter((token) => !t.text.toString().includes(token)).length} of ${all.length}`);
    throw new Error(`${error.message}\n${state.join('\n')}\nstored: ${(await stored()).length} chars`);
  });
  const text = typists[0]!.text.toString();
  for (const token of all) expect(text.split(token).length - 1, `${token} once`).toBe(1);
}

describe('three node processes on one Postgres and one Redis', () => {
  let redis: TestRedis;
  let nodes: ServerProcess[];

  beforeAll(async () => {
    redis = await startTestRedis();
    const env = { REDIS_URL: redis.url, BUS_REPAIR_INTERVAL_MS: '300' };
    nodes = await Promise.all([0, 1, 2].map(() => startServerProcess({ kind: 'postgres' }, { env })));
  });
  afterAll(async () => {
    await killAllServerProcesses();
    await redis?.stop();
  });

  it('random concurrent edits with clients moving between nodes converge, with no duplicated text', async () => {
    const id = uniqueDocId('three-nodes');
    const next = seededRandom(20261122);
    const typists = Array.from({ length: 6 }, (_, i) => new Typist(`t${i}`, id, nodes[i % 3]!));
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const typist = typists[Math.floor(next() * typists.length)]!;
      if (next() < 0.05) typist.connect(nodes[Math.floor(next() * 3)]!);
      else typist.type(next);
      await sleep(5);
    }
    await expectConverged(typists, nodes[2]!, id);
    for (const typist of typists) typist.provider.destroy();
  });

  it('after kill -9 of a node mid-edit, the log soon holds every edit the other nodes\' clients had; its clients reconnect elsewhere and nothing is lost', async () => {
    const id = uniqueDocId('kill-node');
    const next = seededRandom(7);
    const [victim, ...survivors] = [nodes[0]!, nodes[1]!, nodes[2]!];
    const typists = Array.from({ length: 6 }, (_, i) => new Typist(`k${i}`, id, [victim, ...survivors][i % 3]!));
    for (let i = 0; i < 200; i++) {
      typists[i % typists.length]!.type(next);
      await sleep(3);
    }
    victim.kill('SIGKILL');
    await victim.exited;

    // Before anyone reconnects (the victim's clients would push their own copies and hide a
    // node that relayed edits nobody committed; until the test moves them they retry the dead
    // node's port), the log is read with SQL. A node publishes an update before its commit, so
    // the victim may have relayed edits it never committed: the survivors adopt those after
    // two repair intervals, and every edit the other nodes' clients hold must reach the log.
    const onVictim = typists.filter((typist) => typist.node === victim);
    const elsewhere = typists.filter((typist) => typist.node !== victim);
    const seenElsewhere = typists.flatMap((typist) => typist.typed).filter((token) => elsewhere.some((other) => other.text.toString().includes(token)));
    const relayed = onVictim.flatMap((typist) => typist.typed).filter((token) => seenElsewhere.includes(token));
    expect(relayed.length, 'edits of the victim\'s clients that reached the other nodes\' clients').toBeGreaterThan(0);
    const db = inspectPostgres();
    try {
      const logged = async () => docFrom((await db.updates(id)).map((row) => row.update)).getText('content').toString();
      await waitFor(async () => {
        const now = await logged();
        return seenElsewhere.every((token) => now.includes(token));
      }, 'every edit the other nodes\' clients hold in the log');
    } finally {
      await db.close();
    }

    // A load balancer would send them to a live node; here the test does.
    for (const typist of onVictim) typist.connect(survivors[Math.floor(next() * 2)]!);
    for (let i = 0; i < 100; i++) {
      typists[i % typists.length]!.type(next);
      await sleep(3);
    }
    await expectConverged(typists, survivors[0]!, id);
    for (const typist of typists) typist.provider.destroy();
    nodes = survivors;
  });

  it('Redis killed and restarted mid-edit: every client converges within 2 s of its return', async () => {
    const id = uniqueDocId('redis-restart');
    const next = seededRandom(99);
    const typists = Array.from({ length: 4 }, (_, i) => new Typist(`r${i}`, id, nodes[i % nodes.length]!));
    for (let i = 0; i < 100; i++) {
      typists[i % typists.length]!.type(next);
      await sleep(3);
    }
    await redis.stop();
    for (let i = 0; i < 100; i++) {
      typists[i % typists.length]!.type(next);
      await sleep(3);
    }
    await redis.start();
    const back = Date.now();
    await expectConverged(typists, nodes[0]!, id);
    expect(Date.now() - back).toBeLessThan(2000);

    // Confirmations flow again too: from now on no node reads the log for what the bus did not
    // bring, nor logs another node's update itself for want of its confirmation.
    const repairs = async () => {
      const texts = await Promise.all(nodes.map(async (node) => (await fetch(`${node.url}/metrics`)).text()));
      return texts.flatMap((text) => text.split('\n')).filter((line) => /^tandem_bus_(catch_ups|adopted_updates)_total/.test(line));
    };
    const isBack = (line: LogLine) => line.msg === 'Redis (update bus) is back; catching up from the op log';
    await waitFor(() => nodes.every((node) => node.logs.some(isBack)), 'every node to see Redis back');
    await sleep(300); // their catch-ups after the re-subscribe
    const before = await repairs();
    for (let i = 0; i < 12; i++) {
      typists[i % typists.length]!.type(next);
      await sleep(20);
    }
    await expectConverged(typists, nodes[0]!, id);
    await sleep(3 * 300 + 300);
    expect(await repairs()).toEqual(before);
    for (const typist of typists) typist.provider.destroy();
  });
});
