import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobQueues } from '../jobs/ports.ts';

export interface RoomStats {
  stats(): { documents: number; connections: number };
}

export interface NodeMetrics {
  registry: Registry;
  /** Seconds from an update reaching the op log writer to its commit. */
  observeCommitLag(seconds: number): void;
  /** A room's read of the op log returned updates past the seq it knew; `why` says what made it read. */
  countCatchUp(why: string): void;
  /** A room logged another node's update because no confirmation came. */
  countAdoption(): void;
}

/**
 * Prometheus metrics of one node. Built by main.ts before the op log (which reports commit
 * lag); the room gauges read live counts when scraped.
 */
export function createNodeMetrics(rooms: () => RoomStats | undefined, jobs: () => JobQueues | undefined = () => undefined): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tandem_process_' });
  new Gauge({
    name: 'tandem_documents_loaded',
    help: 'Documents held in memory by this node',
    registers: [registry],
    collect() {
      this.set(rooms()?.stats().documents ?? 0);
    },
  });
  new Gauge({
    name: 'tandem_connections',
    help: 'Open client connections on this node',
    registers: [registry],
    collect() {
      this.set(rooms()?.stats().connections ?? 0);
    },
  });
  // Read from the queues when scraped: with BullMQ every node reports the same shared queues.
  new Gauge({
    name: 'tandem_jobs',
    help: 'Background jobs by queue and state (waiting, active, delayed, failed)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const queues = jobs();
      if (!queues) return;
      for (const [queue, counts] of Object.entries(await queues.counts())) {
        for (const [state, value] of Object.entries(counts)) this.set({ queue, state }, value);
      }
    },
  });
  const commitLag = new Histogram({
    name: 'tandem_oplog_commit_lag_seconds',
    help: 'Time from an update reaching the op log writer to the commit of its transaction',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Both stay at 0 on a healthy cluster: a catch-up means the bus lost messages; an adoption,
  // that a node died between accepting an update and committing it (or its confirmation was lost).
  const catchUps = new Counter({
    name: 'tandem_bus_catch_ups_total',
    help: 'Reads of the op log that returned updates past the seq the room knew (the bus lost an update or its confirmation), by what made the room read',
    labelNames: ['why'],
    registers: [registry],
  });
  const adoptions = new Counter({
    name: 'tandem_bus_adopted_updates_total',
    help: "Other nodes' updates this node set out to log itself because no confirmation of their commit came",
    registers: [registry],
  });
  return {
    registry,
    observeCommitLag: (seconds) => commitLag.observe(seconds),
    countCatchUp: (why) => catchUps.inc({ why }),
    countAdoption: () => adoptions.inc(),
  };
}
