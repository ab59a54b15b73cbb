import t from 'tap';
import { LlamaLogLevel, type LlamaContext, type LlamaModel } from 'node-llama-cpp';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { findNativeBuild, loadLlama, loadLoraHandle, setSequenceAdapters, withContextLock } from '../../src/engine/nativeBinding.js';

// The patched build lets llama.cpp reuse a decode's graph for the next one when nothing the graph was built for has
// changed (the adapters its sequences use among them). Scales and sequence ids are inputs set at every decode, but
// which adapters' weights a graph multiplies is fixed when it is built: a sequence switched to other adapters between
// two decodes of the same shape must get a new graph, or it keeps decoding under the old ones. Built-again graphs
// (LLAMA_GRAPH_REUSE_DISABLE=1, read when a context is created) are the reference.
const noPatchedBuild = (await findNativeBuild('cpu'))
  ? false
  : 'no patched native build for this tree in the cache: run scripts/build-native.sh (about 20 minutes cold on 2 cores)';

type AdapterSet = Array<[handle: unknown, scale: number]>;

/** Greedy tokens of one sequence: four under the first adapter set, then four under the second. */
async function switchMidAnswer(model: LlamaModel, first: AdapterSet, second: AdapterSet, reuseGraphs: boolean): Promise<number[]> {
  const saved = process.env.LLAMA_GRAPH_REUSE_DISABLE;
  process.env.LLAMA_GRAPH_REUSE_DISABLE = reuseGraphs ? '0' : '1';
  let context: LlamaContext;
  try {
    context = await model.createContext({ contextSize: 256, sequences: 1, batchSize: 128 });
  } finally {
    if (saved === undefined) delete process.env.LLAMA_GRAPH_REUSE_DISABLE;
    else process.env.LLAMA_GRAPH_REUSE_DISABLE = saved;
  }
  try {
    const sequence = context.getSequence();
    const setAdapters = (set: AdapterSet) =>
      withContextLock(context, () => setSequenceAdapters(context, sequence, set.map(([handle]) => handle), set.map(([, scale]) => scale)));
    await setAdapters(first);
    const tokens: number[] = [];
    const iterator = sequence.evaluate(model.tokenize('Name yourself.'), { temperature: 0, yieldEogToken: true });
    try {
      for (let step = 0; step < 8; step++) {
        // Between the fourth and fifth one-token decodes: same shape, same sequence, other adapters.
        if (step === 4) await setAdapters(second);
        const next = await iterator.next();
        if (next.done) break;
        tokens.push(next.value);
      }
    } finally {
      await iterator.return();
    }
    return tokens;
  } finally {
    await context.dispose();
  }
}

t.test('a sequence whose adapters change between two decodes of the same shape decodes under its new adapters', { skip: noPatchedBuild }, async (t) => {
  const { llama, capabilities } = await loadLlama({ native: 'auto', gpu: false, logLevel: LlamaLogLevel.error });
  t.teardown(() => llama.dispose());
  t.equal(capabilities.binary, 'patched');
  const models = ensureTestModels();
  const model = await llama.loadModel({ modelPath: models.behaviourModel });
  t.teardown(() => model.dispose());
  const [a, b] = await Promise.all([loadLoraHandle(model, models.adapters.A), loadLoraHandle(model, models.adapters.B)]);

  const cases: Array<[string, AdapterSet, AdapterSet]> = [
    ['A, then B', [[a, 1]], [[b, 1]]],
    ['A, then A and B at 1.2 (two adapters: the stacked path)', [[a, 1]], [[a, 1], [b, 1.2]]],
    ['none, then A', [], [[a, 1]]],
    ['A, then none', [[a, 1]], []],
  ];
  for (const [name, first, second] of cases) {
    const reference = await switchMidAnswer(model, first, second, false);
    const unswitched = await switchMidAnswer(model, first, first, false);
    t.not(reference.slice(4).join(), unswitched.slice(4).join(), `${name}: the switch changes the answer (the check can tell)`);
    t.same(await switchMidAnswer(model, first, second, true), reference, `${name}: with graphs reused, as with every graph built afresh`);
  }
});
