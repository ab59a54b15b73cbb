/**
 * Where a decode step's time goes with B sequences in one context: the decode of B tokens, the sampling of B
 * sequences (node-llama-cpp's sampleToken, one thread-pool job per sequence, or the patched build's sampleTokens,
 * one job for all), and everything else (JavaScript, event-loop turns). A bare loop over node-llama-cpp's native
 * context, with no server, scheduler or HTTP: the most a server built on this binding can get per step.
 *
 *   npx tsx scripts/measure-decode-step.ts [--native auto|off] [--batches 1,4,8] [--steps 64] [--threads N] [--adapters N]
 *                                          [--temperature T]
 *
 * --adapters N (patched build): sequence s decodes under the benchmark's LoRA s mod N (0: none), set per sequence as
 * the server does, so one adapter against N mixed shows what mixing costs a decode.
 *
 * Uses the 150M benchmark model (generated once under models/generated/bench). Greedy sampling, as the benchmark,
 * unless --temperature is above 0 (then top-k 40 and top-p 0.95, node-llama-cpp's defaults, as adaptd samples).
 */
import { parseArgs } from 'node:util';
import { LlamaLogLevel } from 'node-llama-cpp';
import { ensureBenchModels } from '../src/bench/benchModels.js';
import { availableCpus } from '../src/engine/cpuBudget.js';
import { describeCapabilities, loadLlama, loadLoraHandle } from '../src/engine/nativeBinding.js';

interface AddonContext {
  initBatch(size: number): void;
  addToBatch(sequenceId: number, firstTokenIndex: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  sampleToken(batchLogitIndex: number, sampler: unknown): Promise<number>;
  sampleTokens?(batchLogitIndexes: Int32Array, samplers: unknown[]): Promise<Int32Array>;
  setSequenceLoras?(sequenceId: number, loras: unknown[], scales: number[]): boolean;
}
interface AddonSampler {
  applyConfig(config: Record<string, unknown>): void;
  dispose(): void;
}

const { values } = parseArgs({
  options: {
    native: { type: 'string', default: 'auto' },
    batches: { type: 'string', default: '1,4,8' },
    steps: { type: 'string', default: '64' },
    threads: { type: 'string' },
    adapters: { type: 'string', default: '0' },
    temperature: { type: 'string', default: '0' },
  },
});
const threads = values.threads ? Number(values.threads) : availableCpus();
const steps = Number(values.steps);
const adapterCount = Number(values.adapters);
const models = ensureBenchModels('models/generated', Math.max(1, adapterCount), false);
const { llama, capabilities } = await loadLlama({ native: values.native as 'auto' | 'off', gpu: false, build: 'never', maxThreads: threads, logLevel: LlamaLogLevel.error });
console.log(describeCapabilities(capabilities));
const model = await llama.loadModel({ modelPath: models.modelPath });
const bindings = (llama as unknown as { _bindings: { AddonSampler: new (model: unknown) => AddonSampler } })._bindings;
const prompt = model.tokenize('Write a long story about a lighthouse keeper.');
const loras = await Promise.all(models.adapterPaths.slice(0, adapterCount).map((file) => loadLoraHandle(model, file)));

console.log(`threads ${threads}, ${steps} steps per batch size, ${adapterCount} adapters, UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
console.log('B  | tokens/s | decode ms/step | sampling ms/step (per sequence) | other ms/step');
for (const size of values.batches.split(',').map(Number)) {
  const context = await model.createContext({ contextSize: 2048, sequences: size, batchSize: 512, threads: { ideal: threads, min: threads } });
  const addon = (context as unknown as { _ctx: AddonContext })._ctx;
  for (let s = 0; s < size && loras.length > 0; s++) addon.setSequenceLoras!(s, [loras[s % loras.length]], [1]);
  const samplers = Array.from({ length: size }, () => {
    const sampler = new bindings.AddonSampler((model as unknown as { _model: unknown })._model);
    sampler.applyConfig({ temperature: Number(values.temperature), topK: 40, topP: 0.95, minP: 0, seed: 1 });
    return sampler;
  });
  const positions = new Array<number>(size).fill(0);
  const next = new Array<number>(size).fill(0);
  // Prompt: every sequence in one batch, logits for its last token.
  addon.initBatch(size * prompt.length);
  const promptLogits = Array.from({ length: size }, (_, s) => addon.addToBatch(s, 0, Uint32Array.from(prompt), Uint32Array.from([prompt.length - 1]))[0]);
  await addon.decodeBatch();
  for (let s = 0; s < size; s++) {
    next[s] = await addon.sampleToken(promptLogits[s], samplers[s]);
    positions[s] = prompt.length;
  }
  let decodeMs = 0;
  let sampleMs = 0;
  const started = performance.now();
  for (let step = 0; step < steps; step++) {
    const t0 = performance.now();
    addon.initBatch(size);
    const logitIndexes = next.map((token, s) => addon.addToBatch(s, positions[s]++, Uint32Array.of(token), Uint32Array.of(0))[0]);
    await addon.decodeBatch();
    const t1 = performance.now();
    const tokens = addon.sampleTokens
      ? Array.from(await addon.sampleTokens(Int32Array.from(logitIndexes), samplers))
      : await Promise.all(logitIndexes.map((index, s) => addon.sampleToken(index, samplers[s])));
    const t2 = performance.now();
    tokens.forEach((token, s) => (next[s] = token));
    decodeMs += t1 - t0;
    sampleMs += t2 - t1;
  }
  const totalMs = performance.now() - started;
  const perStep = (ms: number) => (ms / steps).toFixed(2);
  console.log(
    `${String(size).padEnd(2)} | ${((size * steps) / (totalMs / 1000)).toFixed(1).padStart(8)} | ${perStep(decodeMs).padStart(14)} | ` +
      `${perStep(sampleMs).padStart(8)} (${(sampleMs / steps / size).toFixed(2)})${addon.sampleTokens ? ' one call' : ' per-sequence jobs'} | ${perStep(totalMs - decodeMs - sampleMs)}`,
  );
  for (const sampler of samplers) sampler.dispose();
  await context.dispose();
}
await model.dispose();
await llama.dispose();
