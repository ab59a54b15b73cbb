import type { SystemReport } from './summarizeSystem.js';

// The summary columns, shared by the Markdown and HTML reports so both always say the same.

export interface ReportColumn {
  title: string;
  cell: (system: SystemReport) => string;
}

export function formatRatio(value: number | null): string {
  return value === null ? 'n/a' : value.toFixed(3);
}

export function formatMs(value: number | null): string {
  return value === null ? 'n/a' : `${Math.round(value)} ms`;
}

export function formatUsd(value: number | null): string {
  return value === null ? 'n/a' : `$${value < 0.01 ? value.toPrecision(2) : value.toFixed(2)}`;
}

export function describeModel(system: Pick<SystemReport, 'model' | 'lora'>): string {
  return [system.model, ...system.lora.map((l) => (l.scale === 1 ? l.name : `${l.name}:${l.scale}`))].join('+');
}

export const SUMMARY_COLUMNS: readonly ReportColumn[] = [
  { title: 'system', cell: (s) => s.name },
  { title: 'model', cell: (s) => describeModel(s) },
  { title: 'score', cell: (s) => formatRatio(s.score) },
  { title: 'F1 exact', cell: (s) => formatRatio(s.exact.f1) },
  { title: 'F1 overlap', cell: (s) => formatRatio(s.overlap.f1) },
  { title: 'precision', cell: (s) => formatRatio(s.exact.precision) },
  { title: 'recall', cell: (s) => formatRatio(s.exact.recall) },
  { title: 'leak rate', cell: (s) => formatRatio(s.leakRate) },
  { title: 'invalid calls', cell: (s) => `${s.invalidCalls}/${s.samples} (${(s.invalidRate * 100).toFixed(1)}%)` },
  { title: 'p50', cell: (s) => formatMs(s.latencyMs.p50) },
  { title: 'p95', cell: (s) => formatMs(s.latencyMs.p95) },
  { title: 'tokens/sample', cell: (s) => s.tokens.meanPerSample.toFixed(0) },
  { title: 'cost', cell: (s) => formatUsd(s.costUsd) },
];

/** Labels any system saw or predicted, sorted. */
export function reportLabels(systems: readonly SystemReport[]): string[] {
  return [...new Set(systems.flatMap((s) => s.labels.map((l) => l.label)))].sort();
}

export function labelF1(system: SystemReport, label: string, kind: 'exact' | 'overlap'): number | null {
  const entry = system.labels.find((l) => l.label === label);
  return entry ? entry[kind].f1 : null;
}
