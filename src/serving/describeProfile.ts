import type { EffectiveProfile } from '../adapters/AdapterCatalogue.js';
import type { AdapterProfileSummary } from '../protocol/adapterProfile.js';
import { resolvePromptProfile } from '../translate/PromptProfile.js';

/** What the adapter routes show of the profile requests on an adapter are rendered with. */
export function describeProfile(effective: EffectiveProfile, baseChatTemplate: string | undefined): AdapterProfileSummary {
  if (effective.error) {
    return { name: 'invalid', source: effective.source, template: 'custom', tool_syntax: 'json', description: null, error: effective.error };
  }
  const resolved = resolvePromptProfile(effective.profile, baseChatTemplate);
  return {
    name: resolved.name,
    source: effective.source,
    template: resolved.templateName,
    tool_syntax: resolved.syntax.name,
    description: resolved.description ?? null,
    error: null,
  };
}
