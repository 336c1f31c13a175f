import type { ColdSyncResult } from './load/cold-sync.ts';
import type { FanoutResult, FanoutTask } from './load/fanout.ts';
import { type RestWritesResult, sectionedMarkdown } from './load/rest-writes.ts';
import { runTask } from './load/run-task.ts';
import type { ClientLoad } from './load/worker.ts';
import type { BenchPlan } from './plan.ts';
import { postgresPids, rssBytes, totalCpuMicros } from './proc.ts';
import { type RunningServer, type ServerName, startCluster } from './servers.ts';
import { type Histogram, histogramDelta, histogramQuantile, parseHistogram, percentile } from './stats.ts';

/** One figure of the report, per server; ratios and targets are computed from these. */
export interface Figure {
  scenario: string;
  metric: string;
  unit: string;
  values: Partial<Record<ServerName, number>>;
}

export interface ScenarioOutput {
  figures: Figure[];
  clientLoad: { scenario: string; server: ServerName; load: ClientLoad }[];
  notes: string[];
}

export interface ScenarioContext {
  plan: BenchPlan;
  runId: string;
  tracePath: string | undefined;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The server's CPU, plus, for Tandem, that of the Postgres processes working for it (its
 * database's backends and the shared writers): durability is part of its cost.
 */
async function serverCpu(server: RunningServer): Promise<{ total: number; postgres: number }> {
  const postgres = server.name === 'tandem' ? totalCpuMicros(await postgresPids(server.databaseUrl!)) : 0;
  return { total: totalCpuMicros(server.pids) + postgres, postgres };
}

async function commitLag(server: RunningServer): Promise<Histogram | undefined> {
  if (!server.httpUrl) return undefined;
  return parseHistogram(await (await fetch(`${server.httpUrl}/metrics`)).text(), 'tandem_oplog_commit_lag_seconds');
}

/** Until the document has left memory and the compaction its unload enqueued has finished. */
async function waitForUnloadAndCompaction(server: RunningServer): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    // Not "delayed": that is a live document's request for later, not the unload's.
    const compacting = [...metrics.matchAll(/^tandem_jobs\{queue="compaction",state="(?:waiting|active)"\} (\d+)$/gm)].some((match) => match[1] !== '0');
    if (/^tandem_documents_loaded 0$/m.test(metrics) && !compacting) return;
    await settle(50);
  }
  throw new Error('Tandem did not unload and compact the document within 120 s');
}

type Scenario = (server: RunningServer, context: ScenarioContext, out: ScenarioOutput) => Promise<void>;

interface MeasuredFanout {
  result: FanoutResult;
  client: ClientLoad;
  /** The server's CPU while typing (µs): its processes, Postgres for Tandem. */
  cpu: { total: number; postgres: number };
  /** Tandem's commit lag while typing. */
  lag: Histogram | undefined;
}

/** A fanout task with the server's CPU and commit lag read over the typing window alone. */
async function measuredFanout(server: RunningServer, task: FanoutTask, onConnected: () => Promise<void> = async () => undefined): Promise<MeasuredFanout> {
  let cpuStart = { total: 0, postgres: 0 };
  let lagStart: Histogram | undefined;
  const { result, client } = await runTask<FanoutResult>(server, task, async (name) => {
    if (name === 'connected') await onConnected();
    else if (name === 'typing') {
      cpuStart = await serverCpu(server);
      lagStart = await commitLag(server);
    }
  });
  const cpuEnd = await serverCpu(server);
  const lagEnd = await commitLag(server);
  return {
    result,
    client,
    cpu: { total: cpuEnd.total - cpuStart.total, postgres: cpuEnd.postgres - cpuStart.postgres },
    lag: lagStart && lagEnd ? histogramDelta(lagStart, lagEnd) : undefined,
  };
}

