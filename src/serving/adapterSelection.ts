import type { AdapterCatalogue } from '../adapters/AdapterCatalogue.js';
import type { AdapterRef } from '../engine/LlamaEngine.js';
import { InvalidRequestError, ModelNotFoundError } from './servingErrors.js';

export interface AdapterSelectionRequest {
  model: string;
  lora?: Array<{ name: string; scale: number }>;
  peft?: string;
}

export interface AdapterSelection {
  /** Echoed as `model` in responses. */
  model: string;
  /** Every adapter named, in request order; scale 0 ones are kept here and skipped by the engine. */
  adapters: AdapterRef[];
}

/**
 * Resolves `model`, `peft` and `lora` into the adapters of one request, once, against the one registry that also
 * knows the base id. Unknown names are 404s naming the field; nothing falls back to the base silently.
 */
export function resolveAdapterSelection(
  request: AdapterSelectionRequest,
  baseId: string,
  catalogue: AdapterCatalogue,
  visible: (adapterName: string) => boolean = () => true,
): AdapterSelection {
  const chosen = new Map<string, AdapterRef>();
  const add = (name: string, param: string, scale?: number) => {
    // An adapter the caller's key may not use is reported exactly like one that does not exist.
    const entry = visible(name) ? catalogue.find(name) : undefined;
    if (!entry) {
      throw new ModelNotFoundError(`The model \`${name.slice(0, 200)}\` does not exist: it is neither the base model nor a registered adapter`, param);
    }
    chosen.set(name, { name, filePath: entry.filePath, version: entry.version, scale: scale ?? entry.defaultScale });
  };
  if (request.model !== baseId) add(request.model, 'model');
  if (request.peft !== undefined && request.peft !== baseId) add(request.peft, 'peft');
  const seen = new Set<string>();
  for (const item of request.lora ?? []) {
    if (seen.has(item.name)) throw new InvalidRequestError(`adapter "${item.name.slice(0, 200)}" appears twice in lora`, 'lora', 'duplicate_adapter');
    seen.add(item.name);
    add(item.name, 'lora', item.scale);
  }
  for (const name of chosen.keys()) catalogue.markUsed(name);
  return { model: request.model, adapters: [...chosen.values()] };
}
