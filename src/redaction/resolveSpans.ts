// The model answers with strings, not offsets. This turns proposed strings into spans:
// every occurrence, longest strings first, no two spans overlapping.
// Offsets here are UTF-16 code units (JavaScript string indices).

export type DetectorSource = 'llm' | 'rules';

export interface Proposal {
  string: string;
  pii_type: string;
  source: DetectorSource;
}

export interface Span {
  start: number;
  end: number;
}

/** A proposal with the spans it claimed: ascending, never overlapping another entity's. */
export type Resolved<P> = P & { occurrences: Span[] };

export type ResolvedEntity = Resolved<Proposal>;

export interface ResolvedSpans<P> {
  entities: Array<Resolved<P>>;
  /** Proposed strings that are not in the text (or are blank), in proposal order, each once. */
  dropped: string[];
}

export interface ResolveOptions {
  /**
   * `fallback` (redaction): if a string occurs only inside longer words, take those occurrences;
   * the model saw it there and leaving it would leak it. `never` (restoring): a fake inside a
   * longer word is some other word.
   */
  insideWords?: 'fallback' | 'never';
}

type Proposed = { string: string; pii_type: string };

export function resolveSpans<P extends Proposed>(
  text: string,
  proposals: readonly P[],
  options: ResolveOptions = {},
): ResolvedSpans<P> {
  const usable = (p: P) => p.string.trim() !== '' && text.includes(p.string);
  const dropped = [...new Set(proposals.filter((p) => !usable(p)).map((p) => p.string))];
  const claimed = new Uint8Array(text.length);
  const entities: Array<Resolved<P>> = [];
  for (const proposal of longestFirst(uniqueEntities(proposals.filter(usable)))) {
    const found = occurrencesOf(text, proposal.string, options.insideWords ?? 'fallback');
    const occurrences = found.filter((span) => claim(claimed, span));
    if (occurrences.length > 0) entities.push({ ...proposal, occurrences });
  }
  entities.sort((a, b) => a.occurrences[0].start - b.occurrences[0].start);
  return { entities, dropped };
}

/** Marks the span as taken unless some of it already is. */
function claim(claimed: Uint8Array, { start, end }: Span): boolean {
  if (claimed.subarray(start, end).includes(1)) return false;
  claimed.fill(1, start, end);
  return true;
}

/**
 * The same string and type twice is one entity; the first wins. For proposals (by the model, or by model and
 * rules) and for the entries eval scores.
 */
export function uniqueEntities<P extends Proposed>(proposals: readonly P[]): P[] {
  const seen = new Set<string>();
  return proposals.filter((p) => {
    const key = `${p.pii_type}\u0000${p.string}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Array.prototype.sort is stable, so equally long strings keep their proposal order.
function longestFirst<P extends Proposed>(proposals: P[]): P[] {
  return [...proposals].sort((a, b) => b.string.length - a.string.length);
}

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

/** Occurrences of `needle` that do not cut a word in two ("25" in "1250", "Al" in "Algebra"). */
export function occurrencesOf(text: string, needle: string, insideWords: 'fallback' | 'never' = 'fallback'): Span[] {
  const all: Span[] = [];
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
    all.push({ start: at, end: at + needle.length });
  }
  const whole = all.filter((span) => !cutsWord(text, span));
  return whole.length > 0 || insideWords === 'never' ? whole : all;
}

function cutsWord(text: string, { start, end }: Span): boolean {
  const joinsBefore = start > 0 && WORD_CHAR.test(text[start - 1]) && WORD_CHAR.test(text[start]);
  const joinsAfter = end < text.length && WORD_CHAR.test(text[end]) && WORD_CHAR.test(text[end - 1]);
  return joinsBefore || joinsAfter;
}

export interface Replacement extends Span {
  replacement: string;
}

/** Rebuilds the text with each (non-overlapping) span replaced. */
export function replaceSpans(text: string, replacements: readonly Replacement[]): string {
  const ordered = [...replacements].sort((a, b) => a.start - b.start);
  let out = '';
  let copiedUpTo = 0;
  for (const { start, end, replacement } of ordered) {
    out += text.slice(copiedUpTo, start) + replacement;
    copiedUpTo = end;
  }
  return out + text.slice(copiedUpTo);
}
