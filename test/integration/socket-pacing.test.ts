import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { SHIPPED_SOCKET_LIMITS, startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import {
  addressed,
  authMessage,
  body,
  isAuthenticated,
  letterUpdates,
  MSG_AWARENESS,
  MSG_SYNC_STATUS,
  openRawSocket,
  parseHocuspocusMessage,
  type RawSocket,
  sendInOneWrite,
} from '../helpers/raw-socket.ts';

/**
 * INTERFACE.md: a socket that sends faster than its message rate is slowed, never closed. The
 * server stops reading it (TCP pushes back on the sender) until its budget refills: every
 * message arrives, in order, later; and the node's other documents do not notice.
 *
 * Timing assertions are one-sided and generous (the machine is small and shared): a lower
 * bound where the point is that the flood was slowed, a wide upper bound on latency.
 */


const occurrences = (text: Y.Text, letter: string) => text.toString().split(letter).length - 1;

/**
 * Round trips on a document of their own, every 100 ms until stopped: a writer inserts a
 * marker, the time until a reader on another socket has it is one sample.
 */
async function probeLatency(node: TestNode) {
  const id = uniqueDocId('latency-probe');
  const writer = yWebsocketClient(node.wsUrl, id);
  const reader = yWebsocketClient(node.wsUrl, id);
  await Promise.all([whenSynced(writer.provider), whenSynced(reader.provider)]);
  const samples: number[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const marker = `<${i}>`;
      const arrived = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`probe ${marker} not at the reader after 30 s`)), 30_000);
        const check = () => {
          if (!reader.text.toString().includes(marker)) return;
          clearTimeout(timer);
          reader.doc.off('update', check);
          resolve(performance.now());
        };
        reader.doc.on('update', check);
      });
      const sent = performance.now();
      writer.text.insert(writer.text.length, marker);
      samples.push((await arrived) - sent);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const stats = (some: number[]) => {
    const sorted = [...some].sort((a, b) => a - b);
    return { count: sorted.length, median: sorted[Math.floor(sorted.length / 2)] ?? NaN, max: sorted.at(-1) ?? NaN };
  };
  return {
    /** Samples so far: the ones after it are `stop(from)`'s. */
    taken: () => samples.length,
    async stop(from = 0) {
      running = false;
      await done;
      writer.provider.destroy();
      reader.provider.destroy();
      return { before: stats(samples.slice(0, from)), after: stats(samples.slice(from)) };
    },
  };
}

