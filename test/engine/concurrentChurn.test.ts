import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { LlamaEngine, type AdapterRef } from '../../src/engine/LlamaEngine.js';

// Many simultaneous requests over more adapters than may be resident. Before contexts were created and disposed
// one at a time, this overshot the limit, evicted contexts nobody had used yet and crashed with SIGSEGV.
const LETTERS = ['A', 'B', 'C', 'D', 'E', 'F'];
const RESIDENT = 2;
const models = ensureTestModels();
const adapter = (name: string): AdapterRef => ({ name, filePath: models.adapters[name], version: 'test', scale: 1 });

t.test(`${LETTERS.length * 4} requests at once over ${LETTERS.length} adapters, ${RESIDENT} resident`, async (t) => {
  const engine = await LlamaEngine.load({
    modelPath: models.behaviourModel,
    gpu: 'off',
    gpuLayers: 0,
    threads: 1,
    contextSize: 128,
    sequencesPerContext: 2,
    batchSize: 128,
    maxContexts: RESIDENT,
    maxWaiting: 64,
    llamaLogs: false,
    log: () => {},
  });
  t.teardown(() => engine.close());
  const prompt = engine.tokenize([{ text: 'hi', special: false }]);
  let mostResident = 0;
  const sampler = setInterval(() => (mostResident = Math.max(mostResident, engine.pool.residentSets.length)), 1);

  const answers = await Promise.all(
    Array.from({ length: LETTERS.length * 4 }, async (_, i) => {
      const letter = LETTERS[i % LETTERS.length];
      let text = '';
      const events = engine.generate({
        adapters: [adapter(letter)],
        promptTokens: prompt,
        maxTokens: 2,
        sampling: { temperature: 0, topP: 1, presencePenalty: 0, frequencyPenalty: 0 },
        stop: [],
        signal: new AbortController().signal,
      });
      for await (const event of events) if (event.type === 'text') text += event.text;
      return [letter, text];
    }),
  );
  clearInterval(sampler);
  t.same(answers.filter(([letter, text]) => text !== ` ${letter} ${letter}`), [], 'every request answered by its own adapter');
  t.ok(mostResident <= RESIDENT, `at most ${RESIDENT} adapter sets resident (saw ${mostResident})`);
  t.equal(engine.pool.waiting, 0, 'nothing left waiting');
});
