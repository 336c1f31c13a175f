import type { ServerTarget } from '../servers.ts';
import { checkpoint } from './channel.ts';
import { connectMany, type LoadClient, sleep } from './clients.ts';

export interface FanoutTask {
  kind: 'fanout';
  rooms: number;
  clientsPerRoom: number;
  writersPerRoom: number;
  writesPerSecond: number;
  durationMs: number;
  roomPrefix: string;
}

export interface FanoutResult {
  latenciesMs: number[];
  /** Of those, the deliveries from a writer on one node to a reader on another (clusters only). */
  crossNodeLatenciesMs: number[];
  writes: number;
  deliveries: number;
  expectedDeliveries: number;
  windowMs: number;
}

const MARKER = /⟦(\d+):(\d+)⟧/g;

/**
 * Rooms of clients where some clients type small inserts at a steady rate and every other
 * client of the room records when each insert arrives. All clients live in this thread, so
 * send and arrival times come from one clock. Checkpoints: "connected" (before typing) and
 * "typing" (typing starts right after it). On a cluster the clients of each room take turns
 * over its nodes (0, 1, 0, 1, ...), so its writers sit on different nodes.
 */
export async function runFanout(target: ServerTarget, task: FanoutTask): Promise<FanoutResult> {
  const roomNames = Array.from({ length: task.rooms }, (_, r) => `${task.roomPrefix}-${r}`);
  const nodeOf = (index: number) => (index % task.clientsPerRoom) % target.wsUrls.length;
  const clients = await connectMany(
    target,
    roomNames.flatMap((room) => Array.from({ length: task.clientsPerRoom }, () => room)),
    60_000,
    nodeOf,
  );
  const sentAt = new Map<string, number>();
  const latenciesMs: number[] = [];
  const crossNodeLatenciesMs: number[] = [];
  let deliveries = 0;

  clients.forEach((client, index) => {
    const writerId = index; // a client only ever sees its own markers as local inserts
    client.text.observe((event) => {
      const now = performance.now();
      for (const op of event.delta) {
        if (typeof op.insert !== 'string') continue;
        for (const [, writer, seq] of op.insert.matchAll(MARKER)) {
          if (Number(writer) === writerId) continue;
          const sent = sentAt.get(`${writer}:${seq}`);
          if (sent === undefined) continue;
          latenciesMs.push(now - sent);
          if (nodeOf(Number(writer)) !== nodeOf(index)) crossNodeLatenciesMs.push(now - sent);
          deliveries += 1;
        }
      }
    });
  });

  const writers: { id: number; client: LoadClient }[] = [];
  for (let r = 0; r < task.rooms; r++) {
    for (let w = 0; w < task.writersPerRoom; w++) {
      const id = r * task.clientsPerRoom + w;
      writers.push({ id, client: clients[id]! });
    }
  }

  await checkpoint('connected');
  await checkpoint('typing');
  const started = performance.now();
  let writes = 0;
  const interval = 1000 / task.writesPerSecond;
  const timers: NodeJS.Timeout[] = [];
  await new Promise<void>((resolve) => {
    for (const { id, client } of writers) {
      let seq = 0;
      // Spread the writers' phases so that the load is steady, not a burst per tick.
      const start = setTimeout(() => {
        const tick = () => {
          const key = `${id}:${seq++}`;
          sentAt.set(key, performance.now());
          client.text.insert(client.text.length, `⟦${key}⟧ `);
          writes += 1;
        };
        tick();
        timers.push(setInterval(tick, interval));
      }, Math.random() * interval);
      timers.push(start);
    }
    setTimeout(resolve, task.durationMs);
  });
  for (const timer of timers) clearInterval(timer);
  const windowMs = performance.now() - started;
  const expectedDeliveries = writes * (task.clientsPerRoom - 1);
  // Let what is in flight arrive (bounded).
  const drainUntil = performance.now() + 5_000;
  while (deliveries < expectedDeliveries && performance.now() < drainUntil) await sleep(20);

  for (const client of clients) client.destroy();
  return { latenciesMs, crossNodeLatenciesMs, writes, deliveries, expectedDeliveries, windowMs };
}
