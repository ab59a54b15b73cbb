import { isBuiltinProfileName, type AdapterProfile, type BuiltinProfileName, type ToolCallSyntaxName } from '../protocol/adapterProfile.js';
import { chatmlChatTemplate } from './templates/chatmlChatTemplate.js';
import { hermesChatTemplate } from './templates/hermesChatTemplate.js';
import { llama31ChatTemplate } from './templates/llama31ChatTemplate.js';
import { TOOL_CALL_SYNTAXES, toolCallSyntaxForTemplate, type ToolCallSyntax } from './toolCallSyntax.js';

interface BuiltinTemplate {
  text: string;
  syntax: ToolCallSyntaxName;
  stop: string[];
  description: string;
}

// ChatML closes a turn with "<|im_end|>", which a Llama 3 vocabulary lacks as a token: it must stop as text.
const CHATML_END = '<|im_end|>';

/** The templates adaptd ships; `base` is not here because it is whatever the base GGUF carries. */
export const BUILTIN_TEMPLATES: Record<Exclude<BuiltinProfileName, 'base'>, BuiltinTemplate> = {
  'llama3.1': {
    text: llama31ChatTemplate,
    syntax: 'llama3.1',
    stop: [],
    description: 'Llama 3.1 Instruct: JSON calls {"name", "parameters"}, results in the ipython role',
  },
  hermes: {
    text: hermesChatTemplate,
    syntax: 'hermes',
    stop: [CHATML_END],
    description: 'Hermes 2 Pro: ChatML, tools in <tools> in the system turn, calls in <tool_call>, results in <tool_response>',
  },
  chatml: {
    text: chatmlChatTemplate,
    syntax: 'hermes',
    stop: [CHATML_END],
    description: 'ChatML turns; tools listed in <tools>, calls in <tool_call>, results in a tool turn',
  },
};

/** A profile made ready to render: the template text, the tool-call syntax and what else a request adds. */
export interface PromptProfile {
  name: string;
  /** The built-in template used, or 'custom' for the profile's own Jinja text. */
  templateName: BuiltinProfileName | 'custom';
  /** Undefined only for `base` on a model without a template of its own (the engine's chat wrapper renders then). */
  template: string | undefined;
  syntax: ToolCallSyntax;
  /** Stop strings added to the request's own. */
  stop: string[];
  /** Extra template variables. */
  variables: Record<string, unknown>;
  description: string | undefined;
}

/**
 * Turns a profile (or none: the base model's own template) into what rendering needs. `baseTemplate` is the base
 * GGUF's template, undefined when the server is told to use a chat wrapper instead.
 */
export function resolvePromptProfile(profile: AdapterProfile | undefined, baseTemplate: string | undefined): PromptProfile {
  const chosen = profile?.chat_template ?? 'base';
  const builtinName = isBuiltinProfileName(chosen) ? chosen : undefined;
  const builtin = builtinName && builtinName !== 'base' ? BUILTIN_TEMPLATES[builtinName] : undefined;
  const template = builtinName === 'base' ? baseTemplate : (builtin?.text ?? chosen);
  const impliedStop = builtin ? builtin.stop : template?.includes(CHATML_END) ? [CHATML_END] : [];
  return {
    name: profile?.name ?? builtinName ?? 'custom',
    templateName: builtinName ?? 'custom',
    template,
    syntax: TOOL_CALL_SYNTAXES[profile?.tool_syntax ?? builtin?.syntax ?? toolCallSyntaxForTemplate(template).name],
    stop: [...new Set([...impliedStop, ...(profile?.stop ?? [])])],
    variables: profile?.template_variables ?? {},
    description: profile?.description ?? builtin?.description,
  };
}
