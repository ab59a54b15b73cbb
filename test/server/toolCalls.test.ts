import t from 'tap';
import AjvModule from 'ajv';
import type OpenAI from 'openai';
import { adaptersDirectory, ensureTestModels } from '../../scripts/generate-test-models.js';
import { loadRedactorSpec } from '../../src/redaction/redactCall/redactorSpec.js';
import { startTestServer } from '../helpers/testServer.js';

const models = ensureTestModels();
const server = await startTestServer({ model: models.behaviourModel, adapters: adaptersDirectory(t.testdir(), models, ['A']), 'context-size': 4096, 'model-id': 'base' });
t.teardown(server.close);
const { client } = server;
const ajv = new AjvModule.default({ strict: false });
const user = (content: string) => [{ role: 'user' as const, content }];

const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      properties: {
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer' },
        precise: { type: 'boolean' },
        ratio: { type: 'number' },
      },
      required: ['unit', 'days', 'precise', 'ratio'],
      additionalProperties: false,
    },
  },
};
const alarm = {
  type: 'function' as const,
  function: { name: 'set_alarm', parameters: { type: 'object', properties: { on: { type: 'boolean' } }, required: ['on'], additionalProperties: false } },
};

function validArguments(call: OpenAI.ChatCompletionMessageToolCall, tools: Array<typeof weather | typeof alarm>): boolean {
  if (call.type !== 'function') return false;
  const tool = tools.find((x) => x.function.name === call.function.name);
  return Boolean(tool) && ajv.validate(tool!.function.parameters, JSON.parse(call.function.arguments));
}

t.test('a forced named tool always returns a call whose arguments validate, over seeds and temperatures', async (t) => {
  let checked = 0;
  for (const temperature of [0, 0.7, 1.5]) {
    for (const seed of [1, 2, 3, 4, 5]) {
      const response = await client.chat.completions.create({
        model: 'base',
        messages: user('What is the weather?'),
        tools: [weather, alarm],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
        temperature,
        seed,
        max_tokens: 200,
      });
      const choice = response.choices[0];
      t.equal(choice.finish_reason, 'tool_calls');
      t.equal(choice.message.tool_calls?.length, 1);
      t.equal((choice.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.name, 'get_weather');
      t.ok(validArguments(choice.message.tool_calls![0], [weather]), `valid at T=${temperature} seed=${seed}`);
      t.equal(choice.message.content, null);
      checked++;
    }
  }
  t.equal(checked, 15);
});

t.test('required: one or more calls of the offered tools, each valid', async (t) => {
  for (const seed of [11, 12, 13, 14]) {
    const response = await client.chat.completions.create({ model: 'base', messages: user('Do something'), tools: [weather, alarm], tool_choice: 'required', temperature: 1, seed, max_tokens: 300 });
    const calls = response.choices[0].message.tool_calls ?? [];
    t.ok(calls.length >= 1, 'at least one call');
    if (response.choices[0].finish_reason === 'tool_calls') t.ok(calls.every((c) => validArguments(c, [weather, alarm])), 'every call valid');
    else t.equal(response.choices[0].finish_reason, 'length', 'only a max_tokens cut may leave a call incomplete');
  }
  const single = await client.chat.completions.create({ model: 'base', messages: user('x'), tools: [alarm], tool_choice: 'required', parallel_tool_calls: false, temperature: 0, max_tokens: 50 });
  t.equal(single.choices[0].message.tool_calls?.length, 1, 'parallel_tool_calls false: exactly one call');
});

t.test('auto: the model may answer in text, and does here', async (t) => {
  const response = await client.chat.completions.create({ model: 'A', messages: user('Hi'), tools: [weather], tool_choice: 'auto', temperature: 0, max_tokens: 3 });
  t.equal(response.choices[0].message.content, ' A A A');
  t.notOk(response.choices[0].message.tool_calls);
  t.equal(response.choices[0].finish_reason, 'length');
});

t.test('streamed tool-call deltas reassemble to the non-streamed call', async (t) => {
  const request = { model: 'base', messages: user('Weather?'), tools: [weather, alarm], tool_choice: 'required' as const, parallel_tool_calls: false, temperature: 1, seed: 42, max_tokens: 200 };
  const whole = await client.chat.completions.create(request);
  const stream = await client.chat.completions.create({ ...request, stream: true });
  const rebuilt: Array<{ id: string; name: string; arguments: string }> = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
      rebuilt[delta.index] ??= { id: '', name: '', arguments: '' };
      rebuilt[delta.index].id += delta.id ?? '';
      rebuilt[delta.index].name += delta.function?.name ?? '';
      rebuilt[delta.index].arguments += delta.function?.arguments ?? '';
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  const expected = whole.choices[0].message.tool_calls!.map((c) => (c as OpenAI.ChatCompletionMessageFunctionToolCall).function);
  t.same(rebuilt.map(({ name, arguments: args }) => ({ name, arguments: args })), expected);
  t.ok(rebuilt.every((call) => call.id.startsWith('call_')), 'each call carries an id');
  t.equal(finish, 'tool_calls');
});

t.test('a multi-turn conversation with a tool result renders and continues', async (t) => {
  const first = await client.chat.completions.create({ model: 'base', messages: user('Weather?'), tools: [weather], tool_choice: 'required', temperature: 0, max_tokens: 200 });
  const call = first.choices[0].message.tool_calls![0];
  const next = await client.chat.completions.create({
    model: 'A',
    messages: [
      ...user('Weather?'),
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21}' },
    ],
    tools: [weather],
    temperature: 0,
    max_tokens: 3,
  });
  t.equal(next.choices[0].message.content, ' A A A');
  t.ok(next.usage!.prompt_tokens > first.usage!.prompt_tokens, 'the history is in the prompt');
});

