import type { ServerTarget } from '../servers.ts';
import { checkpoint } from './channel.ts';
import { connectMany } from './clients.ts';

export interface IdleTask {
  kind: 'idle';
  connections: number;
  rooms: number;
  roomPrefix: string;
}

/** Many synced clients that then do nothing; checkpoint "connected" while they are all open. */
export async function runIdle(target: ServerTarget, task: IdleTask): Promise<{ connections: number }> {
  const rooms = Array.from({ length: task.connections }, (_, i) => `${task.roomPrefix}-${i % task.rooms}`);
  const clients = await connectMany(target, rooms, 120_000);
  await checkpoint('connected');
  for (const client of clients) client.destroy();
  return { connections: clients.length };
}
