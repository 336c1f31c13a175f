import type { ClientLoad } from './load/worker.ts';
import type { Figure } from './scenarios.ts';
import type { ServerName } from './servers.ts';

const SERVERS: ServerName[] = ['tandem', 'reference', 'hocuspocus', 'relay'];
const HEADERS = ['Tandem', 'reference y-websocket', 'Hocuspocus', 'relay (floor)'];

/** Figures from separate runs (one per server) merged into one row per scenario and metric. */
export function mergeFigures(figures: readonly Figure[]): Figure[] {
  const rows = new Map<string, Figure>();
  for (const figure of figures) {
    const key = `${figure.scenario}\u0000${figure.metric}`;
    const row = rows.get(key) ?? { ...figure, values: {} };
    Object.assign(row.values, figure.values);
    rows.set(key, row);
  }
  return [...rows.values()];
}

const format = (value: number | undefined, unit: string) => {
  if (value === undefined || Number.isNaN(value)) return '–';
  const digits = unit === '' ? 3 : Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit && unit !== '/s' ? ` ${unit}` : unit}`;
};
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !Number.isFinite(a / b) ? '–' : `${(a / b).toFixed(2)}×`;

export function table(rows: readonly Figure[]): string {
  const lines = [
    `| scenario | metric | ${HEADERS.join(' | ')} | Tandem / reference | Tandem / Hocuspocus |`,
    `|---|---|${SERVERS.map(() => '---:').join('|')}|---:|---:|`,
  ];
  for (const row of rows) {
    const cells = SERVERS.map((server) => format(row.values[server], row.unit));
    lines.push(
      `| ${row.scenario} | ${row.metric} | ${cells.join(' | ')} | ${ratio(row.values.tandem, row.values.reference)} | ${ratio(row.values.tandem, row.values.hocuspocus)} |`,
    );
  }
  return lines.join('\n');
}

export interface TargetResult {
  target: string;
  measured: string;
  met: boolean | undefined;
}

/** The issue's targets, each checked against this run's own figures. */
export function checkTargets(rows: readonly Figure[]): TargetResult[] {
  const find = (scenario: string, metric: string) => rows.find((row) => row.scenario === scenario && row.metric.startsWith(metric))?.values;
  const results: TargetResult[] = [];
  const check = (target: string, value: number | undefined, limit: number | undefined, describe: (v: number, l: number) => string) => {
    if (value === undefined || limit === undefined || Number.isNaN(value) || Number.isNaN(limit)) {
      results.push({ target, measured: 'not measured', met: undefined });
    } else {
      results.push({ target, measured: describe(value, limit), met: value <= limit });
    }
  };
  const p99 = find('S1', 'latency p99');
  check('S1 p99 ≤ the reference server’s', p99?.tandem, p99?.reference, (v, l) => `${v.toFixed(1)} ms vs ${l.toFixed(1)} ms`);
  const cpu = find('S1', 'server CPU per delivered update');
  check(
    'S1 CPU per delivered update ≤ 1.2× the reference’s (Postgres included)',
    cpu?.tandem,
    cpu?.reference === undefined ? undefined : cpu.reference * 1.2,
    (v, l) => `${v.toFixed(1)} µs vs ${(l / 1.2).toFixed(1)} µs (${(v / (l / 1.2)).toFixed(2)}×)`,
  );
  const s2 = find('S2', 'RSS per connection');
  check('S2 RSS per connection ≤ 28 KB', s2?.tandem, 28, (v) => `${v.toFixed(1)} KB`);
  const s4 = find('S4', 'RSS per idle connection');
  check('S4 RSS per idle connection ≤ 13 KB', s4?.tandem, 13, (v) => `${v.toFixed(1)} KB`);
  const cold = find('S3', 'fresh client sync, loaded from storage')?.tandem;
  const local = find('S3', 'local encode + apply')?.tandem;
  check('S3 cold sync ≤ 1.3× local encode + apply', cold, local === undefined ? undefined : local * 1.3, (v, l) => `${v.toFixed(0)} ms vs ${(l / 1.3).toFixed(0)} ms local (${(v / (l / 1.3)).toFixed(2)}×)`);
  s5Targets(find, check);
  for (const load of ['S1', 'S2']) {
    const lag = find('S6', `commit lag p99 (${load} load)`)?.tandem;
    check(`S6 commit lag p99 ≤ 50 ms (${load} load)`, lag, 50, (v) => `${v.toFixed(1)} ms (interpolated from the histogram)`);
  }
  return results;
}

export function clientLoadTable(loads: readonly { scenario: string; server: ServerName; load: ClientLoad }[]): string {
  const lines = ['| scenario | server | load client event-loop utilisation | loop delay p99 | thread CPU |', '|---|---|---:|---:|---:|'];
  for (const { scenario, server, load } of loads) {
    lines.push(
      `| ${scenario} | ${server} | ${(load.eventLoopUtilization * 100).toFixed(0)}% | ${load.loopDelayP99Ms.toFixed(1)} ms | ${(load.cpuMs / 1000).toFixed(1)} s |`,
    );
  }
  return lines.join('\n');
}

type Find = (scenario: string, metric: string) => Figure['values'] | undefined;
type Check = (target: string, value: number | undefined, limit: number | undefined, describe: (v: number, l: number) => string) => void;

/** Issue 6's two-node targets (issue 17's p50 margin) for Tandem, each with Hocuspocus + Redis's own figure beside it. */
function s5Targets(find: Find, check: Check): void {
  const one = (metric: string) => find('S5', `one node: ${metric}`);
  const two = (metric: string) => find('S5', `two nodes: ${metric}`);
  const beside = (values: Figure['values'] | undefined, unit: string, digits = 1) =>
    values?.hocuspocus === undefined ? '' : `; Hocuspocus + Redis ${values.hocuspocus.toFixed(digits)}${unit}`;
  const [p50One, p50Two] = [one('latency p50'), two('cross-node latency p50')];
  check('S5 cross-node p50 ≤ one-node p50 + 2 ms', p50Two?.tandem, p50One?.tandem === undefined ? undefined : p50One.tandem + 2, (v, l) =>
    `${v.toFixed(1)} ms vs ${(l - 2).toFixed(1)} ms on one node${beside(p50Two, ' ms')} (one node ${p50One?.hocuspocus?.toFixed(1) ?? '–'} ms)`);
  const [p99One, p99Two] = [one('latency p99'), two('cross-node latency p99')];
  check('S5 cross-node p99 ≤ 2× one-node p99', p99Two?.tandem, p99One?.tandem === undefined ? undefined : p99One.tandem * 2, (v, l) =>
    `${v.toFixed(1)} ms vs ${(l / 2).toFixed(1)} ms on one node${beside(p99Two, ' ms')} (one node ${p99One?.hocuspocus?.toFixed(1) ?? '–'} ms)`);
  const [cpuOne, cpuTwo] = [one('server CPU per delivered update'), two('CPU per delivered update')];
  check('S5 two-node CPU per delivered update ≤ 1.5× one node', cpuTwo?.tandem, cpuOne?.tandem === undefined ? undefined : cpuOne.tandem * 1.5, (v, l) =>
    `${v.toFixed(1)} µs vs ${(l / 1.5).toFixed(1)} µs (${(v / (l / 1.5)).toFixed(2)}×)` +
    (cpuTwo?.hocuspocus !== undefined && cpuOne?.hocuspocus !== undefined ? `; Hocuspocus + Redis ${(cpuTwo.hocuspocus / cpuOne.hocuspocus).toFixed(2)}× its one node` : ''));
  const ratio = two('delivery ratio');
  const offered = two('writes/s offered')?.tandem;
  check(`S5 two-node delivery ratio 1.0 at ${offered === undefined ? '500' : offered.toFixed(0)} writes/s`, ratio?.tandem === undefined ? undefined : 1 - ratio.tandem, 0, () =>
    `${ratio!.tandem!.toFixed(4)}${beside(ratio, '', 3)}`);
  const longest = two('longest delivery');
  check('S5 no delivery stall over 100 ms on two nodes (longest delivery)', longest?.tandem, 100, (v) => `${v.toFixed(1)} ms${beside(longest, ' ms')}`);
}
