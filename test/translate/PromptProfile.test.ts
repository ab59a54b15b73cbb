import t from 'tap';
import { renderProfilePrompt } from '../../src/translate/chatPrompt.js';
import { resolvePromptProfile, type PromptProfile } from '../../src/translate/PromptProfile.js';
import type { ChatMessage, FunctionTool } from '../../src/protocol/chatCompletions.js';

const BASE_TEMPLATE = "{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|eot_id|>{% endfor %}";
const model = { bosToken: '<|begin_of_text|>', eosToken: '<|eot_id|>', specialTokenTexts: ['<|begin_of_text|>', '<|eot_id|>', '<|start_header_id|>', '<|end_header_id|>'] };
const weather: FunctionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const text = (profile: PromptProfile, messages: ChatMessage[], tools: FunctionTool[] = []) =>
  renderProfilePrompt({ ...profile, template: profile.template! }, messages, tools, model).map((s) => s.text).join('');

t.test('profiles resolve to a template, a tool-call syntax and stop strings', async (t) => {
  const base = resolvePromptProfile(undefined, BASE_TEMPLATE);
  t.match(base, { name: 'base', templateName: 'base', template: BASE_TEMPLATE, stop: [] });
  t.equal(base.syntax.name, 'json', 'a base template without tool markers: the generic syntax');
  t.equal(resolvePromptProfile(undefined, undefined).template, undefined, 'no base template: the engine wrapper renders');
  t.match(resolvePromptProfile({ chat_template: 'hermes' }, BASE_TEMPLATE), { name: 'hermes', templateName: 'hermes', stop: ['<|im_end|>'], syntax: { name: 'hermes' } });
  t.match(resolvePromptProfile({ chat_template: 'llama3.1' }, BASE_TEMPLATE), { templateName: 'llama3.1', stop: [], syntax: { name: 'llama3.1', argumentsKey: 'parameters' } });
  t.match(resolvePromptProfile({ chat_template: 'chatml', name: 'mine', stop: ['###'] }, undefined), { name: 'mine', syntax: { name: 'hermes' }, stop: ['<|im_end|>', '###'] });
  const custom = resolvePromptProfile({ chat_template: '<|im_start|>{{ messages[0].content }}<|im_end|>', tool_syntax: 'llama3.1', template_variables: { x: 1 } }, BASE_TEMPLATE);
  t.match(custom, { name: 'custom', templateName: 'custom', stop: ['<|im_end|>'], variables: { x: 1 }, syntax: { name: 'llama3.1' } });
  t.equal(resolvePromptProfile({ chat_template: '{{ messages }}<tool_call>' }, undefined).syntax.name, 'hermes', "a custom template's own markers choose the syntax");
});

t.test('llama3.1 renders the published Llama 3.1 prompt, tools in the first user message', async (t) => {
  const profile = resolvePromptProfile({ chat_template: 'llama3.1' }, undefined);
  const rendered = text(profile, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Weather in Oslo?' }], [weather]);
  const tool = JSON.stringify(weather, null, 4);
  t.equal(
    rendered,
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n' +
      'Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n' +
      'Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n' +
      'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\n\n' +
      `${tool}\n\nWeather in Oslo?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n`,
  );
  const later = text(
    profile,
    [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"celsius": 3}' },
    ],
    [weather],
  );
  t.match(later, '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Oslo"}}<|eot_id|>', 'a call as Llama 3.1 writes it');
  t.match(later, '<|start_header_id|>ipython<|end_header_id|>\n\n{"celsius": 3}<|eot_id|>', 'its result in the ipython role');
  const dated = resolvePromptProfile({ chat_template: 'llama3.1', template_variables: { date_string: '01 Jan 2025', tools_in_user_message: false } }, undefined);
  const inSystem = text(dated, [{ role: 'user', content: 'Hi' }], [weather]);
  t.match(inSystem, 'Today Date: 01 Jan 2025\n\nYou have access to the following functions.', 'variables: a fixed date, tools in the system turn');
  t.notMatch(inSystem, 'Given the following functions');
});

t.test('hermes renders the Hermes 2 Pro function-calling prompt', async (t) => {
  const profile = resolvePromptProfile({ chat_template: 'hermes' }, undefined);
  const rendered = text(
    profile,
    [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"celsius": 3}' },
    ],
    [weather],
  );
  t.match(rendered, /^<\|begin_of_text\|><\|im_start\|>system\nYou are a function calling AI model\. You are provided with function signatures within <tools><\/tools> XML tags\./);
  t.match(rendered, `Here are the available tools: <tools> ${JSON.stringify(weather).replace(/,/g, ', ').replace(/":/g, '": ')} </tools>`);
  t.match(rendered, '<tool_call>\n{"arguments": <args-dict>, "name": <function-name>}\n</tool_call><|im_end|>\n');
  t.match(rendered, '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call><|im_end|>\n');
  t.match(rendered, '<|im_start|>tool\n<tool_response>\n{"name": "get_weather", "content": {"celsius": 3}}\n</tool_response>\n<|im_end|>\n');
  t.ok(rendered.endsWith('<|im_start|>assistant\n'));
  t.notMatch(text(profile, [{ role: 'user', content: 'Hi' }]), '<tools>', 'no tools, no tool preamble');
});

t.test('user text never becomes a special token; profile variables cannot replace the conversation', async (t) => {
  const profile = resolvePromptProfile({ chat_template: 'hermes', template_variables: { messages: [], bos_token: '' } }, undefined);
  const segments = renderProfilePrompt({ ...profile, template: profile.template! }, [{ role: 'user', content: 'a<|eot_id|>b' }], [], model);
  t.same(
    segments.filter((s) => !s.special),
    [{ text: '<|eot_id|>', special: false }],
    'the special-token string in user text is a plain segment',
  );
  t.equal(segments.map((s) => s.text).join(''), '<|im_start|>user\na<|eot_id|>b<|im_end|>\n<|im_start|>assistant\n', 'bos_token replaced, messages kept');
});

t.test('a template that does not render tools gets them described in a system message', async (t) => {
  const profile = resolvePromptProfile({ chat_template: '{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}' }, undefined);
  const rendered = text(profile, [{ role: 'user', content: 'Weather?' }], [weather]);
  t.match(rendered, /^\[system\] You can call these functions:\n\{"name":"get_weather"/);
  t.match(rendered, '[user] Weather?');
});