describe('a flooding socket, with the shipped limits (300 messages/s per document, bursts of 600)', () => {
  let node: TestNode;
  const opened: { close(): unknown }[] = [];
  beforeAll(async () => {
    node = await startTestNode('postgres', { env: SHIPPED_SOCKET_LIMITS });
  });
  afterAll(async () => {
    for (const socket of opened) await socket.close();
    await node?.close();
  });

  it('on /ws/:id: every update arrives, later; the socket stays open; another document keeps its round trip', { timeout: 120_000 }, async () => {
    const FLOOD = 3_000;
    const id = uniqueDocId('flood-ws');
    const observer = yWebsocketClient(node.wsUrl, id);
    opened.push({ close: () => observer.provider.destroy() });
    await whenSynced(observer.provider);
    const probe = await probeLatency(node);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // round trips before the flood, to compare
    const beforeFlood = probe.taken();

    const flooder = openRawSocket(node.wsUrl, `/ws/${id}`);
    opened.push(flooder);
    await flooder.opened;
    flooder.send(body.syncStep1(Y.encodeStateVector(new Y.Doc())));
    const started = performance.now();
    for (const update of letterUpdates('F', FLOOD)) flooder.send(body.update(update));
    const sentMs = performance.now() - started;

    await waitFor(() => occurrences(observer.text, 'F') === FLOOD, 'every flooded update at the observer', 90_000);
    const arrivedMs = performance.now() - started;
    const { before, after: latency } = await probe.stop(beforeFlood);
    console.info(
      `/ws flood: ${FLOOD} updates sent in ${Math.round(sentMs)} ms, all applied after ${Math.round(arrivedMs)} ms ` +
        `(${Math.round(FLOOD / (arrivedMs / 1000))}/s); meanwhile ${latency.count} round trips on another document: ` +
        `median ${latency.median.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms ` +
        `(${before.count} before it: median ${before.median.toFixed(1)} ms, max ${before.max.toFixed(1)} ms)`,
    );

    // Slowed: past the burst of 600, at most 300 a second (a slower machine only takes longer).
    expect(arrivedMs).toBeGreaterThan(((FLOOD - 600) / 300) * 1000 * 0.9);
    // Never closed, and the stock client on the document neither.
    expect(flooder.ws.readyState).toBe(WebSocket.OPEN);
    expect(observer.provider.wsconnected).toBe(true);
    // The flood costs the node next to nothing: other documents keep a quick round trip.
    expect(latency.count).toBeGreaterThan(10);
    expect(latency.max).toBeLessThan(5_000);
  });

  it('on /collab: each document of the socket paced on its own, every update applied and acknowledged, the socket open', { timeout: 120_000 }, async () => {
    const FLOOD = 1_500;
    const ids = [uniqueDocId('flood-collab-a'), uniqueDocId('flood-collab-b')];
    const observers = ids.map((id) => yWebsocketClient(node.wsUrl, id));
    for (const { provider } of observers) opened.push({ close: () => provider.destroy() });
    await Promise.all(observers.map(({ provider }) => whenSynced(provider)));

    const flooder: RawSocket = openRawSocket(node.wsUrl, '/collab');
    opened.push(flooder);
    await flooder.opened;
    for (const id of ids) flooder.send(authMessage(id, 'anonymous'));
    await Promise.all(ids.map((id) => flooder.waitForMessage(isAuthenticated(id), `authentication of ${id}`)));
    const started = performance.now();
    // Interleaved, as a multiplexed client would send them.
    const updates = ids.map((_, n) => letterUpdates(n === 0 ? 'A' : 'B', FLOOD));
    for (let i = 0; i < FLOOD; i++) for (const [n, id] of ids.entries()) flooder.send(addressed(id, body.update(updates[n]![i]!)));

    const acks = () => flooder.received.filter((message) => parseHocuspocusMessage(message).type === MSG_SYNC_STATUS).length;
    await waitFor(
      () => occurrences(observers[0]!.text, 'A') === FLOOD && occurrences(observers[1]!.text, 'B') === FLOOD && acks() === 2 * FLOOD,
      'every flooded update applied and acknowledged',
      90_000,
    );
    const arrivedMs = performance.now() - started;
    console.info(`/collab flood: ${2 * FLOOD} updates on 2 documents, all applied and acknowledged after ${Math.round(arrivedMs)} ms`);
    // Each document at its own 300/s (the socket's 1,200/s leaves room for both).
    expect(arrivedMs).toBeGreaterThan(((FLOOD - 600) / 300) * 1000 * 0.9);
    expect(flooder.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('the budgets of a /collab socket', () => {
  // What had to wait is what the ceiling counts: frames sent in one TCP write are parsed in
  // one go, so the number queued (and whether the socket is closed) depends on the budgets alone.
  async function sendAtOnce(node: TestNode, addresses: string[]) {
    const socket = openRawSocket(node.wsUrl, '/collab');
    await socket.opened;
    sendInOneWrite(socket.ws, addresses.map((address) => addressed(address, body.queryAwareness())));
    // A close for the ceiling comes while the chunk is parsed; give it ample time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return socket;
  }

  it('gives each document its own budget: a burst on one does not hold back the next', async () => {
    // Per document 10/s, bursts of 20; at most 10 may wait.
    const node = await startTestNode('postgres', {
      env: { SOCKET_MESSAGES_PER_SECOND: '10', COLLAB_SOCKET_MESSAGES_PER_SECOND: '1000', SOCKET_MAX_QUEUED_MESSAGES: '10' },
    });
    try {
      const [a, b] = [uniqueDocId('budget-a'), uniqueDocId('budget-b')];
      // 20 for each document: every one within its document's burst, nothing waits.
      const within = await sendAtOnce(node, [...Array(20).fill(a), ...Array(20).fill(b)]);
      expect(within.ws.readyState).toBe(WebSocket.OPEN);
      // 40 for one document: 20 wait, past the ceiling.
      const over = await sendAtOnce(node, Array(40).fill(a));
      expect(await over.outcome).toEqual({ code: 1013, reason: 'RATE_LIMITED' });
      await within.close();
    } finally {
      await node.close();
    }
  });

  it('and the socket one over all its documents, so that fanning out does not multiply it', async () => {
    const node = await startTestNode('postgres', {
      env: { SOCKET_MESSAGES_PER_SECOND: '1000', COLLAB_SOCKET_MESSAGES_PER_SECOND: '10', SOCKET_MAX_QUEUED_MESSAGES: '10' },
    });
    try {
      // One frame each for 40 documents: the socket's burst of 20 passes, 20 wait.
      const fannedOut = await sendAtOnce(node, Array.from({ length: 40 }, () => uniqueDocId('fan')));
      expect(await fannedOut.outcome).toEqual({ code: 1013, reason: 'RATE_LIMITED' });
    } finally {
      await node.close();
    }
  });
});

describe('a socket under its rate that sends more in one write than a turn takes', () => {
  // A ceiling far below one chunk of frames: only a socket that is over its rate and keeps
  // sending may reach it, not one whose chunk waits for the next turns of the event loop.
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres', { env: { SOCKET_MESSAGES_PER_SECOND: '100000', SOCKET_MAX_QUEUED_MESSAGES: '100' } });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('gets every update applied, in order, and stays open', async () => {
    const id = uniqueDocId('one-write');
    const socket = openRawSocket(node.wsUrl, `/ws/${id}`);
    await socket.opened;
    sendInOneWrite(socket.ws, letterUpdates('w', 3_000).map((update) => body.update(update)));
    const reader = yWebsocketClient(node.wsUrl, id);
    try {
      await whenSynced(reader.provider);
      await waitFor(() => occurrences(reader.text, 'w') === 3_000, 'all 3,000 updates at a reader', 30_000);
      expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      reader.provider.destroy();
      await socket.close();
    }
  });
});

describe('a socket held back that hears nothing from the server', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres', { env: { SOCKET_MESSAGES_PER_SECOND: '10' } });
  });
  afterAll(async () => {
    await node?.close();
  });

  // Both stock clients drop a connection that hears nothing for 30 s. Most messages get an
  // answer as they are handled (Hocuspocus echoes even an update to its sender), but some get
  // none: asking for awareness where there is none, a read-only client's refused updates.
  it('gets a no-op awareness message every 10 s, and stays open', { timeout: 60_000 }, async () => {
    const id = uniqueDocId('silent');
    const socket = openRawSocket(node.wsUrl, `/ws/${id}`);
    await socket.opened;
    socket.send(body.syncStep1(Y.encodeStateVector(new Y.Doc())));
    await socket.waitForMessage(() => true, 'the sync answer');
    const started = performance.now();
    // 150 at 10 a second, bursts of 20: held back for 13 s. Nobody on the document has
    // awareness state, so none of them gets an answer.
    for (let i = 0; i < 150; i++) socket.send(body.queryAwareness());
    const keepalive = await socket.waitForMessage(
      (message) => message.length === 3 && message[0] === MSG_AWARENESS,
      'a keepalive while held back',
      20_000,
    );
    console.info(`keepalive to a held-back socket after ${Math.round(performance.now() - started)} ms`);
    // An awareness update for no client: [type 1, length 1, count 0].
    expect([...keepalive]).toEqual([MSG_AWARENESS, 1, 0]);
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    await socket.close();
  });
});
