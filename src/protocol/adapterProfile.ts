import { z } from 'zod';

/**
 * An adapter profile: the prompt format a LoRA was trained on. A LoRA file carries no chat template, so this is
 * how the server learns which template, tool-call syntax and stop strings the adapter expects. The same shape is
 * read from `<name>.profile.json` / a PEFT folder's `profile.json`, accepted in uploads, and given by
 * `--default-profile`.
 */

/** `base`: the base GGUF's own template; the others are templates adaptd ships, written after published formats. */
export const BUILTIN_PROFILE_NAMES = ['base', 'llama3.1', 'hermes', 'chatml'] as const;
export type BuiltinProfileName = (typeof BUILTIN_PROFILE_NAMES)[number];

/** How the model writes a tool call (see translate/toolCallSyntax.ts for each). */
export const TOOL_CALL_SYNTAX_NAMES = ['json', 'llama3.1', 'hermes'] as const;
export type ToolCallSyntaxName = (typeof TOOL_CALL_SYNTAX_NAMES)[number];

export function isBuiltinProfileName(name: string): name is BuiltinProfileName {
  return (BUILTIN_PROFILE_NAMES as readonly string[]).includes(name);
}

// A bare word is meant as a built-in name, never as a one-word Jinja template; a typo must not render as text.
const looksLikeName = (text: string) => /^[\w.-]+$/.test(text);

export const adapterProfile = z
  .strictObject({
    name: z.string().min(1).max(128).optional().describe('a label for the profile; default: the built-in template name, or "custom"'),
    description: z.string().max(4000).optional(),
    chat_template: z
      .string()
      .min(1)
      .max(256 * 1024)
      .refine((text) => !looksLikeName(text) || isBuiltinProfileName(text), {
        message: `must be one of ${BUILTIN_PROFILE_NAMES.join(', ')} or the text of a Jinja chat template`,
      })
      .describe(`a built-in template (${BUILTIN_PROFILE_NAMES.join(', ')}) or the Jinja text of the template the adapter was trained with`),
    tool_syntax: z.enum(TOOL_CALL_SYNTAX_NAMES).optional().describe("how the model writes tool calls; default: the template's own"),
    stop: z.array(z.string().min(1).max(64)).max(8).optional().describe('stop strings added to every request on this profile'),
    template_variables: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are identifiers'), z.json())
      .optional()
      .describe('extra variables the template sees, e.g. {"date_string": "26 Jul 2024"}'),
    default_scale: z.number().min(-4).max(4).optional().describe("the adapter's scale when a request does not give one"),
  })
  .meta({ id: 'AdapterProfile' });
export type AdapterProfile = z.infer<typeof adapterProfile>;

/** What GET /v1/adapters shows of an adapter's profile. */
export const adapterProfileSummary = z
  .object({
    name: z.string(),
    source: z.enum(['file', 'default', 'builtin']).describe("file: the adapter's own profile file; default: --default-profile; builtin: none given, the base template"),
    template: z.string().describe('the built-in template name, or "custom" for a template of its own'),
    tool_syntax: z.enum(TOOL_CALL_SYNTAX_NAMES),
    description: z.string().nullable(),
    error: z.string().nullable().describe('why the profile file was refused; requests on the adapter fail until it is fixed'),
  })
  .meta({ id: 'AdapterProfileSummary' });
export type AdapterProfileSummary = z.infer<typeof adapterProfileSummary>;
