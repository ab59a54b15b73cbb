// Entity precision / recall over spans. Exact: same start, end and label. Overlapping: same
// label and at least one shared character; a prediction that covers two true spans counts
// once as a prediction and twice as found truth, which is why the two sides are counted apart.

export interface LabelledSpan {
  start: number;
  end: number;
  label: string;
}

export interface LabelCounts {
  truth: number;
  predicted: number;
  exact: number;
  /** Predictions overlapping a true span of their label. */
  overlapPredicted: number;
  /** True spans overlapped by a prediction of their label. */
  overlapTruth: number;
}

export type CountsByLabel = Record<string, LabelCounts>;

export interface PrecisionRecall {
  precision: number;
  recall: number;
  f1: number;
}

/** `unplaced` are predicted labels whose string is not in the text: predictions that can match nothing. */
export function countEntityMatches(
  truth: readonly LabelledSpan[],
  predicted: readonly LabelledSpan[],
  unplaced: readonly string[] = [],
): CountsByLabel {
  const counts: CountsByLabel = {};
  const at = (label: string) => (counts[label] ??= emptyCounts());
  for (const t of truth) {
    at(t.label).truth++;
    if (predicted.some((p) => sameSpan(p, t))) at(t.label).exact++;
    if (predicted.some((p) => p.label === t.label && overlaps(p, t))) at(t.label).overlapTruth++;
  }
  for (const p of predicted) {
    at(p.label).predicted++;
    if (truth.some((t) => t.label === p.label && overlaps(p, t))) at(p.label).overlapPredicted++;
  }
  for (const label of unplaced) at(label).predicted++;
  return counts;
}

export function addCounts(into: CountsByLabel, more: CountsByLabel): CountsByLabel {
  for (const [label, c] of Object.entries(more)) addInto((into[label] ??= emptyCounts()), c);
  return into;
}

/** All labels together: micro-averaged scores come from these. */
export function totalCounts(counts: CountsByLabel): LabelCounts {
  const total = emptyCounts();
  for (const c of Object.values(counts)) addInto(total, c);
  return total;
}

function addInto(sum: LabelCounts, c: LabelCounts): void {
  sum.truth += c.truth;
  sum.predicted += c.predicted;
  sum.exact += c.exact;
  sum.overlapPredicted += c.overlapPredicted;
  sum.overlapTruth += c.overlapTruth;
}

/** Zero where a denominator is zero (nothing predicted, or nothing to find), as scikit-learn does by default. */
export function exactScores(c: LabelCounts): PrecisionRecall {
  return precisionRecall(ratio(c.exact, c.predicted), ratio(c.exact, c.truth));
}

export function overlapScores(c: LabelCounts): PrecisionRecall {
  return precisionRecall(ratio(c.overlapPredicted, c.predicted), ratio(c.overlapTruth, c.truth));
}

function precisionRecall(precision: number, recall: number): PrecisionRecall {
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

function sameSpan(a: LabelledSpan, b: LabelledSpan): boolean {
  return a.start === b.start && a.end === b.end && a.label === b.label;
}

function overlaps(a: LabelledSpan, b: LabelledSpan): boolean {
  return a.start < b.end && b.start < a.end;
}

function emptyCounts(): LabelCounts {
  return { truth: 0, predicted: 0, exact: 0, overlapPredicted: 0, overlapTruth: 0 };
}
