// The sample score of redactor.md: predicted and true entries are paired greedily by
// similarity, so a near miss (right text, wrong type; a slightly wrong boundary) earns
// partial credit and every unmatched prediction costs as much as a missed truth.

import { uniqueEntities } from '../resolveSpans.js';

export interface LabelledString {
  string: string;
  pii_type: string;
}

export const STRING_WEIGHT = 0.75;
export const TYPE_WEIGHT = 0.25;
export const MATCH_THRESHOLD = 0.5;

/** 1 − Levenshtein distance / longer length, on case-folded, NFKC, space-collapsed text. */
export function stringSimilarity(a: string, b: string): number {
  const x = Array.from(normalise(a));
  const y = Array.from(normalise(b));
  const longer = Math.max(x.length, y.length);
  return longer === 0 ? 1 : 1 - levenshtein(x, y) / longer;
}

export function entrySimilarity(truth: LabelledString, predicted: LabelledString): number {
  const sameType = truth.pii_type === predicted.pii_type ? 1 : 0;
  return STRING_WEIGHT * stringSimilarity(truth.string, predicted.string) + TYPE_WEIGHT * sameType;
}

/**
 * Sum of the similarities of matched pairs / (true entries + unmatched predictions); 1 when both
 * lists are empty. Each list counts a string and type once, as the model is asked to list them.
 */
export function scoreSample(truth: readonly LabelledString[], predicted: readonly LabelledString[]): number {
  const trueEntries = uniqueEntities(truth);
  const predictedEntries = uniqueEntities(predicted);
  if (trueEntries.length === 0 && predictedEntries.length === 0) return 1;
  const pairs = greedyPairs(trueEntries, predictedEntries);
  const matched = pairs.reduce((sum, pair) => sum + pair.similarity, 0);
  const unmatchedPredictions = predictedEntries.length - pairs.length;
  return matched / (trueEntries.length + unmatchedPredictions);
}

export interface Pair {
  truth: number;
  predicted: number;
  similarity: number;
}

/** Most similar pairs first; ties keep list order, so the result does not depend on sort internals. */
export function greedyPairs(truth: readonly LabelledString[], predicted: readonly LabelledString[]): Pair[] {
  const candidates: Pair[] = [];
  truth.forEach((t, i) =>
    predicted.forEach((p, j) => {
      const similarity = entrySimilarity(t, p);
      if (similarity >= MATCH_THRESHOLD) candidates.push({ truth: i, predicted: j, similarity });
    }),
  );
  candidates.sort((a, b) => b.similarity - a.similarity || a.truth - b.truth || a.predicted - b.predicted);
  const usedTruth = new Set<number>();
  const usedPredicted = new Set<number>();
  const pairs: Pair[] = [];
  for (const pair of candidates) {
    if (usedTruth.has(pair.truth) || usedPredicted.has(pair.predicted)) continue;
    usedTruth.add(pair.truth);
    usedPredicted.add(pair.predicted);
    pairs.push(pair);
  }
  return pairs;
}

function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

function levenshtein(a: readonly string[], b: readonly string[]): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
