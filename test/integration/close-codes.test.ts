import { MAX_DOCUMENTS_PER_SOCKET } from '../../src/collab/hocuspocus-adapter.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { startAuthNode } from '../helpers/auth.ts';
import { waitFor } from '../helpers/clients.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';
import { addressed, body, openRawSocket } from '../helpers/raw-socket.ts';
import { restClient } from '../helpers/rest.ts';
import { startPostgresProxy } from '../helpers/tcp-proxy.ts';
import { watchedHocuspocus, watchedYWebsocket } from '../helpers/watched-clients.ts';

/**
 * INTERFACE.md, WebSockets: every close the server makes, provoked for real, and what each
 * stock client does next. y-websocket 3.1 stops for good after a code in 4400–4499 (and
 * emits 'closed'), and reconnects after anything else; @hocuspocus/provider 4.8 reconnects
 * after every socket close. So terminal 44xx codes only where retrying cannot help, and
 * standard codes where the client should come back. The reason text is always the error code.
 */

const TERMINAL_WAIT_MS = 1_500;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type YWatch = ReturnType<typeof watchedYWebsocket>;
type HWatch = ReturnType<typeof watchedHocuspocus>;
const open: { destroy(): void }[] = [];
const watch = <T extends { destroy(): void }>(client: T): T => {
  open.push(client);
  return client;
};
afterEach(() => {
  for (const client of open.splice(0)) client.destroy();
});

/** y-websocket got `code`, gave up, and makes no further attempt. */
async function expectGaveUp(client: YWatch, code: number, reason: string): Promise<void> {
  await waitFor(() => client.gaveUp, `y-websocket to give up after ${code}`);
  expect(client.closes).toEqual([{ code, reason }]);
  const attempts = client.attempts;
  await pause(TERMINAL_WAIT_MS);
  expect(client.attempts).toBe(attempts);
  expect(client.provider.shouldConnect).toBe(false);
}

/** y-websocket got `code` and tried again by itself. */
async function expectRetried(client: YWatch, code: number, reason: string): Promise<void> {
  await waitFor(() => client.closes.length > 0 && client.attempts >= 2, `y-websocket to retry after ${code}`);
  expect(client.closes[0]).toEqual({ code, reason });
  expect(client.gaveUp).toBe(false);
}

/** The Hocuspocus provider got `code` on its socket and connected again (and got it again, if the cause is still there). */
async function expectReconnected(client: HWatch, code: number, reason: string, times = 2): Promise<void> {
  await waitFor(() => client.closes.length >= times, `the Hocuspocus provider to reconnect after ${code}`, 15_000);
  expect(client.closes.slice(0, times)).toEqual(Array.from({ length: times }, () => ({ code, reason })));
}

