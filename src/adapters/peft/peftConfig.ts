import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PeftConversionError } from '../adapterErrors.js';
import { PEFT_CONFIG_FILE } from './peftFiles.js';

/** The fields of PEFT's LoraConfig that change what the weights mean; unknown keys are ignored, as PEFT does. */
const LoraConfigSchema = z.looseObject({
  peft_type: z.literal('LORA'),
  r: z.number().int().positive(),
  lora_alpha: z.number(),
  target_modules: z.union([z.array(z.string()), z.string()]).nullish(),
  rank_pattern: z.record(z.string(), z.number().int().positive()).nullish(),
  alpha_pattern: z.record(z.string(), z.number()).nullish(),
  use_rslora: z.boolean().nullish(),
  use_dora: z.boolean().nullish(),
  modules_to_save: z.array(z.string()).nullish(),
  layer_replication: z.array(z.unknown()).nullish(),
  target_parameters: z.array(z.string()).nullish(),
  trainable_token_indices: z.unknown().nullish(),
  alora_invocation_tokens: z.array(z.number()).nullish(),
  base_model_name_or_path: z.string().nullish(),
});

export interface PeftLoraConfig {
  r: number;
  loraAlpha: number;
  /** A list of module-name suffixes, a regular expression over the full module path, or 'all-linear'. */
  targetModules: string[] | string | undefined;
  rankPattern: Array<[pattern: string, rank: number]>;
  alphaPattern: Array<[pattern: string, alpha: number]>;
  useRslora: boolean;
  baseModel: string | undefined;
}

const reject = (reason: ConstructorParameters<typeof PeftConversionError>[0], message: string): never => {
  throw new PeftConversionError(reason, message);
};

/** Reads and checks adapter_config.json, refusing every option a GGUF LoRA cannot express. */
export function readPeftConfig(configPath: string): PeftLoraConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (error) {
    reject('invalid-config', `${PEFT_CONFIG_FILE} is not valid JSON: ${(error as Error).message}`);
  }
  const peftType = (json as { peft_type?: unknown } | null)?.peft_type;
  if (peftType !== 'LORA') {
    reject('unsupported-peft-type',
      `${PEFT_CONFIG_FILE} has peft_type ${JSON.stringify(peftType) ?? 'missing'}; only LORA adapters can be converted`);
  }
  const parsed = LoraConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    reject('invalid-config', `${PEFT_CONFIG_FILE} is not a valid LoRA config: ${issues}`);
  }
  const config = parsed.data!;

  if (config.use_dora) {
    reject('dora', `${PEFT_CONFIG_FILE} sets use_dora: DoRA adapters carry a magnitude vector that GGUF LoRA cannot represent`);
  }
  if (config.modules_to_save && config.modules_to_save.length > 0) {
    reject('modules-to-save',
      `${PEFT_CONFIG_FILE} has modules_to_save [${config.modules_to_save.join(', ')}]: those modules are saved as full ` +
        'trained weights, which a GGUF LoRA cannot carry; merge them into the base model instead');
  }
  if (config.layer_replication?.length) {
    reject('unsupported-config', `${PEFT_CONFIG_FILE} sets layer_replication, which changes the model's layers`);
  }
  if (config.target_parameters?.length) {
    reject('unsupported-config', `${PEFT_CONFIG_FILE} sets target_parameters: LoRA on raw parameters is not supported`);
  }
  if (config.trainable_token_indices != null) {
    reject('unsupported-config', `${PEFT_CONFIG_FILE} sets trainable_token_indices: trained token embeddings are not supported`);
  }
  if (config.alora_invocation_tokens?.length) {
    reject('unsupported-config', `${PEFT_CONFIG_FILE} describes an activated LoRA (aLoRA), which is not supported`);
  }
  for (const pattern of [...Object.keys(config.rank_pattern ?? {}), ...Object.keys(config.alpha_pattern ?? {})]) {
    try {
      patternRegExp(pattern);
    } catch {
      reject('invalid-config', `${PEFT_CONFIG_FILE} has a rank or alpha pattern that is not a valid regular expression: ${pattern}`);
    }
  }
  if (typeof config.target_modules === 'string' && config.target_modules !== 'all-linear') {
    try {
      new RegExp(config.target_modules);
    } catch {
      reject('invalid-config', `${PEFT_CONFIG_FILE} target_modules is not a valid regular expression: ${config.target_modules}`);
    }
  }

  return {
    r: config.r,
    loraAlpha: config.lora_alpha,
    targetModules: config.target_modules ?? undefined,
    rankPattern: Object.entries(config.rank_pattern ?? {}),
    alphaPattern: Object.entries(config.alpha_pattern ?? {}),
    useRslora: config.use_rslora ?? false,
    baseModel: config.base_model_name_or_path ?? undefined,
  };
}

// PEFT matches a pattern key against a module path as `(.*\.)?(key)$`, anchored at the start.
function patternRegExp(pattern: string): RegExp {
  return new RegExp(`^(?:.*\\.)?(?:${pattern})$`);
}

/** The value of the first pattern matching the module, as PEFT resolves rank_pattern and alpha_pattern. */
function patternValue(patterns: Array<[string, number]>, modulePath: string): number | undefined {
  return patterns.find(([pattern]) => patternRegExp(pattern).test(modulePath))?.[1];
}

export function rankOfModule(config: PeftLoraConfig, modulePath: string): number {
  return patternValue(config.rankPattern, modulePath) ?? config.r;
}

/** PEFT's multiplier of B·A for this module: alpha / r, or alpha / √r with rsLoRA. */
export function peftScaleOfModule(config: PeftLoraConfig, modulePath: string, rank: number): number {
  const alpha = patternValue(config.alphaPattern, modulePath) ?? config.loraAlpha;
  return config.useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
}

/** Whether target_modules selects this module, by PEFT's rules (suffix list, full-match regex or all-linear). */
export function isTargetModule(config: PeftLoraConfig, modulePath: string): boolean {
  const targets = config.targetModules;
  if (targets === undefined) return true;
  if (targets === 'all-linear') return modulePath !== 'lm_head' && modulePath !== 'model.embed_tokens';
  if (typeof targets === 'string') return new RegExp(`^(?:${targets})$`).test(modulePath);
  return targets.some((target) => modulePath === target || modulePath.endsWith(`.${target}`));
}
