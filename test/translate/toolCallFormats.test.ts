import t from 'tap';
import fc from 'fast-check';
import { ChatOutputShaper } from '../../src/translate/ChatOutputShaper.js';
import { parseToolCalls, ToolCallParseError } from '../../src/translate/parseToolCalls.js';
import { TOOL_CALL_SYNTAXES, toolCallGrammar, type ToolCallSyntax } from '../../src/translate/toolCallSyntax.js';

const { hermes, json } = TOOL_CALL_SYNTAXES;
const llama = TOOL_CALL_SYNTAXES['llama3.1'];

/** Runs text through the auto-mode shaper in pieces, as a stream would, and returns what the client sees. */
function shapeAuto(syntax: ToolCallSyntax, text: string, pieceSize: number) {
  const shaper = new ChatOutputShaper({ kind: 'auto', syntax });
  const deltas = [];
  for (let i = 0; i < text.length; i += pieceSize) deltas.push(...shaper.push(text.slice(i, i + pieceSize)));
  const result = shaper.finish('stop');
  deltas.push(...result.deltas);
  const streamedContent = deltas.map((d) => d.content ?? '').join('');
  const streamedCalls = deltas.flatMap((d) => d.tool_calls ?? []).map((c) => c.function);
  return { result, streamedContent, streamedCalls };
}

const call = (name: string, args: unknown) => ({ name, arguments: JSON.stringify(args) });

// Outputs written out the way each format's models write them.
const outputs: Array<{ format: string; syntax: ToolCallSyntax; text: string; content: string | null; calls: Array<{ name: string; arguments: string }> }> = [
  { format: 'hermes: a call', syntax: hermes, text: '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>', content: null, calls: [call('get_weather', { city: 'Paris' })] },
  {
    format: 'hermes: two calls',
    syntax: hermes,
    text: '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
    content: null,
    calls: [call('get_weather', { city: 'Paris' }), call('get_time', {})],
  },
  {
    format: 'hermes: text then a call',
    syntax: hermes,
    text: 'Let me look that up.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>',
    content: 'Let me look that up.',
    calls: [call('get_weather', { city: 'Oslo' })],
  },
  {
    format: 'hermes: arguments before name, as its system prompt shows',
    syntax: hermes,
    text: '<tool_call>\n{"arguments": {"city": "Rome"}, "name": "get_weather"}\n</tool_call>',
    content: null,
    calls: [call('get_weather', { city: 'Rome' })],
  },
  {
    format: 'hermes: single-quoted dict from a Python-made training set',
    syntax: hermes,
    text: "<tool_call>\n{'arguments': {'city': 'Nice', 'metric': True, 'note': None}, 'name': 'get_weather'}\n</tool_call>",
    content: null,
    calls: [call('get_weather', { city: 'Nice', metric: true, note: null })],
  },
  { format: 'llama3.1: a call', syntax: llama, text: '{"name": "get_weather", "parameters": {"city": "Paris"}}', content: null, calls: [call('get_weather', { city: 'Paris' })] },
  {
    format: 'llama3.1: a call after <|python_tag|>',
    syntax: llama,
    text: '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Lima"}}',
    content: null,
    calls: [call('get_weather', { city: 'Lima' })],
  },
  {
    format: 'llama3.1: two calls',
    syntax: llama,
    text: '{"name": "get_weather", "parameters": {"city": "Paris"}}\n{"name": "get_time", "parameters": {"zone": "CET"}}',
    content: null,
    calls: [call('get_weather', { city: 'Paris' }), call('get_time', { zone: 'CET' })],
  },
  {
    format: 'llama3.1: text then a call on its own line',
    syntax: llama,
    text: 'I will check the weather.\n{"name": "get_weather", "parameters": {"city": "Kyiv"}}',
    content: 'I will check the weather.',
    calls: [call('get_weather', { city: 'Kyiv' })],
  },
  {
    format: 'llama3.1: parameters before name, single quotes',
    syntax: llama,
    text: "{'parameters': {'city': 'Bern'}, 'name': 'get_weather'}",
    content: null,
    calls: [call('get_weather', { city: 'Bern' })],
  },
  {
    format: 'json: text then a call',
    syntax: json,
    text: 'Sure.\n{"name": "get_time", "arguments": {"zone": "UTC"}}',
    content: 'Sure.',
    calls: [call('get_time', { zone: 'UTC' })],
  },
];

t.test('auto: written-out outputs of each format become OpenAI tool_calls, streamed and not', async (t) => {
  for (const output of outputs) {
    t.same(parseToolCalls(output.text, output.syntax), { content: output.content, calls: output.calls }, `${output.format}: parsed`);
    for (const pieceSize of [1, 4, output.text.length]) {
      const { result, streamedContent, streamedCalls } = shapeAuto(output.syntax, output.text, pieceSize);
      t.equal(result.finishReason, 'tool_calls', `${output.format}: finish_reason`);
      t.same(result.message.tool_calls?.map((c) => c.function), output.calls, `${output.format}: message`);
      t.equal(result.message.content, output.content, `${output.format}: content`);
      t.same(streamedCalls, output.calls, `${output.format} in pieces of ${pieceSize}: streamed calls`);
      // Text before the call streams as content; the call itself never leaks into content.
      t.equal(streamedContent.trim(), output.content ?? '', `${output.format} in pieces of ${pieceSize}: streamed content`);
    }
  }
});

