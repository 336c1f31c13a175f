/** How big each scenario is: the full run (npm run bench) and a short one (-- --quick). */
export interface BenchPlan {
  s1: { clients: number; writers: number; writesPerSecond: number; durationMs: number };
  s2: { documents: number; durationMs: number };
  s3: { edits: number };
  s4: { connections: number; rooms: number };
  /** Writers per document are 2, one on each node; writesPerSecond is the total over all documents. */
  s5: { documents: number; clientsPerDocument: number; writesPerSecond: number; durationMs: number };
  /** sectionWrites: sequential section rewrites of a 50 KB document, per format. */
  s7: { requests: number; manyDocuments: number; sectionWrites: number };
  /** Rising total write rates, each for durationMs, on 1, 2 and 3 nodes. */
  s8: { documents: number; writesPerSecond: number[]; durationMs: number };
  trace: { limit?: number | undefined };
  profile: boolean;
}

export const FULL: BenchPlan = {
  s1: { clients: 50, writers: 5, writesPerSecond: 20, durationMs: 20_000 },
  s2: { documents: 500, durationMs: 20_000 },
  s3: { edits: 100_000 },
  s4: { connections: 5_000, rooms: 50 },
  s5: { documents: 10, clientsPerDocument: 4, writesPerSecond: 500, durationMs: 20_000 },
  s7: { requests: 1_000, manyDocuments: 50, sectionWrites: 300 },
  s8: { documents: 100, writesPerSecond: [250, 500, 1_000, 2_000, 4_000], durationMs: 8_000 },
  trace: {},
  profile: true,
};

export const QUICK: BenchPlan = {
  s1: { clients: 50, writers: 5, writesPerSecond: 20, durationMs: 3_000 },
  s2: { documents: 60, durationMs: 3_000 },
  s3: { edits: 10_000 },
  s4: { connections: 500, rooms: 10 },
  s5: { documents: 10, clientsPerDocument: 4, writesPerSecond: 500, durationMs: 3_000 },
  s7: { requests: 60, manyDocuments: 10, sectionWrites: 30 },
  s8: { documents: 20, writesPerSecond: [250, 1_000], durationMs: 2_000 },
  trace: { limit: 10_000 },
  profile: false,
};