const fanout =
  (label: 'S1' | 'S2'): Scenario =>
  async (server, { plan, runId }, out) => {
    const s1 = label === 'S1';
    const task: FanoutTask = {
      kind: 'fanout',
      rooms: s1 ? 1 : plan.s2.documents,
      clientsPerRoom: s1 ? plan.s1.clients : 2,
      writersPerRoom: s1 ? plan.s1.writers : 1,
      writesPerSecond: s1 ? plan.s1.writesPerSecond : 1,
      durationMs: s1 ? plan.s1.durationMs : plan.s2.durationMs,
      roomPrefix: `${runId}-${label.toLowerCase()}-${server.name}`,
    };
    await settle(500);
    const rssBefore = rssBytes(server.pid);
    let rssConnected = 0;
    const { result, client, cpu, lag } = await measuredFanout(server, task, async () => {
      await settle(1_000);
      rssConnected = rssBytes(server.pid);
    });
    const put = (metric: string, unit: string, value: number) =>
      out.figures.push({ scenario: label, metric, unit, values: { [server.name]: value } });
    put('latency p50', 'ms', percentile(result.latenciesMs, 50));
    if (s1) put('latency p95', 'ms', percentile(result.latenciesMs, 95));
    put('latency p99', 'ms', percentile(result.latenciesMs, 99));
    if (s1) {
      put('delivered updates/s', '/s', result.deliveries / (result.windowMs / 1000));
      put('delivery ratio', '', result.deliveries / result.expectedDeliveries);
      put('server CPU per delivered update', 'µs', cpu.total / Math.max(1, result.deliveries));
      if (server.name === 'tandem') put('… of which Postgres', 'µs', cpu.postgres / Math.max(1, result.deliveries));
    } else {
      put('server CPU per write', 'µs', cpu.total / Math.max(1, result.writes));
      if (server.name === 'tandem') put('… of which Postgres', 'µs', cpu.postgres / Math.max(1, result.writes));
      put('RSS per connection', 'KB', (rssConnected - rssBefore) / 1024 / (task.rooms * task.clientsPerRoom));
    }
    if (lag) {
      out.figures.push({ scenario: 'S6', metric: `commit lag p50 (${label} load)`, unit: 'ms', values: { tandem: histogramQuantile(lag, 0.5) * 1000 } });
      out.figures.push({ scenario: 'S6', metric: `commit lag p99 (${label} load)`, unit: 'ms', values: { tandem: histogramQuantile(lag, 0.99) * 1000 } });
    }
    out.clientLoad.push({ scenario: label, server: server.name, load: client });
  };

/**
 * S5: the same documents and typing on one node, then on two nodes of the same server sharing
 * a Redis of their own (Tandem's bus; Hocuspocus's @hocuspocus/extension-redis), with each
 * document's clients split over both nodes. Latency on two nodes counts cross-node deliveries.
 */
const crossNode: Scenario = async (server, { plan, runId }, out) => {
  if (server.name !== 'tandem' && server.name !== 'hocuspocus') return;
  const writersPerRoom = 2;
  const task = (suffix: string): FanoutTask => ({
    kind: 'fanout',
    rooms: plan.s5.documents,
    clientsPerRoom: plan.s5.clientsPerDocument,
    writersPerRoom,
    writesPerSecond: plan.s5.writesPerSecond / (plan.s5.documents * writersPerRoom),
    durationMs: plan.s5.durationMs,
    roomPrefix: `${runId}-s5-${server.name}-${suffix}`,
  });
  await settle(500);
  const one = await measuredFanout(server, task('one'));
  const cluster = await startCluster(server.name, 2, { databaseUrl: server.databaseUrl ?? '' });
  let two: MeasuredFanout;
  try {
    await settle(500);
    two = await measuredFanout(cluster, task('two'));
  } finally {
    await cluster.stop();
  }
  const put = (metric: string, unit: string, value: number) =>
    out.figures.push({ scenario: 'S5', metric, unit, values: { [server.name]: value } });
  const perDelivery = (run: MeasuredFanout) => run.cpu.total / Math.max(1, run.result.deliveries);
  put('one node: latency p50', 'ms', percentile(one.result.latenciesMs, 50));
  put('two nodes: cross-node latency p50', 'ms', percentile(two.result.crossNodeLatenciesMs, 50));
  put('one node: latency p99', 'ms', percentile(one.result.latenciesMs, 99));
  put('two nodes: cross-node latency p99', 'ms', percentile(two.result.crossNodeLatenciesMs, 99));
  put('one node: longest delivery', 'ms', percentile(one.result.latenciesMs, 100));
  put('two nodes: longest delivery', 'ms', percentile(two.result.latenciesMs, 100));
  put('one node: delivery ratio', '', one.result.deliveries / one.result.expectedDeliveries);
  put('two nodes: delivery ratio', '', two.result.deliveries / two.result.expectedDeliveries);
  put('one node: server CPU per delivered update', 'µs', perDelivery(one));
  put('two nodes: CPU per delivered update (nodes + Redis)', 'µs', perDelivery(two));
  put('two nodes: writes/s offered', '/s', two.result.writes / (two.result.windowMs / 1000));
  // How far Tandem's commits trail its deliveries (a node publishes before it commits).
  for (const [label, run] of [['one node', one], ['two nodes (first node)', two]] as const) {
    if (run.lag) put(`${label}: commit lag p50`, 'ms', histogramQuantile(run.lag, 0.5) * 1000);
  }
  out.clientLoad.push({ scenario: 'S5 one node', server: server.name, load: one.client });
  out.clientLoad.push({ scenario: 'S5 two nodes', server: server.name, load: two.client });
};

