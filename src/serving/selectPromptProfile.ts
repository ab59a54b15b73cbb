import type { AdapterCatalogue } from '../adapters/AdapterCatalogue.js';
import { BUILTIN_PROFILE_NAMES, isBuiltinProfileName } from '../protocol/adapterProfile.js';
import { resolvePromptProfile, type PromptProfile } from '../translate/PromptProfile.js';
import type { AdapterSelection } from './adapterSelection.js';
import { InvalidRequestError, UnusableProfileError } from './servingErrors.js';

/**
 * The profile a chat request is rendered with: the one it names in `profile` (a built-in name, or one of its own
 * adapters), else that of its first applied adapter, else `--default-profile`, else the base model's template.
 * Chosen here, inside planning, so every route that plans a chat (completions, redaction) gets it the same way.
 */
export function selectPromptProfile(
  requested: string | undefined,
  selection: AdapterSelection,
  catalogue: AdapterCatalogue,
  baseTemplate: string | undefined,
): PromptProfile {
  if (requested !== undefined && isBuiltinProfileName(requested)) return resolvePromptProfile({ chat_template: requested }, baseTemplate);
  // Only the request's own adapters may be named, so `profile` cannot probe for adapters the caller may not see.
  const owner =
    requested !== undefined ? selection.adapters.find((adapter) => adapter.name === requested) : selection.adapters.find((adapter) => adapter.scale !== 0);
  if (requested !== undefined && !owner) {
    throw new InvalidRequestError(
      `profile "${requested.slice(0, 128)}" is neither a built-in profile (${BUILTIN_PROFILE_NAMES.join(', ')}) nor one of this request's adapters`,
      'profile',
      'unknown_profile',
    );
  }
  const effective = catalogue.effectiveProfile(owner ? catalogue.find(owner.name) : undefined);
  if (effective.error) {
    // Rendering with another format would silently cost the adapter its accuracy; refusing says what to fix.
    throw new UnusableProfileError(`the prompt profile of ${owner ? `adapter "${owner.name}"` : 'the server'} cannot be used: ${effective.error}`);
  }
  return resolvePromptProfile(effective.profile, baseTemplate);
}
