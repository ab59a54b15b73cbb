import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { BEHAVIOUR_MODEL, writeBehaviourAdapter, writeSyntheticLlama } from './syntheticLlama.js';

/** Bumped whenever the recipe changes, so cached files from an older recipe are regenerated. */
const RECIPE = 'v1';

export interface DemoModels {
  modelPath: string;
  adaptersDir: string;
}

export const DEMO_DESCRIPTION =
  'demo model with random weights: its greedy output names the adapter that answered (" W" for the base, ' +
  '" A" for demo-a, " B" for demo-b); serve a real Llama 3 GGUF with --model PATH or fetch one with `adaptd pull`';

/** The generated demo base model and two demo adapters, written on first use and cached under `dataDir`. */
export function ensureDemoModels(dataDir: string): DemoModels {
  const root = path.join(dataDir, `demo-${RECIPE}`);
  const adaptersDir = path.join(root, 'adapters');
  mkdirSync(adaptersDir, { recursive: true });
  const modelPath = path.join(root, 'adaptd-demo.gguf');
  if (!existsSync(modelPath)) writeSyntheticLlama(modelPath, BEHAVIOUR_MODEL);
  for (const [name, word] of [['demo-a', ' A'], ['demo-b', ' B']] as const) {
    const adapterPath = path.join(adaptersDir, `${name}.gguf`);
    if (!existsSync(adapterPath)) writeBehaviourAdapter(adapterPath, name, { word });
  }
  return { modelPath, adaptersDir };
}
