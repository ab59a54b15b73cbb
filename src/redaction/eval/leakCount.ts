import { renderTargetText, type PrivacyMaskEntry } from '../dataset/PiiRow.js';

export interface LeakCount {
  /** Distinct true PII strings of the sample. */
  trueStrings: number;
  /** Those still readable in the redacted text. */
  leaked: number;
}

/**
 * A true string leaks when the redacted text holds more copies of it than the text redacted with
 * the true labels does: a "5" that is a building number must go, the "5" of "5 items" may stay.
 * Both redactions are in label mode, so "[CITY]" stands where a city was. A string that a wrong
 * span cut in two no longer reads whole and does not count; entity recall shows such misses.
 */
export function countLeaks(sourceText: string, truth: readonly PrivacyMaskEntry[], redactedText: string): LeakCount {
  const perfect = renderTargetText(sourceText, truth);
  const values = [...new Set(truth.map((entry) => entry.value))].filter((value) => value.trim() !== '');
  const leaked = values.filter((value) => occurrences(redactedText, value) > occurrences(perfect, value));
  return { trueStrings: values.length, leaked: leaked.length };
}

function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}
