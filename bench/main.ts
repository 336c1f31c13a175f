import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureServerBuilt } from '../build.ts';
import { FULL, QUICK } from './plan.ts';
import { machine } from './proc.ts';
import { topSelfTime } from './profile.ts';
import { checkTargets, clientLoadTable, mergeFigures, table } from './report.ts';
import { SCENARIOS, type ScenarioContext, type ScenarioOutput } from './scenarios.ts';
import { type ServerName, startServer } from './servers.ts';

/**
 * npm run bench [-- --quick] [-- --only=tandem,reference] [-- --scenario=S5] [-- --profile]: Tandem, the reference y-websocket
 * server, Hocuspocus and a relay, one after another, under the same load; a table on the
 * terminal and, for a full run, BENCHMARKS.md.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const plan = quick ? QUICK : FULL;
const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',') as ServerName[] | undefined;
const servers: ServerName[] = only ?? ['tandem', 'reference', 'hocuspocus', 'relay'];
/** --scenario=S5 runs the scenarios whose name starts with it (and writes no BENCHMARKS.md). */
const scenarioPrefix = args.find((arg) => arg.startsWith('--scenario='))?.slice('--scenario='.length);
const scenarios = SCENARIOS.filter((scenario) => !scenarioPrefix || scenario.name.startsWith(scenarioPrefix));
const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const BENCH_DB = 'tandem_bench';
const databaseUrl = adminUrl.replace(/\/[^/]*$/, `/${BENCH_DB}`);

function ensurePeers(): void {
  const installed = ['@y/websocket-server', '@hocuspocus/extension-redis'].every((pkg) => existsSync(join(ROOT, 'bench/peers/node_modules', pkg)));
  if (installed) return;
  console.log('installing the peer servers (bench/peers) ...');
  execFileSync('npm', ['ci', '--prefix', join(ROOT, 'bench/peers'), '--no-audit', '--no-fund'], { stdio: 'inherit' });
}

