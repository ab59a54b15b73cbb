import type { ToolCallSyntaxName } from '../protocol/adapterProfile.js';
import { GbnfRuleSet, gbnfLiteral, renderGbnf } from './gbnfRules.js';
import { buildJsonSchemaRules, DEFAULT_JSON_SCHEMA_LIMITS } from './jsonSchemaGrammar.js';

export type { ToolCallSyntaxName } from '../protocol/adapterProfile.js';

/**
 * How a model writes a tool call in its output. The grammar that forces a call and the parser that reads one are
 * both derived from the same description, so what is forced is exactly what is parsed.
 *
 * - `json`: `{"name": "f", "arguments": {...}}` — the generic format, used when the template has no tool syntax.
 * - `llama3.1`: `{"name": "f", "parameters": {...}}` — Llama 3.1 Instruct's JSON tool calls.
 * - `hermes`: `<tool_call>\n{"name": "f", "arguments": {...}}\n</tool_call>` — Hermes / Qwen style.
 */
export interface ToolCallSyntax {
  name: ToolCallSyntaxName;
  argumentsKey: 'arguments' | 'parameters';
  /** Text before a call's JSON object. */
  open: string;
  /** Text after it. */
  close: string;
  /** Between two calls of one turn. */
  separator: string;
  /**
   * What opens a call in `auto` mode: anywhere in the output for a wrapped syntax; for an unwrapped (JSON) one,
   * at the start of the output or of a line, or after Llama 3.1's `<|python_tag|>`.
   */
  marker: string;
}

export const TOOL_CALL_SYNTAXES: Record<ToolCallSyntaxName, ToolCallSyntax> = {
  json: { name: 'json', argumentsKey: 'arguments', open: '', close: '', separator: '\n', marker: '{' },
  'llama3.1': { name: 'llama3.1', argumentsKey: 'parameters', open: '', close: '', separator: '\n', marker: '{' },
  hermes: { name: 'hermes', argumentsKey: 'arguments', open: '<tool_call>\n', close: '\n</tool_call>', separator: '\n', marker: '<tool_call>' },
};

/** Picks the syntax a chat template teaches its model, from the markers the template itself contains. */
export function toolCallSyntaxForTemplate(template: string | undefined): ToolCallSyntax {
  if (template?.includes('<tool_call>')) return TOOL_CALL_SYNTAXES.hermes;
  if (template?.includes('ipython') || template?.includes('"parameters"')) return TOOL_CALL_SYNTAXES['llama3.1'];
  return TOOL_CALL_SYNTAXES.json;
}

export interface ToolForGrammar {
  name: string;
  parameters?: Record<string, unknown>;
}

/** The exact text a forced call starts with, up to and including the arguments key. */
export function callPrefix(syntax: ToolCallSyntax, functionName: string): string {
  return `${syntax.open}{"name": ${JSON.stringify(functionName)}, "${syntax.argumentsKey}": `;
}

export function callSuffix(syntax: ToolCallSyntax): string {
  return `}${syntax.close}`;
}

/** A missing `parameters` means a function without arguments, as in OpenAI's API. */
export function parametersSchema(tool: ToolForGrammar): Record<string, unknown> {
  return tool.parameters ?? { type: 'object', properties: {}, additionalProperties: false };
}

/**
 * A grammar that admits only calls of `tools` in `syntax`, each with arguments valid against its schema:
 * exactly one call, or one or more when `parallel`. Throws UnsupportedSchemaError and SchemaLimitError.
 */
export function toolCallGrammar(tools: ToolForGrammar[], syntax: ToolCallSyntax, parallel: boolean, limits = DEFAULT_JSON_SCHEMA_LIMITS): string {
  // One grammar for all the tools, so the grammar size limit applies to them together.
  const rules = new GbnfRuleSet({ maxBytes: limits.maxGrammarBytes, source: 'tools' });
  const root = rules.reserve('root');
  const calls = tools.map((tool, index) => {
    const { rootRule } = buildJsonSchemaRules(parametersSchema(tool), {
      ruleSet: rules,
      rootRuleName: `${tool.name}-arguments`,
      source: `tools[${index}].function.parameters`,
      limits,
    });
    return rules.add(`call-${tool.name}`, `${gbnfLiteral(callPrefix(syntax, tool.name))} ${rootRule} ${gbnfLiteral(callSuffix(syntax))}`);
  });
  const call = rules.add('call', calls.join(' | '));
  rules.define(root, parallel ? `${call} (${gbnfLiteral(syntax.separator)} ${call})*` : call);
  return renderGbnf(rules, root);
}

/**
 * For a template that does not render `tools` itself: a system message that lists the functions and shows the
 * syntax a call must use, so the model is at least told what it may call.
 */
export function toolInstructions(tools: Array<ToolForGrammar & { description?: string }>, syntax: ToolCallSyntax): string {
  const example = `${callPrefix(syntax, 'function_name')}{"argument": "value"}${callSuffix(syntax)}`;
  const listing = tools.map((tool) => JSON.stringify({ name: tool.name, description: tool.description ?? '', parameters: parametersSchema(tool) })).join('\n');
  return `You can call these functions:\n${listing}\n\nTo call a function, answer with only:\n${example}`;
}
