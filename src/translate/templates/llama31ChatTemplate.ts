/**
 * adaptd's built-in `llama3.1` template: the Llama 3.1 Instruct prompt with JSON tool calling, as Meta's model
 * card describes it and as Hugging Face's `apply_chat_template` renders it for fine-tuning (so a LoRA sees the
 * bytes it was trained on, down to "its value}.Do not use variables."). Written for adaptd, not copied.
 *
 * - The system turn always opens with "Cutting Knowledge Date" / "Today Date" (`date_string`), preceded by
 *   "Environment: ipython" when tools are offered.
 * - Tools go into the first user message (`tools_in_user_message`, default true) or the system turn, each as the
 *   `{"type": "function", "function": …}` object indented by 4.
 * - An assistant call is `{"name": …, "parameters": …}`; results come back in the `ipython` role.
 */
export const llama31ChatTemplate = [
  "{{- bos_token -}}",
  "{%- set today = date_string if date_string is defined else '26 Jul 2024' -%}",
  "{%- set tools_with_user = tools_in_user_message if tools_in_user_message is defined else true -%}",
  "{%- set offered = tools is defined and tools is not none -%}",
  "{%- set turns = messages -%}",
  "{%- set system_text = '' -%}",
  "{%- if turns | length > 0 and turns[0].role == 'system' -%}",
  "{%- set system_text = turns[0].content | trim -%}",
  "{%- set turns = turns[1:] -%}",
  "{%- endif -%}",
  `{%- set answer_format = 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.Do not use variables.\\n\\n' -%}`,
  "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' -}}",
  "{%- if offered -%}{{- 'Environment: ipython\\n' -}}{%- endif -%}",
  "{{- 'Cutting Knowledge Date: December 2023\\nToday Date: ' + today + '\\n\\n' -}}",
  "{%- if offered and not tools_with_user -%}",
  "{{- 'You have access to the following functions. To call a function, please respond with JSON for a function call.' + answer_format -}}",
  "{%- for tool in tools -%}{{- tool | tojson(indent=4) -}}{{- '\\n\\n' -}}{%- endfor -%}",
  "{%- endif -%}",
  "{{- system_text -}}{{- '<|eot_id|>' -}}",
  "{%- if offered and tools_with_user -%}",
  "{%- if turns | length == 0 -%}{{- raise_exception('llama3.1: the tools go into the first user message, and there is none') -}}{%- endif -%}",
  "{{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}",
  "{{- 'Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\\n\\n' + answer_format -}}",
  "{%- for tool in tools -%}{{- tool | tojson(indent=4) -}}{{- '\\n\\n' -}}{%- endfor -%}",
  "{{- turns[0].content | trim -}}{{- '<|eot_id|>' -}}",
  "{%- set turns = turns[1:] -%}",
  "{%- endif -%}",
  "{%- for message in turns -%}",
  "{%- if message.role == 'assistant' and message.tool_calls is defined and message.tool_calls -%}",
  "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}",
  "{%- for call in message.tool_calls -%}",
  "{%- if not loop.first -%}{{- '\\n' -}}{%- endif -%}",
  `{{- '{"name": "' + call.function.name + '", "parameters": ' -}}{{- call.function.arguments | tojson -}}{{- '}' -}}`,
  "{%- endfor -%}",
  "{{- '<|eot_id|>' -}}",
  "{%- elif message.role == 'tool' or message.role == 'ipython' -%}",
  "{{- '<|start_header_id|>ipython<|end_header_id|>\\n\\n' + message.content + '<|eot_id|>' -}}",
  "{%- else -%}",
  "{{- '<|start_header_id|>' + message.role + '<|end_header_id|>\\n\\n' + message.content | trim + '<|eot_id|>' -}}",
  "{%- endif -%}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}{%- endif -%}",
].join('\n');
