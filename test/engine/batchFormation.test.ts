import t, { type Test } from 'tap';
import type { LlamaContext } from 'node-llama-cpp';
import { findNativeBuild } from '../../src/engine/nativeBinding.js';
import { behaviourAdapter, greedyAnswer, loadBehaviourEngine } from '../helpers/behaviourEngine.js';

// Four requests generating at once on one context should share every decode: one decode per step, not one for
// most sequences and another for the one whose sampling finished last (which halved throughput at concurrency 4).
// The count of native decodes is the observable: four 24-token answers need about 24 decodes when batches are full
// and about 48 when one sequence misses each batch.
const TOKENS = 24;
const SEQUENCES = 4;
const hasPatchedBuild = Boolean(await findNativeBuild('cpu'));

for (const nativeEngine of ['off', 'auto'] as const) {
  const binary = nativeEngine === 'off' ? 'prebuilt binary' : 'patched build';
  const skip = nativeEngine === 'auto' && !hasPatchedBuild && 'no patched native build: run scripts/build-native.sh';

  t.test(`${SEQUENCES} sequences decode together (${binary})`, { skip }, async (t) => {
    const { answer, decodes } = await countingEngine(t, nativeEngine);
    const answers = await Promise.all(Array.from({ length: SEQUENCES }, answer));
    t.same(answers, Array(SEQUENCES).fill(' A'.repeat(TOKENS)), 'every answer complete');
    t.ok(decodes.count <= TOKENS + 6, `${decodes.count} decodes for ${SEQUENCES} × ${TOKENS} tokens (full batches: about ${TOKENS})`);
  });

  // A request that arrives while a decode without it runs queued its token during that decode, and the library
  // then decoded it alone after each decode of the others: batches alternated between B-1 sequences and 1.
  t.test(`a request that starts a step late joins the others' batches (${binary})`, { skip }, async (t) => {
    const { answer, decodes } = await countingEngine(t, nativeEngine);
    const first = Array.from({ length: SEQUENCES - 1 }, answer);
    await decodes.started;
    const answers = await Promise.all([...first, answer()]);
    t.same(answers, Array(SEQUENCES).fill(' A'.repeat(TOKENS)), 'every answer complete');
    t.ok(decodes.count <= TOKENS + 8, `${decodes.count} decodes for ${SEQUENCES} × ${TOKENS} tokens (full batches: about ${TOKENS}; one sequence alone after each: about ${2 * TOKENS})`);
    // A batch whose sequence ids are out of order took llama.cpp about 1.6× the time of the same batch in order.
    const unordered = decodes.batches.filter((ids) => ids.some((id, i) => i > 0 && id < ids[i - 1]));
    t.same(unordered, [], 'every batch adds its sequences in ascending id');
  });
}

/** A warmed engine whose context's decodes are counted from now on (an observation point on the native context). */
async function countingEngine(t: Test, nativeEngine: 'off' | 'auto') {
  const engine = await loadBehaviourEngine({ nativeEngine, sequencesPerContext: SEQUENCES });
  t.teardown(() => engine.close());
  const prompt = engine.tokenize([{ text: 'Count the decodes.', special: false }]);
  const adapters = [behaviourAdapter('A')];
  t.equal(await greedyAnswer(engine, adapters, prompt, 2), ' A A', 'warm');

  const lease = await engine.pool.acquire(adapters, prompt, new AbortController().signal);
  const context: LlamaContext = lease.sequence.context;
  lease.release();
  type Addon = {
    decodeBatch(): Promise<void>;
    addToBatch(sequenceId: number, ...rest: unknown[]): unknown;
    sampleTokens?(indexes: unknown, samplers: unknown, decodeFirst?: boolean): Promise<unknown>;
  };
  const addon = (context as unknown as { _ctx: Addon })._ctx;
  const decode = addon.decodeBatch.bind(addon);
  const add = addon.addToBatch.bind(addon);
  const sampleAll = addon.sampleTokens?.bind(addon);
  let markStarted = () => {};
  const decodes = { count: 0, started: new Promise<void>((resolve) => (markStarted = resolve)), batches: [[]] as number[][] };
  const counted = () => (decodes.count++, decodes.batches.push([]), markStarted());
  Object.defineProperty(addon, 'addToBatch', { value: (sequenceId: number, ...rest: unknown[]) => (decodes.batches.at(-1)!.push(sequenceId), add(sequenceId, ...rest)), configurable: true });
  Object.defineProperty(addon, 'decodeBatch', { value: () => (counted(), decode()), configurable: true });
  // The patched build decodes and samples a step in one call (sampleTokens with decodeFirst).
  if (sampleAll) {
    Object.defineProperty(addon, 'sampleTokens', { value: (indexes: unknown, samplers: unknown, decodeFirst?: boolean) => (decodeFirst && counted(), sampleAll(indexes, samplers, decodeFirst)), configurable: true });
  }
  return { decodes, answer: () => greedyAnswer(engine, adapters, prompt, TOKENS) };
}
