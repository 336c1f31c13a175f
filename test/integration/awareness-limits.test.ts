import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startAuthNode, type TestUser } from '../helpers/auth.ts';
import { type AwarenessEntry, type AwarenessSocket, joinRaw, type RawDialect } from '../helpers/awareness-frames.ts';
import { waitFor, whenSynced, yWebsocketClient } from '../helpers/clients.ts';
import { startTestNode, type TestNode, uniqueDocId } from '../helpers/node.ts';

/**
 * Awareness is the one thing a read-only credential may publish, to everyone on the document.
 * These attacks come from a read link (the least anyone can hold) over a raw socket, and the
 * victim is another raw socket, which sees every entry the server sends it, not only what a
 * provider would keep.
 */

/** What the node ships with (config.ts): one tab claims one id; 4 leave room for a few editors in one page. */
const CLIENTS_PER_SOCKET = 4;
const MALICIOUS_COLOUR = 'red;position:fixed;inset:0;background:url(http://127.0.0.1:1/x)';

/** About the 170 bytes per state of the audit's 3.4 MB frame. */
const padding = 'p'.repeat(120);
const floodEntries = (count: number, firstId: number): AwarenessEntry[] =>
  Array.from({ length: count }, (_, i) => ({ clientId: firstId + i, clock: 1, state: { user: { name: `flood ${i}`, color: '#b3261e' }, padding } }));

const distinctStates = (entries: AwarenessEntry[], ids: (id: number) => boolean) =>
  new Set(entries.filter((entry) => entry.state !== null && ids(entry.clientId)).map((entry) => entry.clientId));

