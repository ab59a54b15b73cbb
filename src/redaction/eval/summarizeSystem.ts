import type { LoraChoice } from '../redactCall/RedactionModel.js';
import { addCounts, exactScores, overlapScores, totalCounts, type CountsByLabel, type PrecisionRecall } from './entityMatches.js';
import type { SampleOutcome } from './evaluateSample.js';
import { latencyPercentile } from './latencyPercentile.js';

export interface LabelReport {
  label: string;
  truth: number;
  predicted: number;
  exact: PrecisionRecall;
  overlap: PrecisionRecall;
}

export interface SystemDescription {
  name: string;
  endpoint: string;
  model: string;
  lora: readonly LoraChoice[];
  /** USD per million tokens (prompt and completion alike), when the user gave one. */
  pricePerMillionTokens?: number;
}

export interface SystemReport {
  name: string;
  endpoint: string;
  model: string;
  lora: LoraChoice[];
  samples: number;
  validCalls: number;
  invalidCalls: number;
  invalidRate: number;
  /** Invalid calls by reason. */
  failures: Record<string, number>;
  /** Mean sample score; an invalid call scores 0. */
  score: number;
  /** Micro-averaged over all labels. */
  exact: PrecisionRecall;
  overlap: PrecisionRecall;
  labels: LabelReport[];
  /** Leaked / true strings over validly answered samples; null when none was. */
  leakRate: number | null;
  leakedStrings: number;
  trueStrings: number;
  latencyMs: { p50: number | null; p95: number | null; mean: number | null; max: number | null; values: number[] };
  tokens: { prompt: number; completion: number; total: number; meanPerSample: number };
  pricePerMillionTokens: number | null;
  costUsd: number | null;
}

export function summarizeSystem(system: SystemDescription, outcomes: readonly SampleOutcome[]): SystemReport {
  const invalid = outcomes.filter((o) => o.failure !== null);
  const counts = outcomes.reduce<CountsByLabel>((sum, o) => addCounts(sum, o.counts), {});
  const total = totalCounts(counts);
  const answered = outcomes.filter((o) => o.leaks !== null);
  const trueStrings = answered.reduce((sum, o) => sum + o.leaks!.trueStrings, 0);
  const leakedStrings = answered.reduce((sum, o) => sum + o.leaks!.leaked, 0);
  const tokens = tokenTotals(outcomes);
  const price = system.pricePerMillionTokens ?? null;
  return {
    name: system.name,
    endpoint: system.endpoint,
    model: system.model,
    lora: system.lora.map((l) => ({ ...l })),
    samples: outcomes.length,
    validCalls: outcomes.length - invalid.length,
    invalidCalls: invalid.length,
    invalidRate: outcomes.length === 0 ? 0 : invalid.length / outcomes.length,
    failures: tally(invalid.map((o) => o.failure!)),
    score: mean(outcomes.map((o) => o.score)) ?? 0,
    exact: exactScores(total),
    overlap: overlapScores(total),
    labels: Object.keys(counts).sort().map((label) => labelReport(label, counts[label])),
    leakRate: answered.length === 0 || trueStrings === 0 ? null : leakedStrings / trueStrings,
    leakedStrings,
    trueStrings,
    latencyMs: latencySummary(outcomes.map((o) => o.latencyMs)),
    tokens,
    pricePerMillionTokens: price,
    costUsd: price === null ? null : (tokens.total * price) / 1_000_000,
  };
}

function labelReport(label: string, c: CountsByLabel[string]): LabelReport {
  return { label, truth: c.truth, predicted: c.predicted, exact: exactScores(c), overlap: overlapScores(c) };
}

function latencySummary(values: number[]): SystemReport['latencyMs'] {
  return {
    p50: latencyPercentile(values, 50),
    p95: latencyPercentile(values, 95),
    mean: mean(values),
    max: values.length === 0 ? null : Math.max(...values),
    values,
  };
}

function tokenTotals(outcomes: readonly SampleOutcome[]): SystemReport['tokens'] {
  const prompt = outcomes.reduce((sum, o) => sum + o.promptTokens, 0);
  const completion = outcomes.reduce((sum, o) => sum + o.completionTokens, 0);
  const total = prompt + completion;
  return { prompt, completion, total, meanPerSample: outcomes.length === 0 ? 0 : total / outcomes.length };
}

function tally(reasons: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const reason of reasons) counts[reason] = (counts[reason] ?? 0) + 1;
  return counts;
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}
