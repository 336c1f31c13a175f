import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface MetricSources {
  stats(): { documents: number; connections: number };
}

/** Prometheus registry of one node; gauges read live counts when scraped. */
export function createMetricsRegistry(sources: MetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tandem_process_' });
  new Gauge({
    name: 'tandem_documents_loaded',
    help: 'Documents held in memory by this node',
    registers: [registry],
    collect() {
      this.set(sources.stats().documents);
    },
  });
  new Gauge({
    name: 'tandem_connections',
    help: 'Open client connections on this node',
    registers: [registry],
    collect() {
      this.set(sources.stats().connections);
    },
  });
  return registry;
}
