import { latencyPercentile } from '../redaction/eval/latencyPercentile.js';
import type { PoolResult } from './benchClient.js';

/** What one server did on one request workload: throughput, latency and whether every answer was complete. */
export interface WorkloadStats {
  requests: number;
  failed: number;
  /** Answers whose completion_tokens differ from max_tokens: the two servers would not be doing the same work. */
  shortAnswers: number;
  wallMs: number;
  requestsPerSecond: number;
  p50Ms: number | null;
  p95Ms: number | null;
  /** Prompt tokens of the first answered request, to show both servers saw the same prompt. */
  promptTokens: number | null;
  errors: string[];
  /** Answered requests that took over OUTLIER_FACTOR times the median: which (in the order sent) and how long. */
  outliers: Array<{ request: number; ms: number }>;
}

const OUTLIER_FACTOR = 4;

export function median(values: readonly number[]): number | null {
  return latencyPercentile(values, 50);
}

export function summarisePool(result: PoolResult, expectedCompletionTokens: number): WorkloadStats {
  const answered = result.outcomes.filter((o) => o.ok);
  const latencies = answered.map((o) => o.latencyMs);
  const p50Ms = latencyPercentile(latencies, 50);
  const outliers = result.outcomes
    .map((o, request) => ({ request, ms: o.latencyMs, ok: o.ok }))
    .filter((o) => o.ok && p50Ms !== null && o.ms > OUTLIER_FACTOR * p50Ms)
    .map(({ request, ms }) => ({ request, ms: Math.round(ms) }));
  return {
    requests: result.outcomes.length,
    failed: result.outcomes.length - answered.length,
    shortAnswers: answered.filter((o) => o.completionTokens !== expectedCompletionTokens).length,
    wallMs: result.wallMs,
    requestsPerSecond: answered.length / (result.wallMs / 1000),
    p50Ms,
    p95Ms: latencyPercentile(latencies, 95),
    promptTokens: answered[0]?.promptTokens ?? null,
    errors: [...new Set(result.outcomes.filter((o) => !o.ok).map((o) => o.error ?? 'unknown error'))].slice(0, 3),
    outliers,
  };
}
