/**
 * JSON carried in a string field (tool-call `arguments`, a dataset's `privacy_mask` column): its value when it
 * parses, else the text itself, so a caller's own check reports what is wrong instead of a parse error.
 */
export function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
