import * as encoding from 'lib0/encoding';
import { type Awareness, applyAwarenessUpdate, removeAwarenessStates } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { Author } from '../docs/authors.ts';

/** How long an agent stays in a document's presence after its last write. */
export const AGENT_PRESENCE_MS = 5_000;

/** The colour of agents' cursors and names (the web editor shows them apart from people). */
const AGENT_COLOUR = '#b45309';

/** The origin of the states this module sets: the room publishes them to other nodes like any other. */
export const AGENT_PRESENCE = Symbol('tandem:agent-presence');

/** Where a Yjs relative position points, as y-codemirror and y-prosemirror keep cursors in awareness (its JSON). */
type CursorJson = { item: { client: number; clock: number }; assoc: number };

/**
 * Where a transaction changed the document: after the last character it inserted, or, when it
 * only deleted, where the first deleted text was. Null when it changed nothing.
 */
export function cursorOf(transaction: Y.Transaction): CursorJson | null {
  for (const [client, after] of transaction.afterState) {
    const before = transaction.beforeState.get(client) ?? 0;
    if (after > before) return { item: { client, clock: after - 1 }, assoc: -1 };
  }
  for (const [client, deletions] of transaction.deleteSet.clients) {
    const first = deletions[0];
    if (first) return { item: { client, clock: first.clock }, assoc: 0 };
  }
  return null;
}

/** An agent's state on one document: when it ends, and what keeps the document loaded meanwhile. */
interface Shown {
  awareness: Awareness;
  clientId: number;
  timer: NodeJS.Timeout;
  release: () => void;
}

/**
 * Agents in a document's awareness while they write: each write shows its agent (name, kind
 * "agent", a cursor where it changed the document) under the client id of its writes, and
 * the state goes away AGENT_PRESENCE_MS after its last write. Plain awareness states, so
 * every client and (through the room's bus) every node sees them. The writer holds the
 * document loaded until then (`release`), so that it is this node that takes the state away:
 * an unloaded room could not tell the other nodes, whose clients would show the agent until
 * their awareness timed it out (30 s).
 */
export function createAgentPresence(holdMs = AGENT_PRESENCE_MS) {
  /** By document id and client id. */
  const shown = new Map<string, Shown>();
  const keyOf = (documentId: string, clientId: number) => `${clientId}\u0000${documentId}`;

  const end = (key: string) => {
    const entry = shown.get(key);
    if (!entry) return;
    shown.delete(key);
    clearTimeout(entry.timer);
    if (entry.awareness.states.has(entry.clientId)) removeAwarenessStates(entry.awareness, [entry.clientId], AGENT_PRESENCE);
    entry.release();
  };

  return {
    /** Shows the agent on the document now and until `holdMs` after this; `release` is called once it is gone. */
    show(documentId: string, awareness: Awareness, clientId: number, author: Author, cursor: CursorJson | null, release: () => void): void {
      const state = { user: { name: author.name, kind: 'agent', color: AGENT_COLOUR }, ...(cursor ? { cursor: { anchor: cursor, head: cursor } } : {}) };
      // An awareness update for another client id than this node's: as a client would send it.
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, 1);
      encoding.writeVarUint(encoder, clientId);
      encoding.writeVarUint(encoder, (awareness.meta.get(clientId)?.clock ?? 0) + 1);
      encoding.writeVarString(encoder, JSON.stringify(state));
      applyAwarenessUpdate(awareness, encoding.toUint8Array(encoder), AGENT_PRESENCE);
      const key = keyOf(documentId, clientId);
      const earlier = shown.get(key);
      if (earlier) {
        // This write's hold keeps the document loaded from now on.
        clearTimeout(earlier.timer);
        earlier.release();
      }
      const timer = setTimeout(() => end(key), holdMs);
      timer.unref();
      shown.set(key, { awareness, clientId, timer, release });
    },

    /** Takes every agent away now (at shutdown), releasing their documents. */
    endAll(): void {
      for (const key of [...shown.keys()]) end(key);
    },
  };
}
