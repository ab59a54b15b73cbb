import t from 'tap';
import AjvModule from 'ajv';
import type OpenAI from 'openai';
import { alarmTool, startProfileServer, USER_TEMPLATE, userMessage, weatherTool } from '../helpers/profileFixtures.js';

/**
 * Forced tool calls under each profile on the behaviour model: the grammar writes the profile's own wrapper and
 * only the allowed function, and the shaper turns it into OpenAI tool_calls, streamed and not. (The base
 * template's generic JSON syntax is covered by toolCalls.test.ts.)
 */

const { server } = await startProfileServer(t.testdir(), {
  A: { chat_template: 'hermes' },
  B: { chat_template: 'llama3.1' },
  C: { chat_template: 'chatml' },
  E: { name: 'team-format', chat_template: USER_TEMPLATE, tool_syntax: 'hermes' },
});
t.teardown(server.close);
const { client } = server;
const ajv = new AjvModule.default({ strict: false });
const tools = [weatherTool, alarmTool];
const user = userMessage;

function valid(call: { function: { name: string; arguments: string } }, allowed: string[]): boolean {
  const tool = tools.find((x) => x.function.name === call.function.name);
  return allowed.includes(call.function.name) && Boolean(tool) && ajv.validate(tool!.function.parameters, JSON.parse(call.function.arguments));
}

/** The tool calls of a streamed response, reassembled from their deltas. */
async function streamedCalls(request: OpenAI.ChatCompletionCreateParamsNonStreaming) {
  const stream = await client.chat.completions.create({ ...request, stream: true });
  const calls: Array<{ id: string; function: { name: string; arguments: string } }> = [];
  let finish: string | null = null;
  for await (const chunk of stream) {
    for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
      calls[delta.index] ??= { id: '', function: { name: '', arguments: '' } };
      calls[delta.index].id += delta.id ?? '';
      calls[delta.index].function.name += delta.function?.name ?? '';
      calls[delta.index].function.arguments += delta.function?.arguments ?? '';
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  return { calls, finish };
}

const byProfile: Array<[string, string]> = [
  ['hermes', 'A'],
  ['llama3.1', 'B'],
  ['chatml', 'C'],
  ['user-supplied', 'E'],
];

for (const [profile, model] of byProfile) {
  t.test(`${profile}: forced named and required calls are valid OpenAI tool_calls, streamed and not`, async (t) => {
    const named = { model, messages: user('Weather in Oslo?'), tools, tool_choice: { type: 'function' as const, function: { name: 'get_weather' } }, temperature: 1, seed: 3, max_tokens: 120 };
    const required = { model, messages: user('Do something'), tools, tool_choice: 'required' as const, parallel_tool_calls: false, temperature: 1, seed: 5, max_tokens: 120 };
    for (const [kind, request, allowed] of [
      ['named', named, ['get_weather']],
      ['required', required, ['get_weather', 'set_alarm']],
    ] as const) {
      const whole = await client.chat.completions.create(request);
      const choice = whole.choices[0];
      t.equal(choice.finish_reason, 'tool_calls', `${kind}: finish_reason`);
      t.equal(choice.message.content, null, `${kind}: no content`);
      t.equal(choice.message.tool_calls?.length, 1, `${kind}: one call`);
      const call = choice.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
      t.match(call, { id: /^call_/, type: 'function' });
      t.ok(valid(call, [...allowed]), `${kind}: ${call.function.name}(${call.function.arguments}) is an allowed tool with valid arguments`);
      const streamed = await streamedCalls(request);
      t.equal(streamed.finish, 'tool_calls', `${kind} streamed: finish_reason`);
      t.same(streamed.calls.map((c) => c.function), [call.function], `${kind} streamed: the same call`);
    }
  });
}