t.test('auto: malformed calls are parse errors, and the client gets the text rather than a broken call', async (t) => {
  const malformed: Array<[string, ToolCallSyntax, string]> = [
    ['hermes: unterminated object', hermes, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par'],
    ['hermes: no name', hermes, '<tool_call>\n{"arguments": {}}\n</tool_call>'],
    ['hermes: arguments not an object', hermes, '<tool_call>{"name": "f", "arguments": [1, 2]}</tool_call>'],
    ['llama3.1: unbalanced', llama, '{"name": "get_weather", "parameters": {"city": "Paris"}'],
    ['llama3.1: text between calls', llama, '{"name": "f", "parameters": {}} then {"name": "g", "parameters": {}}'],
    ['llama3.1: text then a broken call', llama, 'Checking.\n{"name": "f", "parameters": {"a": }}'],
  ];
  for (const [what, syntax, text] of malformed) {
    t.throws(() => parseToolCalls(text, syntax), ToolCallParseError, `${what}: parse error`);
    const { result, streamedContent } = shapeAuto(syntax, text, 3);
    t.equal(result.finishReason, 'stop', `${what}: not presented as a call`);
    t.equal(result.message.content, text, `${what}: the text is returned as written`);
    t.notOk(result.message.tool_calls, `${what}: no tool_calls`);
    t.equal(streamedContent, text, `${what}: streamed in full`);
  }
});

t.test('auto: plain answers stream through at once in every format', async (t) => {
  for (const syntax of [hermes, llama, json]) {
    const shaper = new ChatOutputShaper({ kind: 'auto', syntax });
    t.same(shaper.push('The weather'), [{ content: 'The weather' }], `${syntax.name}: first piece`);
    t.same(shaper.push(' is fine.'), [{ content: ' is fine.' }], `${syntax.name}: next piece`);
    t.equal(shaper.finish('stop').finishReason, 'stop');
    t.equal(parseToolCalls('The weather is {"mild": true} today', syntax), undefined, `${syntax.name}: JSON inside a sentence is not a call`);
  }
});

t.test('the forcing grammar of a wrapped syntax contains the wrapper and only the allowed function', async (t) => {
  const tools = [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } }];
  const grammar = toolCallGrammar(tools, hermes, false);
  t.match(grammar, /"<tool_call>\\n\{\\"name\\": \\"get_weather\\", \\"arguments\\": "/);
  t.match(grammar, /"}\\n<\/tool_call>"/);
  t.notMatch(grammar, /get_time/);
  t.match(toolCallGrammar(tools, llama, false), /"\{\\"name\\": \\"get_weather\\", \\"parameters\\": "/);
});

/** Random text near the syntax of calls: brackets, quotes, keys, markers, Python literals. */
const nearCallText = fc
  .array(
    fc.oneof(
      fc.constantFrom('{', '}', '[', ']', '"', "'", ':', ',', ' ', '\n', '\\', 'name', 'arguments', 'parameters', 'f', '1', 'True', 'None'),
      fc.constantFrom('<tool_call>', '</tool_call>', '<|python_tag|>', '{"name": "f", "arguments": ', '{"name": "f", "parameters": '),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 40 },
  )
  .map((pieces) => pieces.join(''));

t.test('property: the parser returns calls with JSON-object arguments, undefined, or a ToolCallParseError; nothing else', async (t) => {
  fc.assert(
    fc.property(nearCallText, fc.constantFrom(hermes, llama, json), (text, syntax) => {
      let parsed;
      try {
        parsed = parseToolCalls(text, syntax);
      } catch (error) {
        if (error instanceof ToolCallParseError) return true;
        throw error;
      }
      for (const found of parsed?.calls ?? []) {
        const args = JSON.parse(found.arguments);
        if (typeof found.name !== 'string' || found.name === '' || typeof args !== 'object' || args === null || Array.isArray(args)) return false;
      }
      return true;
    }),
    { numRuns: 3000, seed: 42 },
  );
  t.pass('3000 runs');
});

t.test('property: any valid calls, in any format, with text before them, parse back to what was written', async (t) => {
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,20}$/);
  const args = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
  const lead = fc.constantFrom('', 'Sure, one moment.', 'Let me check that for you:');
  fc.assert(
    fc.property(fc.constantFrom(hermes, llama), fc.array(fc.tuple(name, args), { minLength: 1, maxLength: 3 }), lead, (syntax, calls, before) => {
      const written = calls.map(([callName, callArgs]) => `${syntax.open}${JSON.stringify({ name: callName, [syntax.argumentsKey]: callArgs })}${syntax.close}`);
      const text = `${before}${before ? '\n' : ''}${written.join(syntax.separator)}`;
      const parsed = parseToolCalls(text, syntax);
      const expected = calls.map(([callName, callArgs]) => ({ name: callName, arguments: JSON.stringify(JSON.parse(JSON.stringify(callArgs))) }));
      return JSON.stringify(parsed) === JSON.stringify({ content: before || null, calls: expected });
    }),
    { numRuns: 1000, seed: 7 },
  );
  t.pass('1000 runs');
});
