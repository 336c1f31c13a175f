import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { HocuspocusProvider } from '@hocuspocus/provider';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { hocuspocusClient, whenSynced, yWebsocketClient } from './clients.ts';

/** A concurrent editing trace (josephg/editing-traces; see test/fixtures/traces/README.md). */
export interface ConcurrentTrace {
  endContent: string;
  numAgents: number;
  txns: TraceTxn[];
}

export interface TraceTxn {
  /** Indexes of earlier txns; positions are relative to the merged document after them. */
  parents: number[];
  agent: number;
  /** [position, delete count, inserted text], applied in order. */
  patches: [number, number, string][];
}

export async function loadConcurrentTrace(path: string | URL): Promise<ConcurrentTrace> {
  const trace = JSON.parse(gunzipSync(await readFile(path)).toString('utf8')) as ConcurrentTrace;
  if (!Array.isArray(trace.txns) || typeof trace.numAgents !== 'number') {
    throw new Error(`${path} is not a concurrent trace`);
  }
  return trace;
}

export interface TraceShape {
  /** Each agent's txns, in order. */
  byAgent: number[][];
  /** versionVectors[t][b]: how many of agent b's txns t includes (itself counted). */
  versionVectors: number[][];
}

/**
 * Version vectors from the parent links. Requires each agent's own txns to form a chain (each
 * includes the agent's previous one): then "ancestors of t by agent b" is a prefix of b's txns.
 */
export function shapeOf(trace: ConcurrentTrace): TraceShape {
  const byAgent: number[][] = Array.from({ length: trace.numAgents }, () => []);
  const versionVectors: number[][] = [];
  trace.txns.forEach((txn, t) => {
    const vv = new Array<number>(trace.numAgents).fill(0);
    for (const parent of txn.parents) {
      if (!(parent < t)) throw new Error(`txn ${t} has parent ${parent} that is not earlier`);
      const pv = versionVectors[parent]!;
      for (let b = 0; b < vv.length; b++) vv[b] = Math.max(vv[b]!, pv[b]!);
    }
    const own = byAgent[txn.agent]!;
    if (vv[txn.agent] !== own.length) {
      throw new Error(`txn ${t} of agent ${txn.agent} does not follow that agent's previous txn`);
    }
    own.push(t);
    vv[txn.agent] = own.length;
    versionVectors.push(vv);
  });
  return { byAgent, versionVectors };
}

/** Yjs orders concurrent inserts at one place by client id; the traces' endContent assumes agent 0 < agent 1 < … */
export const clientIdOf = (agent: number) => agent + 1;

/** Which stock client an agent uses. */
export type ReplayClient = 'y-websocket' | 'hocuspocus';

export interface ReplayAgent {
  agent: number;
  client: ReplayClient;
  /** The doc the provider syncs: it receives everything the server relays. */
  doc: Y.Doc;
  provider: WebsocketProvider | HocuspocusProvider;
  text: Y.Text;
  /** Every close of the agent's connection, by the server or by the client's own watchdog. */
  closes: { code: number | null; reason: string }[];
}

export interface ReplayResult {
  agents: ReplayAgent[];
  /** From the first txn to the last one handed to a provider. */
  authoringMs: number;
  /** Times an agent had to wait for the server to relay an ancestor. */
  waits: number;
}

const LOCAL = Symbol('trace-replay:local');
const CATCH_UP = Symbol('trace-replay:catch-up');

/**
 * Replays a concurrent trace through a server: one stock client per agent, all on
 * `documentId`, running concurrently. Agent a authors each txn on a private branch doc that
 * holds exactly the txn's ancestors (so the trace's positions apply), and only once its
 * provider has *received from the server* every ancestor by other agents; the resulting Yjs
 * update is then applied to the provider's doc, which sends it. Resolves when every txn has
 * been handed to a provider (the caller waits for convergence).
 */
