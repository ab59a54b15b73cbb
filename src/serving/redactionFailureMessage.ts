import type { RedactionCallError } from '../redaction/redactionErrors.js';

/**
 * What a client is told when the model's redact call cannot be trusted: why, that nothing was returned, and in
 * hybrid mode what the rules detectors found (labels and counts only, never the text).
 */
export function redactionFailureMessage(error: RedactionCallError): string {
  const found = Object.entries(error.rulesSummary).map(([label, count]) => `${label} ×${count}`);
  const rules = found.length > 0 ? `; the rules detectors alone would have redacted ${found.join(', ')}` : '';
  return `${error.message} (reason: ${error.reason}); the text was not redacted and is not returned${rules}`;
}