/**
 * S8: how far Tandem scales out on one Postgres. 1, 2 and 3 nodes on one Redis; every client of
 * a document on a node of its own and typing (two clients, one typing, on one node), at rising
 * total write rates until the commit lag p99 over all nodes passes 50 ms.
 */
const scaling: Scenario = async (server, { plan, runId }, out) => {
  if (server.name !== 'tandem') return;
  const put = (metric: string, unit: string, value: number) =>
    out.figures.push({ scenario: 'S8', metric, unit, values: { tandem: value } });
  const lagOf = async (cluster: RunningServer) => {
    const all = await Promise.all((cluster.httpUrls ?? []).map(async (url) => parseHistogram(await (await fetch(`${url}/metrics`)).text(), 'tandem_oplog_commit_lag_seconds')));
    return all.reduce((sum, one) => ({ buckets: one.buckets.map((bucket, i) => ({ le: bucket.le, count: bucket.count + (sum.buckets[i]?.count ?? 0) })) }));
  };
  for (const nodes of [1, 2, 3]) {
    const label = `${nodes} node${nodes > 1 ? 's' : ''}`;
    const cluster = await startCluster('tandem', nodes, { databaseUrl: server.databaseUrl ?? '' });
    let sustained = 0;
    try {
      await settle(500);
      for (const rate of plan.s8.writesPerSecond) {
        const writersPerRoom = nodes;
        let before: Histogram | undefined;
        const { result, client } = await runTask<FanoutResult>(
          cluster,
          {
            kind: 'fanout',
            rooms: plan.s8.documents,
            clientsPerRoom: Math.max(2, nodes),
            writersPerRoom,
            writesPerSecond: rate / (plan.s8.documents * writersPerRoom),
            durationMs: plan.s8.durationMs,
            roomPrefix: `${runId}-s8-${nodes}-${rate}`,
          },
          async (name) => {
            if (name === 'typing') before = await lagOf(cluster);
          },
        );
        const p99 = histogramQuantile(histogramDelta(before!, await lagOf(cluster)), 0.99) * 1000;
        put(`${label}, ${rate} writes/s offered: writes/s made`, '/s', result.writes / (result.windowMs / 1000));
        put(`${label}, ${rate} writes/s offered: commit lag p99`, 'ms', p99);
        out.clientLoad.push({ scenario: `S8 ${label}, ${rate}/s`, server: server.name, load: client });
        if (!(p99 <= 50)) break;
        sustained = rate;
      }
    } finally {
      await cluster.stop();
    }
    put(`${label}: highest rate tried with commit lag p99 ≤ 50 ms`, '/s', sustained);
  }
};

const coldSync: Scenario = async (server, { plan, runId }, out) => {
  if (server.name === 'relay') return;
  const { result, client } = await runTask<ColdSyncResult>(
    server,
    { kind: 'cold-sync', edits: plan.s3.edits, room: `${runId}-s3-${server.name}`, afterUnload: server.name === 'tandem' },
    async (name) => {
      if (name === 'unload') await waitForUnloadAndCompaction(server);
    },
  );
  const put = (metric: string, unit: string, value: number) =>
    out.figures.push({ scenario: 'S3', metric, unit, values: { [server.name]: value } });
  put('fresh client sync, document held open', 'ms', result.warmMs);
  if (result.coldMs !== undefined) put('fresh client sync, loaded from storage (compacted)', 'ms', result.coldMs);
  put('local encode + apply (the floor)', 'ms', result.localMs);
  out.notes.push(
    `S3 document on ${server.name}: ${plan.s3.edits.toLocaleString('en')} edits, ${(result.textLength / 1e6).toFixed(2)} M characters, ` +
      `${(result.documentBytes / 1e6).toFixed(2)} MB as one Yjs update.`,
  );
  out.clientLoad.push({ scenario: 'S3', server: server.name, load: client });
};