export async function replayConcurrentTrace(
  trace: ConcurrentTrace,
  options: {
    wsUrl: string;
    documentId: string;
    stallTimeoutMs?: number;
    /** Per agent (default: every agent on y-websocket). */
    clientOf?: (agent: number) => ReplayClient;
  },
): Promise<ReplayResult> {
  const { byAgent, versionVectors } = shapeOf(trace);
  const stallTimeoutMs = options.stallTimeoutMs ?? 20_000;
  const updates: (Uint8Array | undefined)[] = new Array(trace.txns.length);
  /** The author's Yjs clock right after each txn: "has txn t arrived" is getState(doc.store, author) >= clockAfter[t]. */
  const clockAfter: (number | undefined)[] = new Array(trace.txns.length);

  let wake: (() => void)[] = [];
  const notify = () => {
    const waiting = wake;
    wake = [];
    for (const resolve of waiting) resolve();
  };
  let waits = 0;
  let lastProgress = Date.now();
  let failed = false;

  const agents: ReplayAgent[] = [];
  for (let a = 0; a < trace.numAgents; a++) {
    const doc = new Y.Doc();
    // Never authors anything; a fixed id just keeps it clear of the agents' ids.
    doc.clientID = 1_000 + a;
    const client = options.clientOf?.(a) ?? 'y-websocket';
    const closes: ReplayAgent['closes'] = [];
    let provider: ReplayAgent['provider'];
    if (client === 'y-websocket') {
      provider = yWebsocketClient(options.wsUrl, options.documentId, { doc }).provider;
      // null: the client's own watchdog closed it (no message from the server for 30 s).
      provider.on('connection-close', (event) => closes.push({ code: event?.code ?? null, reason: event?.reason ?? '' }));
    } else {
      provider = hocuspocusClient(options.wsUrl, options.documentId, { doc }).provider;
      provider.on('disconnect', ({ event }: { event: CloseEvent }) => closes.push({ code: event.code, reason: event.reason }));
    }
    doc.on('update', notify);
    agents.push({ agent: a, client, doc, provider, text: doc.getText('content'), closes });
  }
  try {
    await Promise.all(agents.map(({ provider }) => whenSynced(provider)));
  } catch (error) {
    for (const { provider } of agents) provider.destroy();
    throw error;
  }

  async function until(condition: () => boolean, what: () => string): Promise<void> {
    while (!condition()) {
      if (failed) throw new Error('another agent failed');
      waits += 1;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake.push(resolve);
        timer = setTimeout(resolve, 1_000);
      });
      clearTimeout(timer);
      if (!condition() && Date.now() - lastProgress > stallTimeoutMs) {
        throw new Error(`Replay stalled for ${stallTimeoutMs} ms waiting for ${what()}`);
      }
    }
  }

  async function runAgent(a: number): Promise<void> {
    const { doc: providerDoc } = agents[a]!;
    const branch = new Y.Doc();
    branch.clientID = clientIdOf(a);
    const branchText = branch.getText('content');
    const marks = branch.getMap('replay');
    let captured: Uint8Array | undefined;
    branch.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === LOCAL) captured = update;
    });
    /** applied[b]: how many of agent b's txns the branch holds. */
    const applied = new Array<number>(trace.numAgents).fill(0);

    for (const [n, t] of byAgent[a]!.entries()) {
      const vv = versionVectors[t]!;
      const catchUp: number[] = [];
      for (let b = 0; b < trace.numAgents; b++) {
        if (b === a || vv[b]! <= applied[b]!) continue;
        const newest = byAgent[b]![vv[b]! - 1]!;
        await until(
          () => clockAfter[newest] !== undefined && Y.getState(providerDoc.store, clientIdOf(b)) >= clockAfter[newest]!,
          () => `agent ${a} (txn ${t}) to receive txn ${newest} of agent ${b} from the server`,
        );
        for (let k = applied[b]!; k < vv[b]!; k++) catchUp.push(byAgent[b]![k]!);
        applied[b] = vv[b]!;
      }
      // In trace order, which is causal: agent by agent, an update could arrive before what it
      // builds on from a third agent, and Yjs would hold it as pending and re-merge all pending
      // updates on every later one (quadratic; it froze long catch-ups for over a minute).
      catchUp.sort((x, y) => x - y);
      if (catchUp.length > 0) {
        branch.transact(() => {
          for (const k of catchUp) Y.applyUpdate(branch, updates[k]!);
        }, CATCH_UP);
      }

      captured = undefined;
      branch.transact(() => {
        for (const [pos, del, ins] of trace.txns[t]!.patches) {
          if (del > 0) branchText.delete(pos, del);
          if (ins.length > 0) branchText.insert(pos, ins);
        }
        // Advances the author's clock even for a delete-only txn, so its arrival is observable.
        marks.set(`agent${a}`, t);
      }, LOCAL);
      if (!captured) throw new Error(`txn ${t} produced no update`);
      updates[t] = captured;
      clockAfter[t] = Y.getState(branch.store, clientIdOf(a));
      Y.applyUpdate(providerDoc, captured);
      lastProgress = Date.now();
      notify();
      // Let the sockets (and an in-process server) breathe during long runs without waits.
      if (n % 256 === 255) await new Promise((resolve) => setImmediate(resolve));
    }
    branch.destroy();
  }

  const started = performance.now();
  try {
    await Promise.all(agents.map(({ agent }) => runAgent(agent)));
  } catch (error) {
    failed = true;
    notify();
    for (const { provider } of agents) provider.destroy();
    throw error;
  }
  return { agents, authoringMs: performance.now() - started, waits };
}
