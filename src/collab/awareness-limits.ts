import { type Awareness, removeAwarenessStates } from 'y-protocols/awareness';

/**
 * Awareness is the one thing a read-only credential may publish, and every state goes to
 * everyone on the document: without limits one frame of 20,000 made-up client ids reaches
 * every other client, and a `user.color` ends up in other people's style attributes (cursor
 * colours). So, before the room applies an inbound update (nothing refused here is ever sent
 * on), and for every state the document holds, whichever node it came from.
 */
export interface AwarenessLimits {
  /** Client ids one connection (a socket, per document on /collab) may hold at once; a tab has 1. */
  clientsPerConnection: number;
  /** States one document holds; past it, the ones renewed longest ago are dropped. */
  statesPerDocument: number;
  /** Bytes (JSON) of all of a document's states; past it, likewise. */
  bytesPerDocument: number;
  /** Bytes (JSON) of one state; a larger one is refused. */
  bytesPerState: number;
}

type State = Record<string, unknown>;

/** The only colour form that is safe in a style attribute, and the one the web editor sends. */
const COLOUR = /^#[0-9a-f]{6}$/i;
/** The selection background y-codemirror draws: a colour, optionally with an alpha byte. */
const LIGHT_COLOUR = /^#[0-9a-f]{6}([0-9a-f]{2})?$/i;

const byteLength = (state: State) => Buffer.byteLength(JSON.stringify(state));

/**
 * Removes a `user.color` / `user.colorLight` that is not a plain hex colour: editors put them
 * into style attributes as they are. The state itself (the name, the cursor) still goes out,
 * and the other clients draw their default colour.
 */
export function stripUnsafeColours(state: State): void {
  const user = state['user'];
  if (typeof user !== 'object' || user === null || Array.isArray(user)) return;
  const fields = user as Record<string, unknown>;
  if ('color' in fields && !(typeof fields['color'] === 'string' && COLOUR.test(fields['color']))) delete fields['color'];
  if ('colorLight' in fields && !(typeof fields['colorLight'] === 'string' && LIGHT_COLOUR.test(fields['colorLight']))) {
    delete fields['colorLight'];
  }
  // Only the server shows agents (agent-presence.ts): a client cannot pass for one.
  if ('kind' in fields) delete fields['kind'];
}

const isEmpty = (state: State) => Object.keys(state).length === 0;

/**
 * Filters one inbound update of a connection, in place (`states`: client id → state, as the
 * room will apply them). `claimed`: the ids the room has applied from this connection (see
 * claimApplied), kept by the caller for the connection's lifetime. An id whose state the
 * document no longer holds (it timed out, the client left) no longer counts, so a client that
 * reconnects under a new id is not held back by its old one.
 *
 * Ids are claimed once applied, not when they pass here: Hocuspocus's scratch awareness puts
 * an empty state of its own (a random id at clock 0, which the room ignores) into every
 * update, and a stock client's first state is at clock 0 too. Empty states are real (a
 * y-websocket client that sets no presence renews `{}` every 15 s, and its echo is what keeps
 * its connection from timing out), so they pass like any other, after the non-empty ones.
 */
export function filterInbound(states: Map<number, State>, claimed: Set<number>, awareness: Awareness, limits: AwarenessLimits): void {
  for (const id of claimed) if (!awareness.states.has(id)) claimed.delete(id);
  let room = limits.clientsPerConnection - claimed.size;
  const emptyLast = [...states].sort(([, a], [, b]) => Number(isEmpty(a)) - Number(isEmpty(b)));
  for (const [id, state] of emptyLast) {
    const fresh = !claimed.has(id);
    if (fresh && room <= 0) {
      states.delete(id);
      continue;
    }
    stripUnsafeColours(state); // and any claim to be an agent
    if (byteLength(state) > limits.bytesPerState) {
      states.delete(id);
      continue;
    }
    if (fresh) room -= 1;
  }
}

/** Books the ids the room just applied from a connection (its awareness 'update' event) as that connection's. */
export function claimApplied(claimed: Set<number>, { added, updated }: { added: number[]; updated: number[] }): void {
  for (const id of added) claimed.add(id);
  for (const id of updated) claimed.add(id);
}

/**
 * Keeps a document's awareness within its state and byte limits, whatever the origin of its
 * states (this node's connections, other nodes over the bus): after every change, drops the
 * states renewed longest ago until both fit. Live clients renew theirs every 15 s, so what goes
 * first is what is least alive. Returns a function that stops watching.
 */
export function limitDocumentAwareness(awareness: Awareness, limits: AwarenessLimits): () => void {
  const sizes = new Map<number, number>();
  let total = 0;
  const onUpdate = ({ added, updated, removed }: Record<'added' | 'updated' | 'removed', number[]>) => {
    for (const id of [...added, ...updated, ...removed]) {
      total -= sizes.get(id) ?? 0;
      sizes.delete(id);
      const state = awareness.states.get(id);
      if (state === undefined) continue;
      const size = byteLength(state);
      sizes.set(id, size);
      total += size;
    }
    if (sizes.size <= limits.statesPerDocument && total <= limits.bytesPerDocument) return;
    const oldestFirst = [...sizes.keys()].sort(
      (a, b) => (awareness.meta.get(a)?.lastUpdated ?? 0) - (awareness.meta.get(b)?.lastUpdated ?? 0),
    );
    const drop: number[] = [];
    let count = sizes.size;
    let bytes = total;
    for (const id of oldestFirst) {
      if (count <= limits.statesPerDocument && bytes <= limits.bytesPerDocument) break;
      drop.push(id);
      count -= 1;
      bytes -= sizes.get(id) ?? 0;
    }
    // Emits its own update (the removals), which this handler books and other clients hear.
    removeAwarenessStates(awareness, drop, 'awareness-limit');
  };
  awareness.on('update', onUpdate);
  return () => awareness.off('update', onUpdate);
}