const idle: Scenario = async (server, { plan, runId }, out) => {
  await settle(500);
  const before = rssBytes(server.pid);
  let connected = 0;
  const { client } = await runTask(
    server,
    { kind: 'idle', connections: plan.s4.connections, rooms: plan.s4.rooms, roomPrefix: `${runId}-s4-${server.name}` },
    async () => {
      await settle(2_000);
      connected = rssBytes(server.pid);
    },
  );
  out.figures.push({
    scenario: 'S4',
    metric: `RSS per idle connection (${plan.s4.connections} on ${plan.s4.rooms} documents)`,
    unit: 'KB',
    values: { [server.name]: (connected - before) / 1024 / plan.s4.connections },
  });
  out.clientLoad.push({ scenario: 'S4', server: server.name, load: client });
};

const restWrites: Scenario = async (server, { plan, runId }, out) => {
  if (server.name !== 'tandem') return;
  for (const [label, concurrency, documents] of [
    ['sequential, one document', 1, 1],
    [`sequential, ${plan.s7.manyDocuments} documents`, 1, plan.s7.manyDocuments],
    ['16-way, one document', 16, 1],
    [`16-way, ${plan.s7.manyDocuments} documents`, 16, plan.s7.manyDocuments],
  ] as const) {
    const { result, client } = await runTask<RestWritesResult>(server, {
      kind: 'rest-writes',
      httpUrl: server.httpUrl!,
      requests: plan.s7.requests,
      concurrency,
      documents,
      prefix: `${runId}-s7-${concurrency}-${documents}`,
    });
    reportRestWrites(server, label, result, client, out);
  }
  // An agent rewriting sections of a 50 KB document, one write after another: each renders the
  // document as markdown, applies the edit and writes back the smallest change (rich text:
  // parse, check and reconcile the fragment).
  const document = sectionedMarkdown(50_000);
  for (const format of ['prosemirror', 'markdown'] as const) {
    const { result, client } = await runTask<RestWritesResult>(server, {
      kind: 'rest-writes',
      httpUrl: server.httpUrl!,
      requests: plan.s7.sectionWrites,
      concurrency: 1,
      documents: 1,
      prefix: `${runId}-s7-${format}`,
      sections: { format, ...document },
    });
    reportRestWrites(server, `section rewrites, 50 KB ${format === 'prosemirror' ? 'rich-text' : 'markdown'} document`, result, client, out);
  }
};

function reportRestWrites(server: RunningServer, label: string, result: RestWritesResult, client: ClientLoad, out: ScenarioOutput): void {
  if (result.failures > 0) out.notes.push(`S7 ${label}: ${result.failures} requests failed.`);
  const put = (metric: string, unit: string, value: number) =>
    out.figures.push({ scenario: 'S7', metric: `${label}: ${metric}`, unit, values: { tandem: value } });
  put('patches/s', '/s', result.latenciesMs.length / (result.elapsedMs / 1000));
  put('p50 until durable answer', 'ms', percentile(result.latenciesMs, 50));
  put('p99 until durable answer', 'ms', percentile(result.latenciesMs, 99));
  out.clientLoad.push({ scenario: 'S7', server: server.name, load: client });
}

const traceReplay: Scenario = async (server, { plan, runId, tracePath }, out) => {
  if (!tracePath) return;
  const { result, client } = await runTask<{ txns: number; totalMs: number }>(server, {
    kind: 'trace',
    path: tracePath,
    limit: plan.trace.limit,
    room: `${runId}-trace-${server.name}`,
  });
  const put = (metric: string, unit: string, value: number) =>
    out.figures.push({ scenario: 'Trace', metric, unit, values: { [server.name]: value } });
  put(`automerge-paper (${result.txns.toLocaleString('en')} txns): total time`, 's', result.totalMs / 1000);
  put('server RSS at the end', 'MB', rssBytes(server.pid) / 1024 / 1024);
  out.clientLoad.push({ scenario: 'Trace', server: server.name, load: client });
};

/** In run order; each gets a freshly started server, so memory figures start from the same place. */
export const SCENARIOS: { name: string; run: Scenario }[] = [
  { name: 'S1 fan-out', run: fanout('S1') },
  { name: 'S2 many documents', run: fanout('S2') },
  { name: 'S3 cold sync', run: coldSync },
  { name: 'S4 idle connections', run: idle },
  { name: 'S5 two nodes', run: crossNode },
  { name: 'S7 REST writes', run: restWrites },
  { name: 'S8 scaling out', run: scaling },
  { name: 'trace replay', run: traceReplay },
];
