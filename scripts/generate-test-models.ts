/**
 * Generates (once, then caches) the real GGUF files the test suite runs on: the behaviour model, its adapters,
 * and adapters that must be rejected. Run directly to pre-build them: `npm run generate-test-models`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BEHAVIOUR_MODEL, writeBehaviourAdapter, writeLoraAdapter, writeSyntheticLlama, behaviourAdapterPairs } from '../src/demo/syntheticLlama.js';
import { gguf, writeGguf } from '../src/gguf/writeGguf.js';
import { GgmlType } from '../src/gguf/ggufTypes.js';
import { encodeF32 } from '../src/gguf/tensorEncoding.js';

const RECIPE = 'v1';
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface TestModels {
  dir: string;
  behaviourModel: string;
  /** Adapter name → file: A says " A", B says " B", C.. H say their letter too (for churn tests). */
  adapters: Record<string, string>;
  bad: {
    notGguf: string;
    notAdapter: string;
    wrongWidth: string;
    truncated: string;
    wrongArchitecture: string;
  };
}

const LETTERS = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];

function once(file: string, write: (file: string) => void): string {
  if (!existsSync(file)) write(file);
  return file;
}

export function ensureTestModels(): TestModels {
  const dir = path.join(projectRoot, 'models', 'generated', `test-${RECIPE}`);
  mkdirSync(path.join(dir, 'adapters'), { recursive: true });
  mkdirSync(path.join(dir, 'bad'), { recursive: true });
  const behaviourModel = once(path.join(dir, 'behaviour.gguf'), (f) => writeSyntheticLlama(f, BEHAVIOUR_MODEL));
  const adapters: Record<string, string> = {};
  for (const letter of LETTERS) {
    adapters[letter] = once(path.join(dir, 'adapters', `${letter}.gguf`), (f) => writeBehaviourAdapter(f, letter, { word: ` ${letter}` }));
  }
  const bad = {
    notGguf: once(path.join(dir, 'bad', 'not-gguf.gguf'), (f) => writeFileSync(f, 'this is a text file, not a GGUF adapter\n')),
    notAdapter: once(path.join(dir, 'bad', 'not-adapter.gguf'), (f) =>
      writeGguf(f, {
        metadata: [['general.architecture', gguf.string('llama')], ['general.type', gguf.string('model')]],
        tensors: [{ name: 'output_norm.weight', dims: [64], type: GgmlType.F32, data: encodeF32(new Float32Array(64).fill(1)) }],
      }),
    ),
    wrongWidth: once(path.join(dir, 'bad', 'wrong-width.gguf'), (f) => writeBehaviourAdapter(f, 'wrong-width', { word: ' A', width: 32 })),
    truncated: once(path.join(dir, 'bad', 'truncated.gguf'), (f) => {
      const whole = readFileSync(adapters.A);
      writeFileSync(f, whole.subarray(0, Math.floor(whole.length / 2)));
    }),
    wrongArchitecture: once(path.join(dir, 'bad', 'wrong-architecture.gguf'), (f) =>
      writeLoraAdapter(f, { name: 'qwen', architecture: 'qwen2', ...behaviourAdapterPairs({ word: ' A' }) }),
    ),
  };
  return { dir, behaviourModel, adapters, bad };
}

/** Copies chosen adapters into a fresh directory that a test server watches. */
export function adaptersDirectory(target: string, models: TestModels, names: string[]): string {
  mkdirSync(target, { recursive: true });
  for (const name of names) copyFileSync(models.adapters[name], path.join(target, `${name}.gguf`));
  return target;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const models = ensureTestModels();
  process.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
}
