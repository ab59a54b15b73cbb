import { chatmlCallTurn, chatmlPlainTurnAndPrompt } from './chatmlTurns.js';

/**
 * adaptd's built-in `hermes` template: NousResearch's Hermes 2 Pro function-calling format on ChatML turns, as
 * its model card publishes it. Written for adaptd, not copied.
 *
 * - With tools, a first system turn holds the function-calling preamble, the tools (each the
 *   `{"type": "function", "function": …}` object) between `<tools> ` and ` </tools>`, and the call format.
 * - An assistant call is `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>`, several separated by "\n".
 * - A result comes back in a `tool` turn as `<tool_response>\n{"name": …, "content": …}\n</tool_response>`;
 *   content that is JSON is inserted as is, other text as a JSON string.
 */
export const hermesChatTemplate = [
  "{{- bos_token -}}",
  "{%- if tools is defined and tools is not none and tools | length > 0 -%}",
  "{{- '<|im_start|>system\\nYou are a function calling AI model. You are provided with function signatures within <tools></tools> XML tags. You may call one or more functions to assist with the user query. Don\\'t make assumptions about what values to plug into functions. Here are the available tools: <tools> ' -}}",
  "{%- for tool in tools -%}{%- if not loop.first -%}{{- ' ' -}}{%- endif -%}{{- tool | tojson -}}{%- endfor -%}",
  `{{- ' </tools> Use the following pydantic model json schema for each tool call you will make: {"properties": {"arguments": {"title": "Arguments", "type": "object"}, "name": {"title": "Name", "type": "string"}}, "required": ["arguments", "name"], "title": "FunctionCall", "type": "object"} For each function call return a json object with function name and arguments within <tool_call></tool_call> XML tags as follows:\\n<tool_call>\\n{"arguments": <args-dict>, "name": <function-name>}\\n</tool_call><|im_end|>\\n' -}}`,
  "{%- endif -%}",
  "{%- for message in messages -%}",
  "{%- if message.role == 'assistant' and message.tool_calls is defined and message.tool_calls -%}",
  ...chatmlCallTurn,
  "{%- elif message.role == 'tool' -%}",
  "{%- set called = namespace(name='') -%}",
  "{%- for earlier in messages -%}{%- if earlier.tool_calls is defined and earlier.tool_calls -%}{%- for call in earlier.tool_calls -%}",
  "{%- if call.id == message.tool_call_id -%}{%- set called.name = call.function.name -%}{%- endif -%}",
  "{%- endfor -%}{%- endif -%}{%- endfor -%}",
  "{%- set result = message.content | trim -%}",
  `{{- '<|im_start|>tool\\n<tool_response>\\n{"name": ' -}}{{- called.name | tojson -}}{{- ', "content": ' -}}`,
  "{%- if result.startswith('{') or result.startswith('[') -%}{{- result -}}{%- else -%}{{- result | tojson -}}{%- endif -%}",
  "{{- '}\\n</tool_response>\\n<|im_end|>\\n' -}}",
  ...chatmlPlainTurnAndPrompt,
].join('\n');
