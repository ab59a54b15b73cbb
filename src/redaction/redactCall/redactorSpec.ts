import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { RedactorSpecError } from '../redactionErrors.js';

const DEFAULTS = {
  categories: new URL('../defaults/categories.json', import.meta.url),
  prompt: new URL('../defaults/system-prompt.txt', import.meta.url),
  tool: new URL('../defaults/redact-tool.json', import.meta.url),
};

export const CATEGORIES_PLACEHOLDER = '{{categories}}';

const categoriesSchema = z
  .array(z.object({ label: z.string().regex(/^\S+$/), description: z.string().min(1) }))
  .min(1)
  .refine((list) => new Set(list.map((c) => c.label)).size === list.length, 'labels must be unique');

export type Category = z.infer<typeof categoriesSchema>[number];

// Only the parts adaptd relies on are checked; extra keys (descriptions, examples) pass through
// because users train their LoRA on their own wording.
const redactToolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.looseObject({
      type: z.literal('object'),
      properties: z.looseObject({
        fields_to_redact: z.looseObject({
          type: z.literal('array'),
          items: z.looseObject({
            type: z.literal('object'),
            properties: z.looseObject({
              string: z.looseObject({ type: z.literal('string') }),
              pii_type: z.looseObject({ type: z.literal('string'), enum: z.array(z.string().min(1)).min(1) }),
            }),
            required: z.array(z.string()).refine((r) => r.includes('string') && r.includes('pii_type'), {
              message: 'must require "string" and "pii_type"',
            }),
          }),
        }),
      }),
      required: z.array(z.string()).refine((r) => r.includes('fields_to_redact'), {
        message: 'must require "fields_to_redact"',
      }),
    }),
  }),
});

export type RedactTool = z.infer<typeof redactToolSchema>;

export interface RedactorSpec {
  readonly categories: readonly Category[];
  /** The labels the model may answer with: the tool's `pii_type` enum. */
  readonly labels: readonly string[];
  readonly systemPrompt: string;
  readonly tool: RedactTool;
}

export interface RedactorSpecPaths {
  categoriesPath?: string;
  promptPath?: string;
  toolPath?: string;
}

/** Loads the defaults shipped with adaptd, or the user's replacements where paths are given. */
export function loadRedactorSpec(paths: RedactorSpecPaths = {}): RedactorSpec {
  const categories = parseFile(paths.categoriesPath ?? DEFAULTS.categories, 'categories', categoriesSchema);
  const tool = parseFile(paths.toolPath ?? DEFAULTS.tool, 'redact tool', redactToolSchema);
  const labels = toolLabels(tool);
  assertDescribed(labels, categories);
  const template = readText(paths.promptPath ?? DEFAULTS.prompt, 'system prompt');
  return { categories, labels, systemPrompt: renderSystemPrompt(template, categories), tool };
}

export function toolLabels(tool: RedactTool): string[] {
  return tool.function.parameters.properties.fields_to_redact.items.properties.pii_type.enum;
}

/** Replaces `{{categories}}` with one `- LABEL: description` line per category. */
export function renderSystemPrompt(template: string, categories: readonly Category[]): string {
  const list = categories.map((c) => `- ${c.label}: ${c.description}`).join('\n');
  return template.split(CATEGORIES_PLACEHOLDER).join(list).trimEnd();
}

function assertDescribed(labels: readonly string[], categories: readonly Category[]): void {
  const described = new Set(categories.map((c) => c.label));
  const missing = labels.filter((label) => !described.has(label));
  if (missing.length > 0) {
    throw new RedactorSpecError(
      `the redact tool's pii_type enum has labels the categories file does not describe: ${missing.join(', ')}`,
    );
  }
}

function parseFile<T>(location: string | URL, what: string, schema: z.ZodType<T>): T {
  const text = readText(location, what);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RedactorSpecError(`${what} file ${displayPath(location)} is not valid JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RedactorSpecError(`${what} file ${displayPath(location)} is invalid: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function readText(location: string | URL, what: string): string {
  try {
    return readFileSync(location, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw new RedactorSpecError(`cannot read ${what} file ${displayPath(location)}: ${code}`);
  }
}

function displayPath(location: string | URL): string {
  return typeof location === 'string' ? location : fileURLToPath(location);
}
