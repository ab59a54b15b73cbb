import { z } from 'zod';
import { jsonOrText } from '../../protocol/jsonOrText.js';

/** The languages of pii-masking-200k. */
export const PII_LANGUAGES = ['en', 'fr', 'de', 'it'] as const;
export type PiiLanguage = (typeof PII_LANGUAGES)[number];

/** One labelled span. Offsets count Unicode code points, as pii-masking-200k (written by Python) does. */
export interface PrivacyMaskEntry {
  value: string;
  start: number;
  end: number;
  label: string;
}

/** A row in the pii-masking-200k schema; the real data set has more columns, which are ignored. */
export interface PiiRow {
  source_text: string;
  target_text: string;
  privacy_mask: PrivacyMaskEntry[];
  language: string;
  set: string;
}

const maskEntrySchema = z.object({
  value: z.string(),
  start: z.number().int().min(0),
  end: z.number().int().min(0),
  label: z.string().min(1),
});

// Some exports store privacy_mask as a JSON string inside the row; both forms are accepted.
const maskSchema = z.preprocess((value) => (typeof value === 'string' ? jsonOrText(value) : value), z.array(maskEntrySchema));

export const piiRowSchema = z.looseObject({
  source_text: z.string(),
  target_text: z.string().optional(),
  privacy_mask: maskSchema,
  language: z.string().optional(),
  set: z.string().optional(),
});

/** The code points from `start` to `end`, so that offsets written by Python line up. */
export function sliceCodePoints(text: string, start: number, end: number): string {
  return Array.from(text).slice(start, end).join('');
}

/** `source_text` with every labelled span replaced by `[LABEL]`, as the data set's `target_text`. */
export function renderTargetText(sourceText: string, mask: readonly PrivacyMaskEntry[]): string {
  const codePoints = Array.from(sourceText);
  const ordered = [...mask].sort((a, b) => a.start - b.start);
  let out = '';
  let copiedUpTo = 0;
  for (const entry of ordered) {
    out += codePoints.slice(copiedUpTo, entry.start).join('') + `[${entry.label}]`;
    copiedUpTo = entry.end;
  }
  return out + codePoints.slice(copiedUpTo).join('');
}

/** Why a mask does not describe its text, or null when every entry's offsets select its value and none overlap. */
export function maskProblem(sourceText: string, mask: readonly PrivacyMaskEntry[]): string | null {
  const codePoints = Array.from(sourceText);
  const ordered = [...mask].sort((a, b) => a.start - b.start);
  let previousEnd = 0;
  for (const entry of ordered) {
    if (entry.end <= entry.start || entry.end > codePoints.length) return 'offsets out of range';
    if (codePoints.slice(entry.start, entry.end).join('') !== entry.value) return 'offsets do not select the value';
    if (entry.start < previousEnd) return 'overlapping spans';
    previousEnd = entry.end;
  }
  return null;
}
