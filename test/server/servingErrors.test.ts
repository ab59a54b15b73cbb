import t from 'tap';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { buildTestApp } from '../helpers/testApp.js';

// What the serving layer refuses is typed there and given its status, param and code once, in server/errors.ts.
const models = ensureTestModels();
const dir = t.testdir();
const server = await buildTestApp({ model: models.behaviourModel, adapters: adaptersDirectory(dir, models, ['A']), 'model-id': 'base', 'context-size': 512, 'max-tokens': 64, 'max-messages': 3, 'vault-path': `${dir}/vault.sqlite` });
t.teardown(server.close);

const hi = [{ role: 'user', content: 'hi' }];
const chat = (body: Record<string, unknown>) => server.request('POST', '/v1/chat/completions', { model: 'base', messages: hi, max_tokens: 2, ...body });

t.test('each serving error arrives as its status, param and code in the OpenAI envelope', async (t) => {
  const cases: Array<[what: string, answer: ReturnType<typeof chat>, status: number, param: string | null, code: string]> = [
    ['too many messages', chat({ messages: [...hi, ...hi, ...hi, ...hi] }), 400, 'messages', 'too_many_messages'],
    ['max_tokens over the cap', chat({ max_tokens: 65 }), 400, 'max_tokens', 'max_tokens_too_large'],
    ['tool_choice without tools', chat({ tool_choice: 'required' }), 400, 'tool_choice', 'invalid_value'],
    ['an adapter twice in lora', chat({ lora: [{ name: 'A', scale: 1 }, { name: 'A', scale: 0.5 }] }), 400, 'lora', 'duplicate_adapter'],
    ['an unknown peft', chat({ peft: 'nope' }), 404, 'peft', 'model_not_found'],
    ['an unknown profile', chat({ profile: 'nope' }), 400, 'profile', 'unknown_profile'],
    ['an empty prompt', server.request('POST', '/v1/completions', { model: 'base', prompt: '', max_tokens: 2 }), 400, 'prompt', 'empty_prompt'],
    ['an unknown label', server.request('POST', '/v1/redact', { text: 'x', detectors: 'rules', labels: ['NOT_A_LABEL'] }), 400, 'labels', 'unknown_label'],
  ];
  for (const [what, answer, status, param, code] of cases) {
    const { status: got, json } = await answer;
    t.equal(got, status, `${what}: status`);
    t.match(json, { error: { param, code, type: status === 404 ? 'not_found_error' : 'invalid_request_error', message: String } }, `${what}: envelope`);
  }
});

t.test('an unknown adapter on the adapter routes is a 404 about its name', async (t) => {
  const answers: Array<[what: string, answer: ReturnType<typeof chat>]> = [
    ['GET /v1/adapters/:name', server.request('GET', '/v1/adapters/nope')],
    ['DELETE /v1/adapters/:name', server.request('DELETE', '/v1/adapters/nope')],
    ['POST /v1/unload_lora_adapter', server.request('POST', '/v1/unload_lora_adapter', { lora_name: 'nope' })],
    ['GET /v1/adapters/:name/profile', server.request('GET', '/v1/adapters/nope/profile')],
    ['PUT /v1/adapters/:name/profile', server.request('PUT', '/v1/adapters/nope/profile', { chat_template: 'hermes' })],
    ['DELETE /v1/adapters/:name/profile', server.request('DELETE', '/v1/adapters/nope/profile')],
  ];
  for (const [what, answer] of answers) {
    const { status, json } = await answer;
    t.equal(status, 404, `${what}: status`);
    t.same(json, { error: { message: 'adapter "nope" does not exist', type: 'not_found_error', param: 'name', code: 'adapter_not_found' } }, `${what}: envelope`);
  }
});
