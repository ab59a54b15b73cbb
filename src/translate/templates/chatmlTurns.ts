/**
 * The Jinja lines that render an assistant turn holding tool calls in ChatML, as Hermes and Qwen-style models
 * write them: optional text, then one `<tool_call>\n{"name": …, "arguments": …}\n</tool_call>` block per call,
 * separated by "\n" (what the hermes tool-call syntax forces, so a model sees its own calls as it wrote them).
 * Shared by the `hermes` and `chatml` templates; it expects to run inside a loop binding `message`.
 */
export const chatmlCallTurn = [
  "{{- '<|im_start|>assistant\\n' -}}",
  "{%- if message.content -%}{{- message.content + '\\n' -}}{%- endif -%}",
  "{%- for call in message.tool_calls -%}",
  "{%- if not loop.first -%}{{- '\\n' -}}{%- endif -%}",
  `{{- '<tool_call>\\n{"name": "' + call.function.name + '", "arguments": ' -}}{{- call.function.arguments | tojson -}}{{- '}\\n</tool_call>' -}}`,
  "{%- endfor -%}",
  "{{- '<|im_end|>\\n' -}}",
];

/**
 * How the `hermes` and `chatml` templates end: the `else` branch of their turn loop (any other turn as plain
 * ChatML), the loop's close, and the assistant header when a generation prompt is asked for.
 */
export const chatmlPlainTurnAndPrompt = [
  "{%- else -%}",
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}",
];
