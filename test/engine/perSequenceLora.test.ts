import path from 'node:path';
import t from 'tap';
import { attentionAdapterPairs, BEHAVIOUR_MODEL, writeLoraAdapter } from '../../src/demo/syntheticLlama.js';
import type { AdapterRef, LlamaEngine } from '../../src/engine/LlamaEngine.js';
import { findNativeBuild } from '../../src/engine/nativeBinding.js';
import { behaviourAdapter as adapter, greedyAnswer as answer, loadBehaviourEngine } from '../helpers/behaviourEngine.js';

// Per-sequence LoRA (adaptd's patched native build): every adapter set shares one context, and requests on different
// adapters are decoded in the same batches. The behaviour model's greedy output names the adapters applied to it,
// so a request's answer shows whether another sequence's adapter leaked into its tokens.
const load = (nativeEngine: 'auto' | 'off') => loadBehaviourEngine({ nativeEngine, sequencesPerContext: 4 });
// CI builds it (.ci/run); elsewhere these tests say what to run.
const noPatchedBuild = (await findNativeBuild('cpu'))
  ? false
  : 'no patched native build for this tree in the cache: run scripts/build-native.sh (about 20 minutes cold on 2 cores)';

t.test('without the patched build the engine says so and keeps a context per adapter set', async (t) => {
  const engine = await load('off');
  t.teardown(() => engine.close());
  t.match(engine.capabilities, { binary: 'prebuilt', perSequenceLora: false });
  const prompt = engine.tokenize([{ text: 'Name yourself.', special: false }]);
  const [a, b] = [await engine.pool.acquire([adapter('A')], prompt, new AbortController().signal), await engine.pool.acquire([adapter('B')], prompt, new AbortController().signal)];
  t.not(a.sequence.context, b.sequence.context, 'A and B decode in contexts of their own');
  a.release();
  b.release();
});

// Two ways to apply several adapters in one decode: stacked, each token gathering its own (the default while the
// copies fit LLAMA_LORA_STACK_MAX_BYTES), and one pair of products per adapter (larger adapters; 0 forces it here).
for (const [path, maxStackBytes] of [['stacked adapters', undefined], ['a product pair per adapter', '0']] as const) {
  t.test(`with the patched build, adapters mix in one context and each request gets exactly its own (${path})`, { skip: noPatchedBuild }, async (t) => {
    const saved = process.env.LLAMA_LORA_STACK_MAX_BYTES;
    if (maxStackBytes === undefined) delete process.env.LLAMA_LORA_STACK_MAX_BYTES;
    else process.env.LLAMA_LORA_STACK_MAX_BYTES = maxStackBytes;
    t.teardown(() => (saved === undefined ? delete process.env.LLAMA_LORA_STACK_MAX_BYTES : (process.env.LLAMA_LORA_STACK_MAX_BYTES = saved)));
    const engine = await load('auto');
    t.teardown(() => engine.close());
    t.match(engine.capabilities, { binary: 'patched', perSequenceLora: true, batchSampling: true });
    const prompt = engine.tokenize([{ text: 'The same long shared system prompt, then a document to label.', special: false }]);

    const sets: Array<[string, AdapterRef[]]> = [
      ['base', []],
      ['A', [adapter('A')]],
      ['B', [adapter('B')]],
      ['A at 0.2', [adapter('A', 0.2)]],
      ['A+B at 1.2', [adapter('A'), adapter('B', 1.2)]],
    ];
    const alone = new Map<string, string>();
    for (const [name, adapters] of sets) alone.set(name, await answer(engine, adapters, prompt, 8));
    t.same(Object.fromEntries(alone), { base: ' W W W W W W W W', A: ' A A A A A A A A', B: ' B B B B B B B B', 'A at 0.2': ' W W W W W W W W', 'A+B at 1.2': ' B B B B B B B B' }, 'alone, each request names its adapters');

    // Four at once fill the context's four sequences: one decode per step carries all of them.
    for (const group of [sets.slice(0, 4), sets.slice(1, 5)]) {
      const together = await Promise.all(group.map(([, adapters]) => answer(engine, adapters, prompt, 8)));
      group.forEach(([name], i) => t.equal(together[i], alone.get(name), `${name} inside a batch of ${group.map(([n]) => n).join(', ')} answers as alone`));
    }

    const leases = await Promise.all([[adapter('A')], [adapter('B')]].map((set) => engine.pool.acquire(set, prompt, new AbortController().signal)));
    t.equal(leases[0].sequence.context, leases[1].sequence.context, 'A and B share one context');
    for (const lease of leases) lease.release();
  });
}

