/**
 * Writes the GPU benchmark's base model and adapters: a Llama 3 8B-shaped model (4096 wide, 32 layers, 32 heads,
 * 8 KV heads, 14336 FFN, the full 128k vocabulary) with random weights laid out as Q4_K_M, and rank-16 LoRAs on every
 * linear projection. Random weights cost what real ones cost; greedy output stays on one word (see syntheticLlama.ts).
 *
 *   npx tsx scripts/gpu-bench-model.ts --out DIR [--width 4096] [--layers 32] [--heads 32] [--kv-heads 8]
 *        [--ffn 14336] [--adapters 8] [--rank 16]
 * Prints the model path, then one adapter path a line. Measured on this 2-core machine: see scripts/gpu-bench.sh.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { allLinearAdapterPairs, writeLoraAdapter, writeSyntheticLlama, type SyntheticLlamaShape } from '../src/demo/syntheticLlama.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    width: { type: 'string', default: '4096' },
    layers: { type: 'string', default: '32' },
    heads: { type: 'string', default: '32' },
    'kv-heads': { type: 'string', default: '8' },
    ffn: { type: 'string', default: '14336' },
    adapters: { type: 'string', default: '8' },
    rank: { type: 'string', default: '16' },
  },
});
if (!values.out) throw new Error('--out DIR is required');
const shape: SyntheticLlamaShape = {
  name: `adaptd gpu bench ${values.width}x${values.layers}`,
  width: Number(values.width),
  layers: Number(values.layers),
  heads: Number(values.heads),
  kvHeads: Number(values['kv-heads']),
  feedForward: Number(values.ffn),
  contextLength: 8192,
  seed: 3,
  word: ' W',
  noise: 0.02,
  weights: 'Q4_K_M',
};
const rank = Number(values.rank);
mkdirSync(path.join(values.out, 'adapters'), { recursive: true });
const modelPath = path.join(values.out, 'model.gguf');
const started = Date.now();
if (!existsSync(modelPath)) writeSyntheticLlama(modelPath, shape);
process.stderr.write(`model ${modelPath} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
process.stdout.write(`${modelPath}\n`);
for (let i = 0; i < Number(values.adapters); i++) {
  const file = path.join(values.out, 'adapters', `gpu-bench-${String(i).padStart(2, '0')}.gguf`);
  if (!existsSync(file)) writeLoraAdapter(file, { name: path.basename(file, '.gguf'), rank, alpha: rank, pairs: allLinearAdapterPairs(shape, rank, 2000 + i) });
  process.stdout.write(`${file}\n`);
}
process.stderr.write(`model and ${values.adapters} adapters in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
