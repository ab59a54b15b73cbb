/**
 * Model families named in model ids and GGUF names, to notice an adapter trained on another family than the base.
 * Adapters of one family often fit another's tensor shapes exactly (Mistral 7B and Llama 3 8B share every linear
 * layer's shape), so shapes alone cannot tell; the names can.
 */
const FAMILIES: Array<[family: string, pattern: RegExp]> = [
  ['llama', /llama/],
  ['mistral', /mistral|mixtral|ministral|codestral/],
  ['qwen', /qwen/],
  ['gemma', /gemma/],
  ['phi', /(^|[^a-z])phi[-_ .]?\d/],
  ['falcon', /falcon/],
  ['deepseek', /deepseek/],
  ['granite', /granite/],
  ['olmo', /olmo/],
  ['command-r', /command[-_ ]?r|c4ai|aya/],
  ['gpt-neox', /gpt[-_]?neox|pythia/],
  ['starcoder', /starcoder/],
  ['smollm', /smollm/],
  ['internlm', /internlm/],
  ['baichuan', /baichuan/],
  ['glm', /chatglm|(^|[^a-z])glm[-_]?\d/],
];

/** GGUF architectures whose name says the family, for a base whose own name does not (a fine-tune's name). */
const ARCHITECTURE_FAMILIES: Array<[family: string, pattern: RegExp]> = [
  ['llama', /^llama/],
  ['qwen', /^qwen/],
  ['gemma', /^gemma/],
  ['phi', /^phi/],
  ['falcon', /^falcon/],
  ['deepseek', /^deepseek/],
  ['granite', /^granite/],
  ['olmo', /^olmo/],
  ['command-r', /^(command-r|cohere)/],
  ['gpt-neox', /^gptneox/],
  ['starcoder', /^starcoder/],
  ['internlm', /^internlm/],
  ['baichuan', /^baichuan/],
  ['glm', /^(chat)?glm/],
];

/** Every family a name mentions ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B" is both a DeepSeek and a Llama model). */
export function modelFamilies(name: string): Set<string> {
  const text = name.toLowerCase();
  return new Set(FAMILIES.filter(([, pattern]) => pattern.test(text)).map(([family]) => family));
}

export interface BaseModelIdentity {
  /** general.name (and general.basename when present). */
  names: string[];
  architecture: string;
}

/** The base's families: from its names, else from its architecture. */
export function baseModelFamilies(base: BaseModelIdentity): Set<string> {
  const named = new Set(base.names.flatMap((name) => [...modelFamilies(name)]));
  if (named.size > 0) return named;
  return new Set(ARCHITECTURE_FAMILIES.filter(([, pattern]) => pattern.test(base.architecture)).map(([family]) => family));
}

/**
 * Why an adapter trained on `adapterBase` may not suit the base, or undefined when the families agree or either
 * cannot be told from its name.
 */
export function familyMismatch(adapterBase: string | undefined, base: BaseModelIdentity): string | undefined {
  if (!adapterBase) return undefined;
  const adapterFamilies = modelFamilies(adapterBase);
  const baseFamilies = baseModelFamilies(base);
  if (adapterFamilies.size === 0 || baseFamilies.size === 0) return undefined;
  if ([...adapterFamilies].some((family) => baseFamilies.has(family))) return undefined;
  const baseName = base.names[0] ?? base.architecture;
  return (
    `the adapter was trained on ${adapterBase} (${[...adapterFamilies].join('/')} family) but the base model is ` +
    `${baseName} (${[...baseFamilies].join('/')} family); it loads because the tensor shapes match, but its output may be poor`
  );
}