describe('terminal closes (4400–4499): y-websocket stops, Hocuspocus retries', () => {
  let node: TestNode;
  const ALLOWED = 'https://app.example';
  beforeAll(async () => {
    node = await startTestNode('postgres', { env: { ALLOWED_ORIGINS: ALLOWED, MAX_MESSAGE_BYTES: '1024' } });
  });
  afterAll(async () => {
    await node?.close();
  });

  it('4400 INVALID_DOCUMENT_ID: a document id that can never be valid', async () => {
    await expectGaveUp(watch(watchedYWebsocket(node.wsUrl, 'bad id!')), 4400, 'INVALID_DOCUMENT_ID');
    await expectReconnected(watch(watchedHocuspocus(node.wsUrl, 'bad id!')), 4400, 'INVALID_DOCUMENT_ID');
  });

  it('4400 MALFORMED_MESSAGE: a frame that does not decode', async () => {
    const y = watch(watchedYWebsocket(node.wsUrl, uniqueDocId('malformed')));
    await waitFor(() => y.provider.synced, 'y-websocket synced');
    y.provider.ws!.send(Uint8Array.of(99));
    await expectGaveUp(y, 4400, 'MALFORMED_MESSAGE');

    const h = watch(watchedHocuspocus(node.wsUrl, uniqueDocId('malformed')));
    await waitFor(() => h.provider.synced, 'Hocuspocus synced');
    h.provider.configuration.websocketProvider.webSocket!.send(Uint8Array.of(0xff, 0xff));
    // It does not send the garbage again: it reconnects and syncs.
    await waitFor(() => h.closes.length === 1 && h.connects === 2 && h.provider.synced, 'Hocuspocus back and synced');
    expect(h.closes).toEqual([{ code: 4400, reason: 'MALFORMED_MESSAGE' }]);
  });

  it('4403 FORBIDDEN: a browser Origin not in ALLOWED_ORIGINS', async () => {
    await expectGaveUp(watch(watchedYWebsocket(node.wsUrl, uniqueDocId('origin'), { origin: 'https://evil.example' })), 4403, 'FORBIDDEN');
    await expectReconnected(watch(watchedHocuspocus(node.wsUrl, uniqueDocId('origin'), { origin: 'https://evil.example' })), 4403, 'FORBIDDEN');
    // The allowed one connects.
    const allowed = watch(watchedYWebsocket(node.wsUrl, uniqueDocId('origin'), { origin: ALLOWED }));
    await waitFor(() => allowed.provider.synced, 'the allowed origin synced');
  });

  it('4404 DOC_NOT_FOUND: the document is deleted while open; a Hocuspocus client reconnects and is told it is gone', async () => {
    const id = uniqueDocId('deleted');
    const y = watch(watchedYWebsocket(node.wsUrl, id));
    const h = watch(watchedHocuspocus(node.wsUrl, id));
    await waitFor(() => y.provider.synced && h.provider.synced, 'both synced');
    expect((await restClient(node.url).delete(`/v1/documents/${id}`)).status).toBe(204);
    await expectGaveUp(y, 4404, 'DOC_NOT_FOUND');
    // The Close message for the document, then the socket itself: a stock provider would sit
    // on a document closed under it, unsynced and without an error; this way it reconnects
    // and its authentication is refused with the reason.
    await waitFor(() => h.authFailures.length > 0, 'the reconnected provider to be refused');
    expect(h.documentCloses).toEqual(['DOC_NOT_FOUND']);
    expect(h.closes[0]).toEqual({ code: 4404, reason: 'DOC_NOT_FOUND' });
    expect(h.authFailures).toEqual(['DOC_NOT_FOUND']);
  });

  it('4413 MESSAGE_TOO_LARGE: a message over MAX_MESSAGE_BYTES', async () => {
    const y = watch(watchedYWebsocket(node.wsUrl, uniqueDocId('large')));
    await waitFor(() => y.provider.synced, 'y-websocket synced');
    y.text.insert(0, 'x'.repeat(2_000));
    await expectGaveUp(y, 4413, 'MESSAGE_TOO_LARGE');

    const h = watch(watchedHocuspocus(node.wsUrl, uniqueDocId('large')));
    await waitFor(() => h.provider.synced, 'Hocuspocus synced');
    h.text.insert(0, 'x'.repeat(2_000));
    // It sends the same content again on every reconnect (its sync step 2).
    await expectReconnected(h, 4413, 'MESSAGE_TOO_LARGE');
  });
});

describe('4401 UNAUTHORIZED: a credential that is not valid', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startAuthNode();
  });
  afterAll(async () => {
    await node?.close();
  });

  it('stops y-websocket; on /collab the document is refused and the socket stays open', async () => {
    await expectGaveUp(watch(watchedYWebsocket(node.wsUrl, uniqueDocId('unauthorized'), { token: 'not-a-token' })), 4401, 'UNAUTHORIZED');
    const h = watch(watchedHocuspocus(node.wsUrl, uniqueDocId('unauthorized'), { token: 'not-a-token' }));
    await waitFor(() => h.authFailures.length > 0, 'the PermissionDenied answer');
    expect(h.authFailures).toEqual(['UNAUTHORIZED']);
    await pause(TERMINAL_WAIT_MS);
    expect(h.closes).toEqual([]);
  });
});

