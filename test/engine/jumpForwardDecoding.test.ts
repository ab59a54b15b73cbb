/**
 * Jump-forward decoding on the real engine: the behaviour model (real Llama 3 tokenizer) decodes under JSON-schema
 * grammars at temperature 1 while the engine inserts the text the grammar forces. Every finished output must still
 * validate, the inserted tokens must be counted, and the grammar reader must agree with the output at every point.
 */
import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { GbnfGrammar } from '../../src/engine/GbnfMatcher.js';
import { LlamaEngine, type GenerationEvent } from '../../src/engine/LlamaEngine.js';
import { jsonSchemaToGbnf } from '../../src/translate/jsonSchemaGrammar.js';
import { FINISHING, redactParameters, schemaViolation } from '../helpers/jsonSchemaFixtures.js';

const models = ensureTestModels();
const load = (grammarFastForward: boolean) =>
  LlamaEngine.load({
    modelPath: models.behaviourModel,
    gpu: 'off',
    gpuLayers: 0,
    threads: 1,
    contextSize: 1024,
    sequencesPerContext: 1,
    batchSize: 512,
    grammarFastForward,
    maxContexts: 1,
    maxWaiting: 8,
    llamaLogs: false,
    log: () => {},
  });
const engine = await load(true);
t.teardown(() => engine.close());
const prompt = engine.tokenizeCompletionPrompt('Answer in JSON:');

async function decode(target: LlamaEngine, grammar: string, options: { seed: number; maxTokens: number; stop?: string[] }) {
  let text = '';
  let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
  const events = target.generate({
    adapters: [],
    promptTokens: prompt,
    maxTokens: options.maxTokens,
    sampling: { temperature: 1, topP: 1, seed: options.seed, presencePenalty: 0, frequencyPenalty: 0 },
    stop: options.stop ?? [],
    grammar,
    signal: new AbortController().signal,
  });
  for await (const event of events) {
    if (event.type === 'text') text += event.text;
    else done = event;
  }
  return { text, done: done! };
}

/** At every prefix of `text`, what the reader says is forced must be what the text goes on with. */
function disagreement(grammar: string, text: string): string | undefined {
  let matcher = GbnfGrammar.parse(grammar).start();
  const chars = [...text];
  for (let i = 0; i <= chars.length; i++) {
    const rest = chars.slice(i).join('');
    const forced = matcher.forcedText(64);
    if (!rest.startsWith(forced) && !forced.startsWith(rest)) return `after ${JSON.stringify(chars.slice(0, i).join(''))} it forces ${JSON.stringify(forced)}`;
    if (i === chars.length) return matcher.canEnd ? undefined : 'the reader does not accept the whole output';
    const next = matcher.accept(chars[i]);
    if (!next) return `the reader rejects ${JSON.stringify(chars[i])} after ${JSON.stringify(chars.slice(0, i).join(''))}`;
    matcher = next;
  }
  return undefined;
}

t.test('finished outputs under forced text are valid, and the forced tokens are counted', async (t) => {
  const nothingForced: string[] = [];
  for (const [name, { schema, style }] of Object.entries(FINISHING)) {
    const { grammar } = jsonSchemaToGbnf(schema, { whitespace: style });
    for (const seed of [1, 2]) {
      const { text, done } = await decode(engine, grammar, { seed, maxTokens: 400 });
      t.equal(done.finishReason, 'stop', `${name}, seed ${seed}: finished`);
      t.equal(schemaViolation(schema, text), undefined, `${name}, seed ${seed}: valid`);
      t.ok(done.forcedTokens < done.completionTokens, `${name}, seed ${seed}: ${done.forcedTokens} of ${done.completionTokens} tokens forced`);
      if (done.forcedTokens === 0 && !nothingForced.includes(name)) nothingForced.push(name);
      t.equal(disagreement(grammar, text), undefined, `${name}, seed ${seed}: the grammar reader follows the output`);
    }
  }
  // An array whose items are alternatives (boolean, number, string, object) leaves a choice after every `[` and `,`.
  t.same(nothingForced, ['anyOf'], 'every schema with fixed keys had tokens inserted');
});

t.test('the redactor call: its opening is inserted, not decoded', async (t) => {
  const { grammar } = jsonSchemaToGbnf(redactParameters({ maxLength: 10 }, 3));
  const { text, done } = await decode(engine, grammar, { seed: 3, maxTokens: 400 });
  t.match(text, /^\{"fields_to_redact": \[/);
  // `{"fields_to_redact": [` is several tokens; all but the last go in with the prompt.
  t.ok(done.forcedTokens >= 3, `${done.forcedTokens} forced`);
});

t.test('max_tokens and stop strings count inserted tokens like decoded ones', async (t) => {
  const { grammar } = jsonSchemaToGbnf(redactParameters({ maxLength: 10 }, 3));
  const cut = await decode(engine, grammar, { seed: 1, maxTokens: 3 });
  t.equal(cut.done.finishReason, 'length');
  t.equal(cut.done.completionTokens, 3, 'exactly max_tokens');
  t.ok(cut.done.forcedTokens >= 1 && cut.done.forcedTokens <= 2, 'at least the last token was decoded');
  t.ok('{"fields_to_redact": ['.startsWith(cut.text) || cut.text.startsWith('{"fields_to_redact": ['), JSON.stringify(cut.text));

  const stopped = await decode(engine, grammar, { seed: 1, maxTokens: 50, stop: ['_to_'] });
  t.equal(stopped.done.finishReason, 'stop');
  t.equal(stopped.text, '{"fields', 'the answer ends before the stop string inside forced text');
  t.ok(stopped.done.forcedTokens <= stopped.done.completionTokens, 'only inserted tokens that became output are counted');
});

t.test('switched off, nothing is inserted and the output is still valid', async (t) => {
  const plain = await load(false);
  t.teardown(() => plain.close());
  const schema = FINISHING['array of objects'].schema;
  const { grammar } = jsonSchemaToGbnf(schema);
  const { text, done } = await decode(plain, grammar, { seed: 1, maxTokens: 400 });
  t.equal(done.forcedTokens, 0);
  t.equal(schemaViolation(schema, text), undefined);
});

t.test('a grammar the reader gives up on mid-answer is still enforced by llama.cpp alone', async (t) => {
  // Its opening is forced; past it, 5,000 alternatives are more than the reader follows.
  const values = Array.from({ length: 5000 }, (_, i) => `"\\"k${i}\\""`);
  const grammar = `root ::= "{\\"value\\": " (${values.join(' | ')}) "}"`;
  const { text, done } = await decode(engine, grammar, { seed: 3, maxTokens: 16 });
  t.match(text, /^\{"value": "k\d+"\}$/, 'a complete, valid answer');
  t.ok(done.forcedTokens > 0, 'the opening was still inserted');
});
