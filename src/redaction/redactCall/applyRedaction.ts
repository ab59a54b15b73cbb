import { RedactionInputError } from '../redactionErrors.js';
import type { PseudonymSource } from '../pseudonyms/Pseudonymizer.js';
import { replaceSpans, type ResolvedEntity } from '../resolveSpans.js';

export const REDACTION_MODES = ['label', 'mask', 'pseudonymize'] as const;
export type RedactionMode = (typeof REDACTION_MODES)[number];

export const MASK_CHARACTER = '*';

type Redactable = Pick<ResolvedEntity, 'string' | 'pii_type' | 'occurrences'>;

/**
 * Replaces every occurrence of every entity: `label` → `[FIRSTNAME]`, `mask` → one `*` per
 * character (code point, so offsets counted in characters still line up), `pseudonymize` →
 * the consistent fake from `pseudonyms`. Spans must not overlap (resolveSpans guarantees it).
 */
export function applyRedaction(
  text: string,
  entities: readonly Redactable[],
  mode: RedactionMode,
  pseudonyms?: PseudonymSource,
): string {
  if (mode === 'pseudonymize' && !pseudonyms) throw new RedactionInputError('pseudonymize mode needs a pseudonymiser');
  const replacements = entities.flatMap((entity) => {
    const replacement = replacementFor(entity, mode, pseudonyms);
    return entity.occurrences.map(({ start, end }) => ({ start, end, replacement }));
  });
  return replaceSpans(text, replacements);
}

function replacementFor(entity: Redactable, mode: RedactionMode, pseudonyms?: PseudonymSource): string {
  switch (mode) {
    case 'label':
      return `[${entity.pii_type}]`;
    case 'mask':
      return MASK_CHARACTER.repeat([...entity.string].length);
    case 'pseudonymize':
      return pseudonyms!.pseudonymize(entity.string, entity.pii_type);
  }
}
