import t from 'tap';
import fc from 'fast-check';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { buildTestApp } from '../helpers/testApp.js';

const models = ensureTestModels();
const server = await buildTestApp({ model: models.behaviourModel, adapters: adaptersDirectory(t.testdir(), models, ['A']), 'model-id': 'base', 'context-size': 512, 'max-tokens': 8 });
t.teardown(server.close);

const ROUTES: Array<[string, string]> = [
  ['POST', '/v1/chat/completions'],
  ['POST', '/v1/completions'],
  ['GET', '/v1/models'],
  ['GET', '/v1/adapters'],
  ['GET', '/v1/adapters/A'],
  ['PUT', '/v1/adapters/fuzzed'],
  ['DELETE', '/v1/adapters/nope'],
  ['POST', '/v1/load_lora_adapter'],
  ['POST', '/v1/unload_lora_adapter'],
  ['GET', '/health'],
];

// Bodies that look like real requests with random holes, and bodies that are anything at all.
const message = fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'tool', 'bogus'), content: fc.oneof(fc.string(), fc.constant(null), fc.integer()) }, { requiredKeys: [] });
const chatLike = fc.record(
  {
    model: fc.oneof(fc.constantFrom('base', 'A', 'missing', ''), fc.string()),
    messages: fc.oneof(fc.array(message, { maxLength: 3 }), fc.string()),
    max_tokens: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.string()),
    temperature: fc.oneof(fc.double({ min: -3, max: 5, noNaN: true }), fc.constant(null)),
    stream: fc.boolean(),
    tools: fc.array(fc.record({ type: fc.constant('function'), function: fc.record({ name: fc.string(), parameters: fc.jsonValue() }) }), { maxLength: 2 }),
    tool_choice: fc.oneof(fc.constantFrom('auto', 'none', 'required'), fc.jsonValue()),
    response_format: fc.oneof(fc.record({ type: fc.constantFrom('json_object', 'json_schema', 'text'), json_schema: fc.record({ name: fc.string(), schema: fc.jsonValue() }) }), fc.jsonValue()),
    lora: fc.oneof(fc.array(fc.record({ name: fc.string(), scale: fc.double({ noNaN: true }) }), { maxLength: 2 }), fc.jsonValue()),
    prompt: fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 2 })),
    lora_name: fc.string(),
    lora_path: fc.string(),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  chatLike.map((value) => JSON.stringify(value)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string(),
);

t.test('random bodies on every route: never a 500, never a crash, always the envelope', async (t) => {
  let requests = 0;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...ROUTES), body, fc.constantFrom('application/json', 'text/plain', 'application/octet-stream'), async ([method, route], payload, contentType) => {
      requests++;
      const response = await server.app.inject({
        method: method as 'GET' | 'POST' | 'PUT' | 'DELETE',
        url: route,
        headers: { 'content-type': contentType },
        payload: method === 'GET' ? undefined : payload,
      });
      const text = response.body;
      if (response.statusCode >= 500 && response.statusCode !== 503) throw new Error(`${method} ${route} → ${response.statusCode}: ${text.slice(0, 300)}`);
      if (response.statusCode >= 400) {
        const parsed = JSON.parse(text);
        const error = parsed.error;
        if (typeof error?.message !== 'string' || typeof error?.type !== 'string' || !('param' in error) || !('code' in error)) {
          throw new Error(`${method} ${route} → ${response.statusCode} without the envelope: ${text.slice(0, 300)}`);
        }
      }
    }),
    { numRuns: 400, seed: 20261126 },
  );
  t.equal(requests, 400);
  const after = await server.request('POST', '/v1/chat/completions', { model: 'A', messages: [{ role: 'user', content: 'ok?' }], max_tokens: 2, temperature: 0 });
  t.equal(after.json.choices[0].message.content, ' A A', 'still serving');
});
