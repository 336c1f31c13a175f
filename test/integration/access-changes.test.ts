import { HocuspocusProvider } from '@hocuspocus/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { signTestToken, signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { docFrom, inspectPostgres, type StoreInspector } from '../helpers/db-inspect.ts';
import { type TestNode, uniqueDocId } from '../helpers/node.ts';

/**
 * INTERFACE.md, Close codes: credentials and documents that change under an open socket. A JWT
 * that expires closes its sockets with 4401, a replaced key with 4403, a deleted document with
 * 4404 on every node; and what each stock client does next (y-websocket stops for good on
 * 44xx, the Hocuspocus provider reconnects and authenticates again).
 */
describe('credentials and documents changing under open sockets', () => {
  let a: TestNode;
  let b: TestNode;
  let owner: TestUser;
  let db: StoreInspector;
  const cleanup: (() => void)[] = [];

  beforeAll(async () => {
    // Two nodes on one Postgres, no Redis: only the access epoch connects them.
    [a, b] = await Promise.all([startAuthNode(), startAuthNode()]);
    owner = await signUp(a, 'changes-owner');
    db = inspectPostgres();
  });
  afterAll(async () => {
    for (const done of cleanup) done();
    await db?.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  async function newDocument(label: string) {
    const id = uniqueDocId(label);
    const created = await owner.rest.post('/v1/documents', { id, content: '' });
    expect(created.status).toBe(201);
    return { id, writeKey: created.body.writeKey as string };
  }

  const storedText = async (id: string) => docFrom((await db.updates(id)).map((row) => row.update)).getText('content').toString();
  const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

  /** A Hocuspocus client whose token comes from `token()` at every (re)connection; it records its closes and refusals. */
  function hocuspocusWith(node: TestNode, id: string, token: () => string) {
    const doc = new Y.Doc();
    const closes: { code: number; reason: string }[] = [];
    const refusals: string[] = [];
    const provider = new HocuspocusProvider({
      url: `${node.wsUrl}/collab`,
      name: id,
      document: doc,
      token,
      onAuthenticationFailed: ({ reason }) => void refusals.push(reason),
    });
    provider.configuration.websocketProvider.on('close', ({ event }: { event: CloseEvent }) => {
      closes.push({ code: event.code, reason: event.reason });
    });
    cleanup.push(() => provider.destroy());
    return { provider, doc, text: doc.getText('content'), closes, refusals };
  }

  it('closes a socket whose JWT expires with 4401: y-websocket stops, a Hocuspocus client with fresh tokens goes on typing and loses nothing', async () => {
    const { id } = await newDocument('jwt-expiry');
    const y = yWebsocketClient(b.wsUrl, id, { token: signTestToken({ sub: owner.id, exp: inSeconds(2) }) });
    cleanup.push(() => y.provider.destroy());
    const yClosed: { code: number; reason: string }[] = [];
    y.provider.on('connection-close', (event: CloseEvent | null) => void yClosed.push({ code: event?.code ?? -1, reason: event?.reason ?? '' }));

    // Each connection of this client gets a token that lives two seconds.
    const h = hocuspocusWith(b, id, () => signTestToken({ sub: owner.id, exp: inSeconds(2) }));
    await Promise.all([whenSynced(y.provider), whenSynced(h.provider)]);

    let typed = 0;
    const typing = setInterval(() => h.text.insert(h.text.length, `t${typed++};`), 25);
    try {
      await waitFor(() => h.closes.filter((close) => close.code === 4401).length >= 2, 'two expiries of the Hocuspocus client', 20_000);
    } finally {
      clearInterval(typing);
    }
    expect(h.closes.every((close) => close.code === 4401 && close.reason === 'UNAUTHORIZED')).toBe(true);
    expect(h.refusals).toEqual([]);

    // Everything it typed, across the reconnections, is stored and acknowledged.
    const expected = Array.from({ length: typed }, (_, i) => `t${i};`).join('');
    await waitFor(() => h.provider.isSynced && h.provider.unsyncedChanges === 0, 'the Hocuspocus client to be synced again');
    expect(h.text.toString()).toBe(expected);
    await waitFor(async () => (await storedText(id)) === expected, 'every edit to be stored');

    // The y-websocket client was closed once, with 4401, and gave up (its token cannot get better).
    expect(yClosed).toEqual([{ code: 4401, reason: 'UNAUTHORIZED' }]);
    expect(y.provider.shouldConnect).toBe(false);
    expect(y.text.toString()).not.toBe(expected);
  });

  it('closes a socket opened with a socket token when the access token that minted it expires', async () => {
    const { id } = await newDocument('ws-token-expiry');
    const shortLived = signTestToken({ sub: owner.id, exp: inSeconds(2) });
    const minted = await fetch(`${a.url}/v1/ws-token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${shortLived}`, 'content-type': 'application/json' },
      body: JSON.stringify({ documentId: id }),
    });
    expect(minted.status).toBe(201);
    const { token } = (await minted.json()) as { token: string };
    const y = yWebsocketClient(a.wsUrl, id, { token });
    cleanup.push(() => y.provider.destroy());
    const closed: number[] = [];
    y.provider.on('connection-close', (event: CloseEvent | null) => void closed.push(event?.code ?? -1));
    await whenSynced(y.provider);
    await waitFor(() => closed.length > 0, 'the socket to close at the expiry', 10_000);
    expect(closed).toEqual([4401]);
  });

  it('closes every socket of a deleted document with 4404, also on the node that did not delete it', async () => {
    const { id, writeKey } = await newDocument('deleted');
    const y = yWebsocketClient(b.wsUrl, id, { token: writeKey });
    cleanup.push(() => y.provider.destroy());
    const yClosed: number[] = [];
    y.provider.on('connection-close', (event: CloseEvent | null) => void yClosed.push(event?.code ?? -1));
    const h = hocuspocusWith(b, id, () => writeKey);
    await Promise.all([whenSynced(y.provider), whenSynced(h.provider)]);
    h.text.insert(0, 'kept in the trash');
    await waitFor(async () => (await storedText(id)) === 'kept in the trash', 'the edit to be stored');

    expect((await owner.rest.call('DELETE', `/v1/documents/${id}`)).status).toBe(204);
    await waitFor(() => yClosed.length > 0 && h.closes.length > 0, 'both sockets on the other node to close', 10_000);
    expect(yClosed).toEqual([4404]);
    expect(y.provider.shouldConnect).toBe(false);
    expect(h.closes[0]).toEqual({ code: 4404, reason: 'DOC_NOT_FOUND' });
    // The provider came back and was told the document is gone, rather than sitting unsynced.
    await waitFor(() => h.refusals.length > 0, 'the Hocuspocus client to be refused');
    expect(h.refusals[0]).toBe('DOC_NOT_FOUND');
  });

  it('closes the sockets of a replaced link with 4403, and a Hocuspocus client on it is refused when it comes back', async () => {
    const { id, writeKey } = await newDocument('link-replaced');
    const h = hocuspocusWith(b, id, () => writeKey);
    await whenSynced(h.provider);
    const rotated = await owner.rest.post(`/v1/documents/${id}/keys`);
    expect(rotated.status).toBe(200);
    await waitFor(() => h.closes.length > 0 && h.refusals.length > 0, 'the socket to close and the reconnection to be refused', 10_000);
    expect(h.closes[0]).toEqual({ code: 4403, reason: 'FORBIDDEN' });
    // The old key is unknown now: no credential at all.
    expect(h.refusals[0]).toBe('UNAUTHORIZED');
    expect(h.provider.isSynced).toBe(false);
  });
});