describe('transient closes: both clients come back by themselves', () => {
  it('1001 TIMED_OUT: nothing received for SOCKET_IDLE_TIMEOUT_MS', async () => {
    // The stock clients renew their awareness every 15 s: idle for 1 s, they are closed.
    const node = await startTestNode('postgres', { env: { SOCKET_IDLE_TIMEOUT_MS: '1000' } });
    try {
      const y = watch(watchedYWebsocket(node.wsUrl, uniqueDocId('idle')));
      const h = watch(watchedHocuspocus(node.wsUrl, uniqueDocId('idle')));
      await expectRetried(y, 1001, 'TIMED_OUT');
      await waitFor(() => y.provider.synced, 'y-websocket synced again');
      await expectReconnected(h, 1001, 'TIMED_OUT');
      // The document's Close message before it carries the code too, not Hocuspocus's text.
      expect(h.documentCloses[0]).toBe('TIMED_OUT');
    } finally {
      for (const client of open.splice(0)) client.destroy();
      await node.close();
    }
  });

  it('1001 SHUTTING_DOWN: the node stops; both reconnect to the node that takes its place', { timeout: 60_000 }, async () => {
    let node = await startTestNode('postgres');
    const port = new URL(node.url).port;
    try {
      const id = uniqueDocId('shutdown');
      const y = watch(watchedYWebsocket(node.wsUrl, id));
      const h = watch(watchedHocuspocus(node.wsUrl, id));
      await waitFor(() => y.provider.synced && h.provider.synced, 'both synced');
      y.text.insert(0, 'before the restart');
      await waitFor(() => h.text.toString() === 'before the restart', 'the edit at the other client');
      await node.close();
      await waitFor(() => y.closes.length > 0 && h.closes.length > 0, 'both closed');
      expect(y.closes[0]).toEqual({ code: 1001, reason: 'SHUTTING_DOWN' });
      expect(h.closes[0]).toEqual({ code: 1001, reason: 'SHUTTING_DOWN' });

      node = await startTestNode('postgres', { env: { PORT: port } });
      await waitFor(() => y.provider.synced && h.provider.synced, 'both synced with the new node', 30_000);
      h.text.insert(h.text.length, ', after it');
      await waitFor(() => y.text.toString() === 'before the restart, after it', 'an edit through the new node');
      expect(y.gaveUp).toBe(false);
    } finally {
      for (const client of open.splice(0)) client.destroy();
      await node.close();
    }
  });

  it('1013 RATE_LIMITED: more new sockets from one address than SOCKET_CONNECTIONS_PER_MINUTE', async () => {
    const node = await startTestNode('postgres', { env: { SOCKET_CONNECTIONS_PER_MINUTE: '1' } });
    try {
      // The one connection of this minute.
      const first = openRawSocket(node.wsUrl, `/ws/${uniqueDocId('rate')}`);
      await first.opened;
      first.send(body.syncStep1(Y.encodeStateVector(new Y.Doc())));
      await first.waitForMessage(() => true, 'the first socket admitted');
      const y = watch(watchedYWebsocket(node.wsUrl, uniqueDocId('rate')));
      const h = watch(watchedHocuspocus(node.wsUrl, uniqueDocId('rate')));
      // Refused again and again, and never giving up: the window turns within a minute.
      await waitFor(() => y.closes.length >= 3, 'y-websocket to retry');
      expect(new Set(y.closes.map(({ code, reason }) => `${code} ${reason}`))).toEqual(new Set(['1013 RATE_LIMITED']));
      expect(y.gaveUp).toBe(false);
      await expectReconnected(h, 1013, 'RATE_LIMITED');
      await first.close();
    } finally {
      for (const client of open.splice(0)) client.destroy();
      await node.close();
    }
  });

  it("1013 RATE_LIMITED: more than Hocuspocus lets wait for a document's authentication", async () => {
    const node = await startTestNode('postgres');
    try {
      // Messages for a document that never authenticates, one more than Hocuspocus keeps waiting.
      const pendingId = uniqueDocId('pending');
      const queued = openRawSocket(node.wsUrl, '/collab');
      await queued.opened;
      for (let i = 0; i <= 4 * MAX_DOCUMENTS_PER_SOCKET; i++) queued.send(addressed(pendingId, body.queryAwareness()));
      expect(await queued.outcome).toEqual({ code: 1013, reason: 'RATE_LIMITED' });
      // One document more pending authentication at once than a socket may have.
      const fannedOut = openRawSocket(node.wsUrl, '/collab');
      await fannedOut.opened;
      for (let i = 0; i <= MAX_DOCUMENTS_PER_SOCKET; i++) fannedOut.send(addressed(`pending-${i}`, body.queryAwareness()));
      expect(await fannedOut.outcome).toEqual({ code: 1013, reason: 'RATE_LIMITED' });
    } finally {
      await node.close();
    }
  });

  it('1011 INTERNAL: the database does not answer when a client connects (its credential cannot be checked)', { timeout: 60_000 }, async () => {
    const { proxy, url } = await startPostgresProxy();
    const node = await startTestNode('postgres', { env: { DATABASE_URL: url } });
    try {
      proxy.cut();
      const y = watch(watchedYWebsocket(node.wsUrl, uniqueDocId('unavailable')));
      const h = watch(watchedHocuspocus(node.wsUrl, uniqueDocId('unavailable')));
      await expectRetried(y, 1011, 'INTERNAL');
      // On /collab the document is refused (PermissionDenied INTERNAL), and since that is not
      // final the socket closes with 1011 too: a stock provider asks for a refused document
      // again only when it reconnects.
      await waitFor(() => h.authFailures.length > 0 && h.closes.length > 0, 'the refusal and the close', 30_000);
      expect(h.authFailures[0]).toBe('INTERNAL');
      expect(h.closes[0]).toEqual({ code: 1011, reason: 'INTERNAL' });

      proxy.restore();
      await waitFor(() => y.provider.synced, 'y-websocket synced once the database is back', 30_000);
      await waitFor(() => h.provider.synced, 'the Hocuspocus client synced once the database is back', 30_000);
    } finally {
      for (const client of open.splice(0)) client.destroy();
      proxy.restore();
      await node.close();
      await proxy.close();
    }
  });
});
