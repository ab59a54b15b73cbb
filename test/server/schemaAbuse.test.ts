/**
 * Hostile and oversized JSON schemas against a real server on the generated model, through both paths that
 * compile a schema (response_format and tools[].function.parameters): every one answers 200 or a 400 naming the
 * limit it passed, never a 5xx, and the server's memory stays bounded. Bounded in count and time.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { defsChain, nestedObjects } from '../helpers/jsonSchemaFixtures.js';
import { startTestServer } from '../helpers/testServer.js';

const CACHE_BYTES = 8 * 2 ** 20;
const models = ensureTestModels();
const server = await startTestServer({ model: models.behaviourModel, 'model-id': 'base', 'context-size': 1024, 'max-tokens': 24, 'grammar-cache-bytes': CACHE_BYTES });
t.teardown(server.close);

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
const rssMiB = () => {
  collect();
  return process.memoryUsage.rss() / 2 ** 20;
};

type Path = 'response_format' | 'tools';

/** A chat request whose output must follow `schema`, by either path. */
async function post(path: Path, schema: unknown, maxTokens = 24) {
  const body = {
    model: 'base',
    messages: [{ role: 'user', content: 'Answer.' }],
    max_tokens: maxTokens,
    temperature: 0,
    ...(path === 'response_format'
      ? { response_format: { type: 'json_schema', json_schema: { name: 'answer', schema } } }
      : { tools: [{ type: 'function', function: { name: 'answer', parameters: schema } }], tool_choice: 'required' }),
  };
  const response = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

const enumOf = (count: number, prefix: string) => ({ enum: Array.from({ length: count }, (_, i) => `${prefix}-${i}-${'x'.repeat(20)}`) });
const objectOf = (value: unknown) => ({ type: 'object', properties: { value }, required: ['value'] });
const manyIntegers = (count: number) => {
  const names = Array.from({ length: count }, (_, i) => `n${i}`);
  return { type: 'object', properties: Object.fromEntries(names.map((name) => [name, { type: 'integer' }])), required: names };
};
// Few values but a grammar of megabytes: every distinct maxLength is its own expanded repetition.
const longGrammar = { type: 'object', properties: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`s${i}`, { type: 'string', maxLength: 600 + i }])) };

const refused: Array<[string, unknown, string]> = [
  ['an enum of 60,000 strings (2 MB)', objectOf(enumOf(60_000, 'bomb')), '--max-schema-enum-values'],
  ['an object nested 2,000 deep', nestedObjects(2000), '--max-schema-depth'],
  ['10,000 required integer properties', manyIntegers(10_000), '--max-schema-nodes'],
  ['a $defs chain 3,000 long', defsChain(3000, objectOf), '--max-schema-depth'],
  ['a grammar of megabytes from a small schema', longGrammar, '--max-grammar-bytes'],
];

const warm = await post('response_format', objectOf({ type: 'boolean' }));
t.equal(warm.status, 200, 'a small schema works');
const baseline = rssMiB();
t.comment(`RSS after a first request: ${baseline.toFixed(0)} MiB`);

for (const path of ['response_format', 'tools'] as const) {
  t.test(`${path}: schemas over a limit get a 400 naming the limit and its flag`, async (t) => {
    for (const [name, schema, flag] of refused) {
      const started = performance.now();
      const { status, body } = await post(path, schema);
      t.equal(status, 400, `${name}: 400`);
      t.equal(body.error?.code, 'unsupported_schema', `${name}: unsupported_schema`);
      t.equal(body.error?.param, path, `${name}: param names the field`);
      t.match(body.error?.message, flag, `${name}: the message names ${flag}`);
      t.ok(performance.now() - started < 5000, `${name}: answered in ${(performance.now() - started).toFixed(0)} ms`);
    }
  });
}

t.test('tools offered with tool_choice auto or none are held to the same limits', async (t) => {
  for (const tool_choice of ['auto', 'none']) {
    for (const [name, schema, flag] of refused.slice(0, 2)) {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'base', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, tool_choice, tools: [{ type: 'function', function: { name: 'f', parameters: schema } }] }),
      });
      const body = (await response.json()) as any;
      t.equal(response.status, 400, `${tool_choice}, ${name}: 400`);
      t.match(body.error?.message, flag, `${tool_choice}, ${name}: names ${flag}`);
    }
  }
});

t.test('large but valid schemas are served', async (t) => {
  const tenThousand = Array.from({ length: 10_000 }, (_, i) => `v${i}`);
  const big = await post('response_format', objectOf({ enum: tenThousand }));
  t.equal(big.status, 200, 'an enum of 10,000 short strings', { body: big.body });
  const value = JSON.parse(big.body.choices?.[0]?.message?.content ?? 'null')?.value;
  t.ok(tenThousand.includes(value), `answers one of them (${value})`);

  const started = performance.now();
  const wide = await post('response_format', { type: 'integer', minimum: -1e300, maximum: 1e300 });
  t.equal(wide.status, 200, 'integer bounds of ±1e300');
  t.match(wide.body.choices[0].message.content, /^-?\d{1,16}$/, `at most 16 digits: ${wide.body.choices[0].message.content}`);
  t.ok(performance.now() - started < 5000, 'and quickly');

  const tool = await post('tools', objectOf({ enum: ['red', 'green', 'blue'] }));
  t.equal(tool.status, 200, 'a tool call');
  t.match(JSON.parse(tool.body.choices[0].message.tool_calls[0].function.arguments).value, /^(red|green|blue)$/);
});

t.test('twenty distinct 2 MB schema bombs and forty distinct accepted schemas leave memory bounded', async (t) => {
  for (let i = 0; i < 20; i++) {
    const { status } = await post(i % 2 === 0 ? 'response_format' : 'tools', objectOf(enumOf(60_000, `bomb${i}`)));
    if (status !== 400) t.fail(`bomb ${i}: ${status}`);
  }
  // Each accepted one is compiled and cached; the cache keeps what fits its byte budget.
  for (let i = 0; i < 40; i++) {
    const { status } = await post('response_format', objectOf(enumOf(2_000, `churn${i}`)), 4);
    if (status !== 200) t.fail(`accepted schema ${i}: ${status}`);
  }
  const grammars = server.engine.grammars;
  t.ok(grammars.bytes <= CACHE_BYTES, `the grammar cache holds ${(grammars.bytes / 2 ** 20).toFixed(1)} MiB of at most ${CACHE_BYTES / 2 ** 20}`);
  t.ok(grammars.size < 40, `not every schema is kept (${grammars.size})`);
  const after = rssMiB();
  t.comment(`RSS: ${baseline.toFixed(0)} MiB before, ${after.toFixed(0)} MiB after`);
  t.ok(after - baseline < 256, `RSS grew by ${(after - baseline).toFixed(0)} MiB, under 256`);
  const still = await post('response_format', objectOf({ type: 'boolean' }));
  t.equal(still.status, 200, 'still serving');
});