t.test('a cached prefix is reused only under the adapter set that computed it', { skip: noPatchedBuild }, async (t) => {
  const engine = await load('auto');
  t.teardown(() => engine.close());
  const prompt = engine.tokenize([{ text: 'A prompt long enough to be worth caching across requests.', special: false }]);
  const coldB = await load('auto').then(async (fresh) => {
    try {
      return await answer(fresh, [adapter('B')], prompt);
    } finally {
      await fresh.close();
    }
  });
  // Fill every sequence with A's cache of this prompt, so B can only get a sequence A used.
  await Promise.all(Array.from({ length: 4 }, () => answer(engine, [adapter('A')], prompt)));

  const again = await engine.pool.acquire([adapter('A')], prompt, new AbortController().signal);
  t.ok(again.sequence.compareContextTokens(prompt).firstDifferentIndex >= prompt.length - 1, 'A finds its prompt cached');
  again.release();

  const lease = await engine.pool.acquire([adapter('B')], prompt, new AbortController().signal);
  t.equal(lease.sequence.nextTokenIndex, 0, "B's sequence starts empty although A's cache of the same prompt was in it");
  lease.release();
  t.equal(await answer(engine, [adapter('B')], prompt), coldB, 'B after A answers exactly as B on a fresh engine');
});

t.test('prompt-cache slots keep the prompts of idle adapter sets, and only --parallel sequences run', { skip: noPatchedBuild }, async (t) => {
  const prompt = (engine: LlamaEngine) => engine.tokenize([{ text: 'A shared system prompt that every adapter in rotation sends first.', special: false }]);
  const sets = [[adapter('A')], [adapter('B')], [adapter('A', 0.5)], [adapter('B', 0.5)]];
  // Four sets in rotation, one request at a time, then the first set again: is its prompt still cached?
  const firstSetCachedAfterRotation = async (promptCacheSlots: number) => {
    const engine = await loadBehaviourEngine({ nativeEngine: 'auto', sequencesPerContext: 2, promptCacheSlots });
    try {
      const tokens = prompt(engine);
      for (const set of sets) await answer(engine, set, tokens, 2);
      const lease = await engine.pool.acquire(sets[0], tokens, new AbortController().signal);
      const cached = lease.sequence.compareContextTokens(tokens).firstDifferentIndex >= tokens.length - 1;
      lease.release();
      return cached;
    } finally {
      await engine.close();
    }
  };
  t.equal(await firstSetCachedAfterRotation(0), false, 'two sequences: the two sets since took them over');
  t.equal(await firstSetCachedAfterRotation(2), true, 'two sequences and two cache slots: all four sets keep their prompts');

  const engine = await loadBehaviourEngine({ nativeEngine: 'auto', sequencesPerContext: 2, promptCacheSlots: 2 });
  t.teardown(() => engine.close());
  const tokens = prompt(engine);
  const running = await Promise.all(sets.slice(0, 2).map((set) => engine.pool.acquire(set, tokens, new AbortController().signal)));
  let third: Awaited<ReturnType<typeof engine.pool.acquire>> | undefined;
  const waiting = engine.pool.acquire(sets[2], tokens, new AbortController().signal).then((lease) => (third = lease));
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(third, undefined, 'a third request waits although two sequences are free: they only cache');
  t.equal(engine.pool.waiting, 1);
  running[0].release();
  await waiting;
  t.ok(third, 'it runs once one of the two running requests ends');
  third!.release();
  running[1].release();
});

t.test('many adapters in one decode fit llama.cpp\'s scheduler (its capacity counts the adapters loaded)', { skip: noPatchedBuild }, async (t) => {
  // 32 attention adapters (8 adapted weights each: about 2,000 graph nodes and leaves against a capacity of 1,024) loaded after the shared context was made, all in one decode:
  // the scheduler's graph capacity was sized without them and aborted the process until it was re-reserved.
  const count = 32;
  const dir = t.testdir();
  const adapters = Array.from({ length: count }, (_, i): AdapterRef => {
    const filePath = path.join(dir, `attention-${i}.gguf`);
    writeLoraAdapter(filePath, { name: `attention-${i}`, rank: 4, alpha: 4, pairs: attentionAdapterPairs(BEHAVIOUR_MODEL, 4, 500 + i) });
    return { name: `attention-${i}`, filePath, version: 'test', scale: 1 };
  });
  const engine = await loadBehaviourEngine({ sequencesPerContext: count, maxContexts: count, contextSize: 64 * count });
  t.teardown(() => engine.close());
  const prompt = engine.tokenize([{ text: 'Many adapters at once.', special: false }]);
  const answers = await Promise.all(adapters.map((adapter) => answer(engine, [adapter], prompt, 6)));
  t.equal(answers.filter((text) => text.length > 0).length, count, `${count} requests on ${count} adapters answered together`);
});
