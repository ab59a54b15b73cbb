import type { RedactorSpec } from '../redactCall/redactorSpec.js';
import { mapLabel, type LabelMap } from './labelMap.js';
import { maskProblem, piiRowSchema, renderTargetText, type PiiRow, type PrivacyMaskEntry } from './PiiRow.js';
import { assignSplit, normaliseForDedup, type SplitName, type SplitRatios } from './splitAssignment.js';
import { toFineTuningExample } from './toFineTuningExample.js';

export interface BuildOptions {
  spec: RedactorSpec;
  labelMap: LabelMap;
  /** Keep only rows in these languages; all when absent or empty. */
  languages?: readonly string[];
  seed: number;
  split: SplitRatios;
}

/**
 * Where the lines go: train and validation get fine-tuning JSONL, test gets labelled rows
 * (pii-masking-200k schema) for `adaptd eval --set`.
 */
export type BuildSink = (split: SplitName, line: string) => void | Promise<void>;

export interface BuildSummary {
  /** Non-blank input lines. */
  lines: number;
  written: Record<SplitName, number>;
  duplicates: number;
  otherLanguage: number;
  /** Labelled entities a null in the label map removed. */
  droppedEntities: number;
  bad: { count: number; byReason: Record<string, number>; firstLines: Record<string, number[]> };
}

const EXAMPLE_LINES_PER_REASON = 5;

type Verdict = { row: PiiRow; droppedEntities: number } | { problem: string };

/** Reads pii-masking-200k-style JSONL lines; a bad line is counted and reported, never fatal. */
export async function buildDataset(lines: AsyncIterable<string> | Iterable<string>, options: BuildOptions, sink: BuildSink): Promise<BuildSummary> {
  const summary = emptySummary();
  const seen = new Set<string>();
  const languages = options.languages?.length ? new Set(options.languages) : null;
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    summary.lines++;
    const verdict = readRow(line, options);
    if ('problem' in verdict) {
      countBad(summary, verdict.problem, lineNumber);
      continue;
    }
    const { row } = verdict;
    if (languages && !languages.has(row.language)) {
      summary.otherLanguage++;
      continue;
    }
    const key = normaliseForDedup(row.source_text);
    if (seen.has(key)) {
      summary.duplicates++;
      continue;
    }
    seen.add(key);
    summary.droppedEntities += verdict.droppedEntities;
    const split = assignSplit(key, options.seed, options.split);
    await sink(split, renderLine(row, split, options.spec));
    summary.written[split]++;
  }
  return summary;
}

function renderLine(row: PiiRow, split: SplitName, spec: RedactorSpec): string {
  if (split === 'test') return JSON.stringify({ ...row, set: 'test' });
  return JSON.stringify(toFineTuningExample(row.source_text, row.privacy_mask, spec));
}

/** A row with its labels renamed for the spec, or why the line cannot be used. */
export function readRow(line: string, options: Pick<BuildOptions, 'spec' | 'labelMap'>): Verdict {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { problem: 'not JSON' };
  }
  const parsed = piiRowSchema.safeParse(json);
  if (!parsed.success) return { problem: `not a pii-masking row (${parsed.error.issues[0].path.join('.') || 'root'})` };
  const { source_text, privacy_mask, language, set } = parsed.data;
  const offsets = maskProblem(source_text, privacy_mask);
  if (offsets) return { problem: offsets };
  const mask: PrivacyMaskEntry[] = [];
  for (const entry of privacy_mask) {
    const label = mapLabel(options.labelMap, entry.label);
    if (label === null) continue;
    if (!options.spec.labels.includes(label)) return { problem: `unknown label ${entry.label}` };
    mask.push({ value: entry.value, start: entry.start, end: entry.end, label });
  }
  const row: PiiRow = {
    source_text,
    target_text: renderTargetText(source_text, mask),
    privacy_mask: mask,
    language: language ?? 'unknown',
    set: set ?? 'train',
  };
  return { row, droppedEntities: privacy_mask.length - mask.length };
}

function countBad(summary: BuildSummary, reason: string, lineNumber: number): void {
  summary.bad.count++;
  summary.bad.byReason[reason] = (summary.bad.byReason[reason] ?? 0) + 1;
  const examples = (summary.bad.firstLines[reason] ??= []);
  if (examples.length < EXAMPLE_LINES_PER_REASON) examples.push(lineNumber);
}

function emptySummary(): BuildSummary {
  return {
    lines: 0,
    written: { train: 0, validation: 0, test: 0 },
    duplicates: 0,
    otherLanguage: 0,
    droppedEntities: 0,
    bad: { count: 0, byReason: {}, firstLines: {} },
  };
}