describe('awareness limits', () => {
  let node: TestNode;
  let owner: TestUser;
  const sockets: AwarenessSocket[] = [];

  beforeAll(async () => {
    node = await startAuthNode();
    owner = await signUp(node, 'awareness-owner');
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) await socket.raw.close();
  });
  afterAll(async () => {
    await node?.close();
  });

  async function newDocument(label: string): Promise<{ id: string; readKey: string; writeKey: string }> {
    const id = uniqueDocId(label);
    const created = await owner.rest.post('/v1/documents', { id, content: 'start. ' });
    expect(created.status).toBe(201);
    return { id, readKey: created.body.readKey, writeKey: created.body.writeKey };
  }

  async function join(dialect: RawDialect, id: string, token: string): Promise<AwarenessSocket> {
    const socket = await joinRaw(node.wsUrl, dialect, id, token);
    sockets.push(socket);
    return socket;
  }

  /**
   * The attacker's socket renews its first id with a marker: a socket's messages are handled
   * in order, so once the victim has the marker, everything the flood made the server send
   * it is already there.
   */
  async function barrier(attacker: AwarenessSocket, victims: AwarenessSocket[], clientId: number, clock: number): Promise<void> {
    const marker = `barrier-${clientId}-${clock}`;
    attacker.sendAwareness([{ clientId, clock, state: { user: { name: marker } } }]);
    await Promise.all(victims.map((victim) => victim.waitForEntry((entry) => (entry.state?.user as { name?: string })?.name === marker, marker)));
  }

  for (const [attackerDialect, victimDialect] of [
    ['y-websocket', 'hocuspocus'],
    ['hocuspocus', 'y-websocket'],
  ] as const) {
    it(`one ${attackerDialect} frame with 20,000 fresh client ids from a read link reaches a ${victimDialect} client as at most ${CLIENTS_PER_SOCKET} states`, async () => {
      const { id, readKey, writeKey } = await newDocument(`flood-${attackerDialect}`);
      const victim = await join(victimDialect, id, writeKey);
      const attacker = await join(attackerDialect, id, readKey);
      const firstId = 1_000_000;
      const flood = floodEntries(20_000, firstId);
      attacker.sendAwareness(flood);
      await barrier(attacker, [victim], firstId, 2);

      const seen = distinctStates(victim.received(), (clientId) => clientId >= firstId && clientId < firstId + flood.length);
      expect(seen.size).toBeLessThanOrEqual(CLIENTS_PER_SOCKET);
      expect(seen.has(firstId)).toBe(true);
    });
  }

  it('a socket keeps its ids: renewing them is never refused, a fifth new one is', async () => {
    const { id, readKey, writeKey } = await newDocument('own-ids');
    const victim = await join('y-websocket', id, writeKey);
    const attacker = await join('hocuspocus', id, readKey);
    const ids = [501, 502, 503, 504];
    attacker.sendAwareness(ids.map((clientId) => ({ clientId, clock: 1, state: { user: { name: `tab ${clientId}` } } })));
    attacker.sendAwareness([{ clientId: 505, clock: 1, state: { user: { name: 'one too many' } } }]);
    for (const clientId of ids) attacker.sendAwareness([{ clientId, clock: 2, state: { user: { name: `tab ${clientId} again` } } }]);
    await barrier(attacker, [victim], 501, 3);

    // The server sends each id's latest state of a moment (it coalesces), so look at the last one.
    const last = new Map<number, AwarenessEntry>();
    for (const entry of victim.received()) last.set(entry.clientId, entry);
    for (const clientId of ids) {
      expect(last.get(clientId)?.state).not.toBeNull();
      expect(last.get(clientId)?.clock).toBeGreaterThanOrEqual(2);
    }
    expect(last.has(505)).toBe(false);
  });

  it('a document holds at most AWARENESS_MAX_STATES_PER_DOCUMENT states: the ones renewed longest ago are dropped', async () => {
    const small = await startAuthNode({ AWARENESS_MAX_STATES_PER_DOCUMENT: '6' });
    try {
      const smallOwner = await signUp(small, 'awareness-small');
      const created = await smallOwner.rest.post('/v1/documents', { id: uniqueDocId('doc-states'), content: '' });
      const { id, readKey, writeKey } = created.body as { id: string; readKey: string; writeKey: string };
      const victim = await joinRaw(small.wsUrl, 'y-websocket', id, writeKey);
      const attackers = await Promise.all([1, 2, 3].map(() => joinRaw(small.wsUrl, 'hocuspocus', id, readKey)));
      try {
        // 3 sockets × 4 ids = 12 states offered, one socket after the other.
        for (const [index, attacker] of attackers.entries()) {
          attacker.sendAwareness(floodEntries(4, 10_000 * (index + 1)));
          await barrier(attacker, [victim], 10_000 * (index + 1), 2);
        }
        // What the victim was last told about each id: at most 6 are still there, the newest.
        const last = new Map<number, AwarenessEntry>();
        for (const entry of victim.received()) last.set(entry.clientId, entry);
        const present = [...last.values()].filter((entry) => entry.state !== null).map((entry) => entry.clientId);
        expect(present.length).toBeLessThanOrEqual(6);
        expect(present).toEqual(expect.arrayContaining([30_000, 30_001, 30_002, 30_003]));
        expect(present).not.toContain(10_001);
      } finally {
        for (const socket of [victim, ...attackers]) await socket.raw.close();
      }
    } finally {
      await small.close();
    }
  });

  it('a state larger than AWARENESS_MAX_STATE_BYTES never reaches anyone', async () => {
    const { id, readKey, writeKey } = await newDocument('big-state');
    const victim = await join('hocuspocus', id, writeKey);
    const attacker = await join('y-websocket', id, readKey);
    attacker.sendAwareness([{ clientId: 700, clock: 1, state: { user: { name: 'big' }, blob: 'b'.repeat(64 * 1024) } }]);
    attacker.sendAwareness([{ clientId: 701, clock: 1, state: { user: { name: 'small' } } }]);
    await barrier(attacker, [victim], 701, 2);
    expect(victim.received().some((entry) => entry.clientId === 700 && entry.state !== null)).toBe(false);
  });

  for (const dialect of ['y-websocket', 'hocuspocus'] as const) {
    it(`a user.color that is not #rrggbb from a ${dialect} read link never reaches another client; a good one does`, async () => {
      const { id, readKey, writeKey } = await newDocument(`colour-${dialect}`);
      const victims = [await join('y-websocket', id, writeKey), await join('hocuspocus', id, writeKey)];
      const attacker = await join(dialect, id, readKey);
      attacker.sendAwareness([
        { clientId: 801, clock: 1, state: { user: { name: 'bad colour', color: MALICIOUS_COLOUR, colorLight: MALICIOUS_COLOUR } } },
        { clientId: 802, clock: 1, state: { user: { name: 'good colour', color: '#1f5fbf', colorLight: '#1f5fbf33' } } },
        { clientId: 803, clock: 1, state: { user: { name: 'not a string', color: { toString: 'red' } } } },
      ]);
      // A fourth id of its own for the barrier: the server sends an id's latest state of a moment.
      await barrier(attacker, victims, 804, 1);

      for (const victim of victims) {
        const received = victim.received();
        expect(JSON.stringify(received)).not.toContain('position:fixed');
        const bad = received.find((entry) => entry.clientId === 801)?.state as { user: Record<string, unknown> };
        expect(bad.user.name).toBe('bad colour');
        expect(bad.user).not.toHaveProperty('color');
        expect(bad.user).not.toHaveProperty('colorLight');
        expect((received.find((entry) => entry.clientId === 803)?.state as { user: Record<string, unknown> }).user).not.toHaveProperty('color');
        const good = received.find((entry) => entry.clientId === 802)?.state as { user: Record<string, unknown> };
        expect(good.user).toEqual({ name: 'good colour', color: '#1f5fbf', colorLight: '#1f5fbf33' });
      }
    });
  }
});

describe('awareness of clients that set no presence', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode('postgres');
  });
  afterAll(async () => {
    await node?.close();
  });

  // A stock y-websocket client renews its state every 15 s, `{}` when it sets none, and closes
  // and reconnects when it has heard nothing for 30 s: the echo of that renewal is what keeps
  // a quiet client connected. An empty state is no attack to drop.
  it('their empty renewals reach the others (and themselves) like any state', async () => {
    const id = uniqueDocId('awareness-empty');
    const quiet = yWebsocketClient(node.wsUrl, id);
    const other = yWebsocketClient(node.wsUrl, id);
    try {
      await Promise.all([whenSynced(quiet.provider), whenSynced(other.provider)]);
      const heard: number[] = [];
      quiet.provider.ws!.addEventListener('message', () => heard.push(Date.now()));
      const before = heard.length;
      quiet.provider.awareness.setLocalState({});
      await waitFor(() => other.provider.awareness.getStates().has(quiet.doc.clientID), 'the other client to hear the empty state');
      await waitFor(() => heard.length > before, 'the quiet client to hear its renewal echoed');
    } finally {
      quiet.provider.destroy();
      other.provider.destroy();
    }
  });
});