t.test('response_format json_object and json_schema validate; unsupported keywords are 400s naming them', async (t) => {
  const schemas: Record<string, object> = {
    nested: { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'boolean' } }, required: ['b'], additionalProperties: false } }, required: ['a'], additionalProperties: false },
    arrayOfObjects: { type: 'object', properties: { items: { type: 'array', maxItems: 3, items: { type: 'object', properties: { k: { enum: ['x', 'y'] } }, required: ['k'], additionalProperties: false } } }, required: ['items'], additionalProperties: false },
    anyOfNullable: { type: 'object', properties: { v: { anyOf: [{ type: 'boolean' }, { type: 'null' }] }, w: { type: ['integer', 'null'] } }, required: ['v', 'w'], additionalProperties: false },
    defsAndRef: { type: 'object', $defs: { flag: { type: 'boolean' } }, properties: { f: { $ref: '#/$defs/flag' } }, required: ['f'], additionalProperties: false },
  };
  for (const [name, schema] of Object.entries(schemas)) {
    for (const seed of [1, 2, 3]) {
      const response = await client.chat.completions.create({
        model: 'base',
        messages: user('json please'),
        response_format: { type: 'json_schema', json_schema: { name, schema: schema as Record<string, unknown>, strict: true } },
        temperature: 1,
        seed,
        max_tokens: 300,
      });
      if (response.choices[0].finish_reason !== 'stop') {
        t.equal(response.choices[0].finish_reason, 'length', `${name}: cut only by max_tokens`);
        continue;
      }
      t.ok(ajv.validate(schema, JSON.parse(response.choices[0].message.content!)), `${name} seed ${seed} validates`);
    }
  }
  const object = await client.chat.completions.create({ model: 'base', messages: user('json'), response_format: { type: 'json_object' }, temperature: 0, max_tokens: 300 });
  if (object.choices[0].finish_reason === 'stop') t.type(JSON.parse(object.choices[0].message.content!), 'object');
  const rejected = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'base', messages: user('x'), response_format: { type: 'json_schema', json_schema: { name: 'z', schema: { type: 'object', properties: { zip: { type: 'string', pattern: '^[0-9]{5}$' } } } } } }),
  });
  t.equal(rejected.status, 400);
  t.match(await rejected.json(), { error: { param: 'response_format', message: /pattern.*\/properties\/zip/ } });
});

t.test('the redact tool compiles, and a forced call cut off by max_tokens is partial with finish_reason length', async (t) => {
  const spec = loadRedactorSpec();
  const response = await client.chat.completions.create({
    model: 'base',
    messages: [{ role: 'system', content: spec.systemPrompt }, ...user('Contact Jane Doe at jane@example.com')],
    tools: [spec.tool as OpenAI.ChatCompletionTool],
    tool_choice: { type: 'function', function: { name: 'redact' } },
    temperature: 0,
    max_tokens: 40,
  });
  const choice = response.choices[0];
  t.equal(choice.finish_reason, 'length', 'never presented as complete');
  const call = choice.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
  t.equal(call.function.name, 'redact');
  t.throws(() => JSON.parse(call.function.arguments), 'the partial arguments are not complete JSON');
  t.match(call.function.arguments, /^\{"fields_to_redact": \[/, 'they are the valid beginning of the call');
});

t.test('bad tool requests are 400s', async (t) => {
  for (const [what, body, param] of [
    ['tool_choice without tools', { tool_choice: 'required' }, 'tool_choice'],
    ['a named tool that is not offered', { tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'tool_choice'],
    ['a tool schema with an unsupported keyword', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', pattern: 'x' } } } } }], tool_choice: 'required' }, 'tools'],
    ['a bad function name', { tools: [{ type: 'function', function: { name: 'has space' } }] }, 'tools[0].function.name'],
  ] as const) {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'base', messages: user('x'), ...body }),
    });
    t.equal(response.status, 400, what);
    t.match(await response.json(), { error: { param } }, `${what}: param`);
  }
});
