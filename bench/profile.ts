import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * The functions with the most self time in the .cpuprofile files of a folder (node --cpu-prof),
 * as a share of the time the process was busy (idle samples left out).
 */
export function topSelfTime(dir: string, count = 25): { name: string; where: string; percent: number }[] {
  const totals = new Map<string, { name: string; where: string; micros: number }>();
  let all = 0;
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
    profile.samples.forEach((id, index) => {
      const frame = byId.get(id)!;
      if (frame.functionName === '(idle)') return;
      const micros = profile.timeDeltas[index] ?? 0;
      all += micros;
      const where = frame.url ? `${frame.url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/(src\/)/, '$1')}:${frame.lineNumber + 1}` : '';
      const key = `${frame.functionName}@${where}`;
      const entry = totals.get(key) ?? { name: frame.functionName || '(anonymous)', where, micros: 0 };
      entry.micros += micros;
      totals.set(key, entry);
    });
  }
  return [...totals.values()]
    .sort((a, b) => b.micros - a.micros)
    .slice(0, count)
    .map(({ name, where, micros }) => ({ name, where, percent: (100 * micros) / Math.max(1, all) }));
}
