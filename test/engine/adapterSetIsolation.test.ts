import t from 'tap';
import { behaviourAdapter as adapter, greedyAnswer as answer, loadBehaviourEngine } from '../helpers/behaviourEngine.js';

// Prompt-prefix reuse must stay inside one adapter set: a cached prefix was computed with that set's LoRA
// applied, so handing it to another set would give that set's requests wrong answers. This is the
// context-per-adapter-set path; test/engine/perSequenceLora.test.ts covers the shared context's.
const load = () => loadBehaviourEngine({ nativeEngine: 'off' });

t.test('a request of another adapter set never starts from the KV cache of this one', async (t) => {
  const engine = await load();
  t.teardown(() => engine.close());
  const prompt = engine.tokenize([{ text: 'The same long shared system prompt, then a document to label.', special: false }]);

  const coldB = await load().then(async (fresh) => {
    try {
      return await answer(fresh, [adapter('B')], prompt);
    } finally {
      await fresh.close();
    }
  });
  t.equal(await answer(engine, [adapter('A')], prompt), ' A A A A', 'A answers');

  const again = await engine.pool.acquire([adapter('A')], prompt, new AbortController().signal);
  const reused = again.sequence.compareContextTokens(prompt).firstDifferentIndex;
  t.ok(reused >= prompt.length - 1, `A's next request finds its prompt cached (${reused} of ${prompt.length} tokens)`);
  const contextOfA = again.sequence.context;
  again.release();

  for (const set of [[adapter('B')], [adapter('A'), adapter('B')]]) {
    const names = set.map((a) => a.name).join('+');
    const lease = await engine.pool.acquire(set, prompt, new AbortController().signal);
    t.not(lease.sequence.context, contextOfA, `${names} gets a context of its own`);
    t.equal(lease.sequence.nextTokenIndex, 0, `${names} starts with an empty cache`);
    t.equal(lease.sequence.compareContextTokens(prompt).firstDifferentIndex, 0, `${names} shares no cached prefix`);
    lease.release();
  }
  t.equal(await answer(engine, [adapter('B')], prompt), coldB, "B after A answers exactly as B on a fresh engine");
});