/** A fresh database per run, so that Tandem's figures never depend on an earlier run's data. */
async function freshDatabase(): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${BENCH_DB} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${BENCH_DB}`);
    return ((await client.query('SHOW server_version')).rows[0] as { server_version: string }).server_version;
  } finally {
    await client.end();
  }
}

function tracePath(): string | undefined {
  const dir = process.env.TANDEM_TRACES_DIR ?? join(ROOT, '../shared/traces');
  const path = join(dir, 'automerge-paper.json.gz');
  if (existsSync(path)) return path;
  console.log(`trace replay skipped: ${path} not found (set TANDEM_TRACES_DIR)`);
  return undefined;
}

const versionOf = (pkg: string, base = ROOT) =>
  (JSON.parse(readFileSync(join(base, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

async function main(): Promise<void> {
  ensurePeers();
  // Tandem runs compiled, as npm start runs it.
  await ensureServerBuilt();
  const postgresVersion = await freshDatabase();
  const context: ScenarioContext = { plan, runId: Date.now().toString(36), tracePath: tracePath() };
  const out: ScenarioOutput = { figures: [], clientLoad: [], notes: [] };
  const started = Date.now();

  for (const scenario of scenarios) {
    for (const name of servers) {
      const server = await startServer(name, { databaseUrl });
      const t0 = Date.now();
      try {
        await scenario.run(server, context, out);
      } catch (error) {
        out.notes.push(`${scenario.name} on ${name} failed: ${(error as Error).message.split('\n')[0]}`);
        console.error(`${scenario.name} on ${name} failed:`, error);
      } finally {
        await server.stop();
      }
      console.log(`${scenario.name} on ${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  }

  const rows = mergeFigures(out.figures);
  const targets = checkTargets(rows);
  let profile: { scenario: string; table: string } | undefined;
  if ((plan.profile || args.includes('--profile')) && servers.includes('tandem') && (!scenarioPrefix || args.includes('--profile'))) profile = await profileTandem(context);

  const results = table(rows);
  const targetLines = targets.map(({ target, measured, met }) => `- ${met === undefined ? '?' : met ? 'met' : 'MISSED'}: ${target}: ${measured}`);
  console.log(`\n${results}\n\nTargets:\n${targetLines.join('\n')}\n`);
  if (profile) console.log(`Where Tandem spends its CPU in ${profile.scenario}:\n${profile.table}\n`);
  if (out.notes.length > 0) console.log(out.notes.join('\n'));
  console.log(`bench took ${((Date.now() - started) / 1000).toFixed(0)} s`);

  if (quick || only || scenarioPrefix) return;
  const host = machine();
  const markdown = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}. Every figure comes from the run below;`,
    'the servers ran one after another on the same machine, each freshly started for each scenario, under',
    'the same load client (a worker thread of the bench process) over loopback.',
    '',
    `- Machine: ${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, Linux ${host.kernel}. The load client and the`,
    '  server under test share these cores, so absolute figures are lower than on separate machines.',
    `- Versions: Node ${process.version}, Tandem ${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}, yjs ${versionOf('yjs')},`,
    `  @hocuspocus/server ${versionOf('@hocuspocus/server')}, @y/websocket-server ${versionOf('@y/websocket-server', join(ROOT, 'bench/peers'))}, PostgreSQL ${postgresVersion}.`,
    '- Tandem runs on Postgres with every update durable (group commit), `LOG_LEVEL=warn`, `AUTH=off`,',
    '  `SOCKET_IDLE_TIMEOUT_MS=3600000` (so that S4\'s idle sockets stay open); its CPU figures include the CPU',
    '  of the Postgres processes working for it (its database\'s backends, the WAL writer, checkpointer and',
    '  background writer). The reference server and Hocuspocus keep documents in memory only (no',
    '  persistence, so no durability delay); the relay keeps nothing, answers sync step 1 with an empty',
    '  step 2 itself and forwards only updates and awareness.',
    '- Latency figures include the load client\'s own delay: see its event-loop figures below; where its loop',
    '  delay p99 is close to a latency p99, that p99 measures the client as much as the server.',
    '- Clients: stock `y-websocket` providers for Tandem, the reference server and the relay; stock',
    '  `@hocuspocus/provider` for Hocuspocus (its own protocol).',
    '',
    '## Results',
    '',
    results,
    '',
    '## Targets',
    '',
    ...targetLines,
    '',
    ...(profile ? [`## Where Tandem spends its CPU (${profile.scenario}, \`node --cpu-prof\`)`, '', profile.table, ''] : []),
    '## The load client',
    '',
    'If the load client were saturated, the figures would measure it rather than the servers.',
    '',
    clientLoadTable(out.clientLoad),
    '',
    ...(out.notes.length > 0 ? ['## Notes', '', ...out.notes.map((note) => `- ${note}`), ''] : []),
    '## Scenarios',
    '',
    `- S1: 1 document, ${plan.s1.clients} clients, ${plan.s1.writers} of them type ${plan.s1.writesPerSecond} small inserts/s each for ${plan.s1.durationMs / 1000} s; latency from the writer's insert to its arrival at each other client.`,
    `- S2: ${plan.s2.documents} documents × 2 clients, one insert/s per document for ${plan.s2.durationMs / 1000} s; RSS per connection = (RSS with every client connected − RSS before) / connections.`,
    `- S3: a document built from ${plan.s3.edits.toLocaleString('en')} random edits; a fresh client's time to a complete sync, against encoding and applying the same state locally. "Loaded from storage": Tandem after the document unloaded and its compaction job ran, so it loads from one snapshot.`,
    `- S4: ${plan.s4.connections.toLocaleString('en')} synced, idle connections on ${plan.s4.rooms} documents.`,
    `- S5: ${plan.s5.documents} documents × ${plan.s5.clientsPerDocument} clients, 2 writers each, ${plan.s5.writesPerSecond} writes/s in all for ${plan.s5.durationMs / 1000} s, first on one node, then on two nodes sharing a Redis of their own (clients of each document alternate between the nodes; Tandem: its Redis bus, Postgres shared; Hocuspocus: @hocuspocus/extension-redis). Cross-node latency counts deliveries from a writer on one node to a reader on the other; CPU is summed over the nodes and Redis (and Postgres for Tandem).`,
    '- S6: Tandem only, from its `tandem_oplog_commit_lag_seconds` histogram during S1 and S2 (interpolated inside buckets).',
    `- S7: Tandem only, ${plan.s7.requests} JSON append PATCHes each, answered once durable; then ${plan.s7.sectionWrites} section rewrites one after another on a 50 KB document, rich text and markdown (each renders the document, applies the edit and writes back the smallest change).`,
    `- S8: Tandem only, 1, 2 and 3 nodes on one Postgres and one Redis, ${plan.s8.documents} documents with one client per node (two on one node), every client typing, at ${plan.s8.writesPerSecond.join(', ')} writes/s in all for ${plan.s8.durationMs / 1000} s each, until the commit lag p99 over all nodes passes 50 ms. The load client shares the 2 cores: at the top rates it may not make what it offers (see "writes/s made").`,
    '- Trace: `automerge-paper.json.gz` (259,778 edits of a LaTeX paper) typed through one client while another watches.',
    '',
  ].join('\n');
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), markdown);
  console.log('wrote BENCHMARKS.md');
}

/**
 * A scenario once more on Tandem under the V8 profiler, for the report's "where the time goes":
 * S1, or the one --scenario names.
 */
async function profileTandem(context: ScenarioContext): Promise<{ scenario: string; table: string }> {
  const scenario = SCENARIOS.find(({ name }) => scenarioPrefix && name.startsWith(scenarioPrefix)) ?? SCENARIOS[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'tandem-profile-'));
  try {
    const server = await startServer('tandem', { databaseUrl, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    const scratch: ScenarioOutput = { figures: [], clientLoad: [], notes: [] };
    try {
      await scenario.run(server, { ...context, runId: `${context.runId}-profile` }, scratch);
    } finally {
      await server.stop();
    }
    const top = topSelfTime(dir);
    const table = [
      '| self time | function | where |',
      '|---:|---|---|',
      ...top.map(({ name, where, percent }) => `| ${percent.toFixed(1)}% | \`${name}\` | ${where} |`),
    ].join('\n');
    return { scenario: scenario.name.split(' ')[0]!, table };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
