import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  attentionAdapterPairs,
  BEHAVIOUR_MODEL,
  BENCHMARK_MODEL,
  writeLoraAdapter,
  writeSyntheticLlama,
  type SyntheticLlamaShape,
} from '../demo/syntheticLlama.js';

/** Bumped whenever the recipe changes, so cached files from an older recipe are regenerated. */
const RECIPE = 'v1';
const LORA_RANK = 16;

export interface BenchModels {
  shape: SyntheticLlamaShape;
  modelPath: string;
  adaptersDir: string;
  /** Adapter names in a fixed order; llama-server's `--lora` ids follow the same order. */
  adapterNames: string[];
  adapterPaths: string[];
}

export const benchAdapterName = (index: number) => `bench-${String(index).padStart(2, '0')}`;

/**
 * The benchmark base model and `adapterCount` rank-16 attention LoRAs, generated once and cached under `dataDir`.
 * `quick` uses the tiny behaviour model instead, so the harness can be exercised in seconds.
 */
export function ensureBenchModels(dataDir: string, adapterCount: number, quick: boolean): BenchModels {
  const shape = quick ? BEHAVIOUR_MODEL : BENCHMARK_MODEL;
  const root = path.join(dataDir, 'bench', `${quick ? 'quick' : 'full'}-${RECIPE}`);
  const adaptersDir = path.join(root, 'adapters');
  mkdirSync(adaptersDir, { recursive: true });
  const modelPath = path.join(root, 'model.gguf');
  // writeGguf writes to a temporary name and renames, so an interrupted run never leaves a half file behind.
  if (!existsSync(modelPath)) writeSyntheticLlama(modelPath, shape);
  const adapterNames = Array.from({ length: adapterCount }, (_, i) => benchAdapterName(i));
  const adapterPaths = adapterNames.map((name, i) => {
    const file = path.join(adaptersDir, `${name}.gguf`);
    if (!existsSync(file)) {
      const rank = quick ? 4 : LORA_RANK;
      writeLoraAdapter(file, { name, rank, alpha: rank, pairs: attentionAdapterPairs(shape, rank, 1000 + i) });
    }
    return file;
  });
  return { shape, modelPath, adaptersDir, adapterNames, adapterPaths };
}
