import type { SamplingOptions } from '../engine/LlamaEngine.js';

/** OpenAI sampling fields with OpenAI's defaults (temperature 1, top_p 1, no penalties). */
export interface OpenAiSamplingFields {
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  stop?: string | string[] | null;
}

export function samplingOptions(fields: OpenAiSamplingFields): SamplingOptions {
  return {
    temperature: fields.temperature ?? 1,
    topP: fields.top_p ?? 1,
    seed: fields.seed ?? undefined,
    presencePenalty: fields.presence_penalty ?? 0,
    frequencyPenalty: fields.frequency_penalty ?? 0,
  };
}

export function stopStrings(stop: OpenAiSamplingFields['stop']): string[] {
  if (stop === null || stop === undefined) return [];
  return (typeof stop === 'string' ? [stop] : stop).filter((s) => s.length > 0);
}
