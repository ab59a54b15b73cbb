import { chatmlCallTurn, chatmlPlainTurnAndPrompt } from './chatmlTurns.js';

/**
 * adaptd's built-in `chatml` template: plain ChatML turns (`<|im_start|>role\n…<|im_end|>\n`), for adapters
 * trained on ChatML. Tools, when offered, are listed one JSON object per line between `<tools>` tags at the end
 * of the system turn, in the common Qwen 2.5 style; calls are `<tool_call>` blocks and results come back in a
 * `tool` turn wrapped in `<tool_response>`. Written for adaptd, not copied.
 */
export const chatmlChatTemplate = [
  "{{- bos_token -}}",
  "{%- set offered = tools is defined and tools is not none and tools | length > 0 -%}",
  "{%- set turns = messages -%}",
  "{%- if offered or (turns | length > 0 and turns[0].role == 'system') -%}",
  "{{- '<|im_start|>system\\n' -}}",
  "{%- if turns | length > 0 and turns[0].role == 'system' -%}",
  "{{- turns[0].content -}}",
  "{%- if offered -%}{{- '\\n\\n' -}}{%- endif -%}",
  "{%- set turns = turns[1:] -%}",
  "{%- endif -%}",
  "{%- if offered -%}",
  "{{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>' -}}",
  "{%- for tool in tools -%}{{- '\\n' -}}{{- tool | tojson -}}{%- endfor -%}",
  `{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{"name": <function-name>, "arguments": <args-json-object>}\\n</tool_call>' -}}`,
  "{%- endif -%}",
  "{{- '<|im_end|>\\n' -}}",
  "{%- endif -%}",
  "{%- for message in turns -%}",
  "{%- if message.role == 'assistant' and message.tool_calls is defined and message.tool_calls -%}",
  ...chatmlCallTurn,
  "{%- elif message.role == 'tool' -%}",
  "{{- '<|im_start|>tool\\n<tool_response>\\n' + message.content + '\\n</tool_response><|im_end|>\\n' -}}",
  ...chatmlPlainTurnAndPrompt,
].join('\n');
