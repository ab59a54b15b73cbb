/**
 * Real decoding: llama.cpp samples from the generated behaviour model (real Llama 3 tokenizer, 128k tokens) under
 * our grammars, at temperature 1 with several seeds, and every finished output must validate with ajv. Without a
 * grammar the model only says " W W W", so valid JSON here is the grammar's doing, token boundaries included.
 */
import t from 'tap';
import { LlamaCompletion, TokenBias } from 'node-llama-cpp';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { jsonSchemaToGbnf } from '../../src/translate/jsonSchemaGrammar.js';
import { FINISHING, redactParameters, schemaViolation as check } from '../helpers/jsonSchemaFixtures.js';
import { loadTestModel } from '../helpers/testLlama.js';

const SEEDS = [1, 2, 3, 4];

const { llama, model, close } = await loadTestModel(ensureTestModels().behaviourModel);
// One thread: the model is tiny, and two spinning threads are many times slower on a busy machine.
const context = await model.createContext({ contextSize: 1024, threads: 1 });
const sequence = context.getSequence();
const completion = new LlamaCompletion({ contextSequence: sequence });
t.teardown(async () => {
  await context.dispose();
  await close();
});

async function decode(grammarText: string, seed: number, maxTokens: number, tokenBias?: TokenBias) {
  const grammar = await llama.createGrammar({ grammar: grammarText });
  await sequence.clearHistory();
  const { response, metadata } = await completion.generateCompletionWithMeta('Answer in JSON:', { grammar, temperature: 1, seed, maxTokens, tokenBias });
  return { text: response, finished: metadata.stopReason === 'eogToken' };
}

t.test('without a grammar the model does not write JSON', async (t) => {
  await sequence.clearHistory();
  const text = await completion.generateCompletion('Answer in JSON:', { temperature: 1, seed: 1, maxTokens: 8 });
  t.throws(() => JSON.parse(text), SyntaxError, JSON.stringify(text));
});

t.test('bounded schemas: every run finishes with valid JSON', async (t) => {
  for (const [name, { schema, style }] of Object.entries(FINISHING)) {
    const { grammar } = jsonSchemaToGbnf(schema, { whitespace: style });
    const outputs = new Set<string>();
    for (const seed of SEEDS) {
      const { text, finished } = await decode(grammar, seed, 400);
      t.ok(finished, `${name}, seed ${seed}: finished`);
      t.equal(check(schema, text), undefined, `${name}, seed ${seed}: valid`);
      if (style === 'compact') t.notMatch(text, /[,:] /, `${name}, seed ${seed}: compact`);
      outputs.add(text);
    }
    t.ok(outputs.size > 1, `${name}: seeds give different outputs`);
  }
});

t.test('the PII redactor tool parameters as shipped (unbounded strings): finished runs are valid', async (t) => {
  // Free strings end only when the model closes them. A nudge towards the closing quote stands in for a model
  // that writes real values; runs that still hit maxTokens are cut-off calls, which the server reports as such.
  const schema = redactParameters({});
  const { grammar } = jsonSchemaToGbnf(schema);
  const closeStrings = new TokenBias(model.tokenizer).set(model.tokenize('"'), { logit: 4 }).set(model.tokenize('",'), { logit: 4 });
  let finishedRuns = 0;
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const { text, finished } = await decode(grammar, seed, 80, closeStrings);
    if (!finished) {
      t.match(text, /^\{"fields_to_redact": \[\{"string": "/, `seed ${seed}: cut off inside the call`);
      continue;
    }
    finishedRuns++;
    t.equal(check(schema, text), undefined, `seed ${seed}: valid`);
  }
  t.ok(finishedRuns >= 2, `${finishedRuns} of 8 runs finished`);
});
