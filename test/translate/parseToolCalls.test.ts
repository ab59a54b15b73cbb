import t from 'tap';
import { parseToolCalls, ToolCallParseError } from '../../src/translate/parseToolCalls.js';
import { TOOL_CALL_SYNTAXES } from '../../src/translate/toolCallSyntax.js';
import { ChatOutputShaper } from '../../src/translate/ChatOutputShaper.js';

const { json, hermes } = TOOL_CALL_SYNTAXES;
const llama = TOOL_CALL_SYNTAXES['llama3.1'];

t.test('written-out model outputs of each syntax', async (t) => {
  const cases: Array<[string, typeof json, string, unknown]> = [
    ['json: one call', json, '{"name": "f", "arguments": {"a": 1}}', { content: null, calls: [{ name: 'f', arguments: '{"a":1}' }] }],
    ['json: two calls', json, '{"name": "f", "arguments": {}}\n{"name": "g", "arguments": {"b": [1]}}', { content: null, calls: [{ name: 'f', arguments: '{}' }, { name: 'g', arguments: '{"b":[1]}' }] }],
    ['json: plain text', json, 'Hello there', undefined],
    ['llama3.1: parameters key and python tag', llama, '<|python_tag|>{"name": "f", "parameters": {"x": "y"}}', { content: null, calls: [{ name: 'f', arguments: '{"x":"y"}' }] }],
    ['llama3.1: arguments before name', llama, '{"parameters": {"x": 1}, "name": "f"}', { content: null, calls: [{ name: 'f', arguments: '{"x":1}' }] }],
    ['hermes: text then a call', hermes, 'Let me check.\n<tool_call>\n{"name": "f", "arguments": {"q": "a"}}\n</tool_call>', { content: 'Let me check.', calls: [{ name: 'f', arguments: '{"q":"a"}' }] }],
    ['hermes: two calls', hermes, '<tool_call>{"name": "f", "arguments": {}}</tool_call>\n<tool_call>{"name": "g", "arguments": {}}</tool_call>', { content: null, calls: [{ name: 'f', arguments: '{}' }, { name: 'g', arguments: '{}' }] }],
    ['hermes: single-quoted dict', hermes, "<tool_call>{'name': 'f', 'arguments': {'ok': True, 'n': None, 's': 'it\\'s'}}</tool_call>", { content: null, calls: [{ name: 'f', arguments: '{"ok":true,"n":null,"s":"it\'s"}' }] }],
    ['json: arguments as a JSON string', json, '{"name": "f", "arguments": "{\\"a\\": 2}"}', { content: null, calls: [{ name: 'f', arguments: '{"a":2}' }] }],
  ];
  for (const [name, syntax, text, expected] of cases) t.same(parseToolCalls(text, syntax), expected, name);
});

t.test('malformed calls are errors, not silently text', async (t) => {
  for (const [name, syntax, text] of [
    ['unclosed object', json, '{"name": "f", "arguments": {"a": 1}'],
    ['no name', json, '{"arguments": {}}'],
    ['arguments not an object', hermes, '<tool_call>{"name": "f", "arguments": [1]}</tool_call>'],
    ['garbage between calls', json, '{"name": "f", "arguments": {}} and {"name": "g", "arguments": {}}'],
  ] as const) {
    t.throws(() => parseToolCalls(text, syntax), ToolCallParseError, name);
  }
});

t.test('the parser survives random input: it returns or throws ToolCallParseError, nothing else', async (t) => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const alphabet = ['{', '}', '[', ']', '"', "'", ':', ',', ' ', '\\', 'name', 'arguments', 'f', '1', 'True', '<tool_call>', '</tool_call>', '\n'];
  let failures = 0;
  for (let i = 0; i < 3000; i++) {
    const text = Array.from({ length: Math.floor(random() * 30) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (const syntax of [json, hermes]) {
      try {
        const parsed = parseToolCalls(text, syntax);
        if (parsed) for (const call of parsed.calls) JSON.parse(call.arguments);
      } catch (error) {
        if (!(error instanceof ToolCallParseError)) failures++;
      }
    }
  }
  t.equal(failures, 0);
});

t.test('forced output streams as deltas that reassemble to the final call', async (t) => {
  const text = '{"name": "f", "arguments": {"a": [1, {"b": "}"}]}}\n{"name": "g", "arguments": {}}';
  for (const pieceSize of [1, 3, 7, text.length]) {
    const shaper = new ChatOutputShaper({ kind: 'forced', syntax: json });
    const deltas = [];
    for (let i = 0; i < text.length; i += pieceSize) deltas.push(...shaper.push(text.slice(i, i + pieceSize)));
    const result = shaper.finish('stop');
    deltas.push(...result.deltas);
    const rebuilt: Array<{ name: string; arguments: string }> = [];
    for (const delta of deltas) {
      for (const call of delta.tool_calls ?? []) {
        rebuilt[call.index] ??= { name: '', arguments: '' };
        rebuilt[call.index].name += call.function.name ?? '';
        rebuilt[call.index].arguments += call.function.arguments ?? '';
      }
    }
    t.same(rebuilt, result.message.tool_calls!.map((c) => c.function), `pieces of ${pieceSize}`);
    t.same(result.message.tool_calls!.map((c) => c.function), [{ name: 'f', arguments: '{"a": [1, {"b": "}"}]}' }, { name: 'g', arguments: '{}' }]);
    t.equal(result.finishReason, 'tool_calls');
  }
});

t.test('a forced call cut off by max_tokens is partial and says length', async (t) => {
  const shaper = new ChatOutputShaper({ kind: 'forced', syntax: json });
  shaper.push('{"name": "redact", "arguments": {"fields_to_redact": [{"string": "W W W');
  const result = shaper.finish('length');
  t.equal(result.finishReason, 'length');
  t.same(result.message.tool_calls!.map((c) => c.function), [{ name: 'redact', arguments: '{"fields_to_redact": [{"string": "W W W' }]);
});

t.test('auto mode: text streams through, a call is held back and parsed', async (t) => {
  const text = new ChatOutputShaper({ kind: 'auto', syntax: json });
  t.same(text.push('Hello'), [{ content: 'Hello' }]);
  t.same(text.finish('stop').finishReason, 'stop');
  const call = new ChatOutputShaper({ kind: 'auto', syntax: json });
  t.same(call.push('{"na'), []);
  t.same(call.push('me": "f", "arguments": {}}'), []);
  const result = call.finish('stop');
  t.equal(result.finishReason, 'tool_calls');
  t.equal(result.message.tool_calls![0].function.name, 'f');
  const hermesText = new ChatOutputShaper({ kind: 'auto', syntax: hermes });
  t.same(hermesText.push('Sure. <tool'), [{ content: 'Sure. ' }]);
  hermesText.push('_call>{"name": "f", "arguments": {}}</tool_call>');
  const finished = hermesText.finish('stop');
  t.equal(finished.message.content, 'Sure.');
  t.match(finished.message.tool_calls, [{ id: /^call_/, type: 'function', function: { name: 'f', arguments: '{}' } }]);
});
