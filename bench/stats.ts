/** Exact percentiles of samples (sorted copy), in the samples' unit. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Histogram {
  /** Upper bounds (seconds) with cumulative counts, as Prometheus exposes them; +Inf last. */
  buckets: { le: number; count: number }[];
}

/** Reads one Prometheus histogram's cumulative buckets from /metrics text. */
export function parseHistogram(metrics: string, name: string): Histogram {
  const buckets = [...metrics.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((match) => ({
    le: match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]),
    count: Number(match[2]),
  }));
  return { buckets };
}

/** What was observed between two readings of the same histogram. */
export function histogramDelta(before: Histogram, after: Histogram): Histogram {
  return { buckets: after.buckets.map((bucket, i) => ({ le: bucket.le, count: bucket.count - (before.buckets[i]?.count ?? 0) })) };
}

/**
 * A quantile interpolated linearly inside its bucket (as Prometheus' histogram_quantile
 * does), so it is an estimate bounded by the bucket edges.
 */
export function histogramQuantile(histogram: Histogram, q: number): number {
  const total = histogram.buckets.at(-1)?.count ?? 0;
  if (total === 0) return Number.NaN;
  const target = q * total;
  let lowerEdge = 0;
  let lowerCount = 0;
  for (const { le, count } of histogram.buckets) {
    if (count >= target) {
      if (!Number.isFinite(le)) return lowerEdge;
      const inBucket = count - lowerCount;
      return inBucket === 0 ? le : lowerEdge + ((le - lowerEdge) * (target - lowerCount)) / inBucket;
    }
    lowerEdge = le;
    lowerCount = count;
  }
  return lowerEdge;
}
