import { createHash } from 'node:crypto';

export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];
export type SplitRatios = readonly [train: number, validation: number, test: number];

export const DEFAULT_SPLIT: SplitRatios = [0.8, 0.1, 0.1];

/** The text two rows must share to be duplicates: case, Unicode form and spacing do not count. */
export function normaliseForDedup(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * The split of a row, from a hash of its normalised text and the seed only: the same row lands in
 * the same split whatever the order or the size of the input, and duplicates can never straddle.
 */
export function assignSplit(normalisedText: string, seed: number, ratios: SplitRatios): SplitName {
  const digest = createHash('sha256').update(`${seed}\u0000${normalisedText}`).digest();
  const position = digest.readUIntBE(0, 6) / 2 ** 48;
  const total = ratios[0] + ratios[1] + ratios[2];
  if (position < ratios[0] / total) return 'train';
  if (position < (ratios[0] + ratios[1]) / total) return 'validation';
  return 'test';
}

/** Parses `0.8,0.1,0.1` (or `80,10,10`): three non-negative shares, not all zero. */
export function parseSplitRatios(text: string): SplitRatios | null {
  const parts = text.split(',').map((part) => Number(part.trim()));
  if (parts.length !== 3 || parts.some((part) => !Number.isFinite(part) || part < 0)) return null;
  if (parts[0] + parts[1] + parts[2] <= 0) return null;
  return [parts[0], parts[1], parts[2]];
}
