import t from 'tap';
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
  t.test(`${SEQUENCES} sequences decode together (${nativeEngine === 'off' ? 'prebuilt binary' : 'patched build'})`, { skip: nativeEngine === 'auto' && !hasPatchedBuild && 'no patched native build: run scripts/build-native.sh' }, async (t) => {
    const engine = await loadBehaviourEngine({ nativeEngine, sequencesPerContext: SEQUENCES });
    t.teardown(() => engine.close());
    const prompt = engine.tokenize([{ text: 'Count the decodes.', special: false }]);
    const adapters = [behaviourAdapter('A')];
    t.equal(await greedyAnswer(engine, adapters, prompt, 2), ' A A', 'warm');

    const lease = await engine.pool.acquire(adapters, prompt, new AbortController().signal);
    const context: LlamaContext = lease.sequence.context;
    lease.release();
    // An observation point on the native context: every decode of this context goes through it.
    const addon = (context as unknown as { _ctx: { decodeBatch(): Promise<void> } })._ctx;
    const decode = addon.decodeBatch.bind(addon);
    let decodes = 0;
    Object.defineProperty(addon, 'decodeBatch', { value: () => (decodes++, decode()), configurable: true });

    const answers = await Promise.all(Array.from({ length: SEQUENCES }, () => greedyAnswer(engine, adapters, prompt, TOKENS)));
    t.same(answers, Array(SEQUENCES).fill(' A'.repeat(TOKENS)), 'every answer complete');
    t.ok(decodes <= TOKENS + 6, `${decodes} decodes for ${SEQUENCES} × ${TOKENS} tokens (full batches: about ${TOKENS})`);
  });
}
