import { z } from 'zod';
import { RedactionCallError } from '../redactionErrors.js';
import { toolLabels, type RedactTool } from './redactorSpec.js';

export interface RedactField {
  string: string;
  pii_type: string;
}

export interface RedactArguments {
  fields_to_redact: RedactField[];
}

const MAX_ISSUES_IN_MESSAGE = 5;
const schemaByTool = new WeakMap<RedactTool, z.ZodType<RedactArguments>>();

// additionalProperties is false in the tool, so extra keys are refused too: a call that does
// not follow the tool exactly is not trusted at all.
function argumentsSchema(tool: RedactTool): z.ZodType<RedactArguments> {
  let schema = schemaByTool.get(tool);
  if (!schema) {
    const labels = toolLabels(tool) as [string, ...string[]];
    const field = z.strictObject({ string: z.string(), pii_type: z.enum(labels) });
    schema = z.strictObject({ fields_to_redact: z.array(field) });
    schemaByTool.set(tool, schema);
  }
  return schema;
}

/**
 * The arguments of a `redact` call, or a RedactionCallError: never a partial list, because a
 * partial list would present unredacted PII as redacted. Messages name JSON paths only, never
 * the model's text.
 */
export function parseRedactArguments(argumentsJson: string, tool: RedactTool): RedactArguments {
  let json: unknown;
  try {
    json = JSON.parse(argumentsJson);
  } catch {
    if (endsInsideValue(argumentsJson)) throw new RedactionCallError('truncated', 'the redact call arguments end before the JSON does');
    throw new RedactionCallError('malformed', 'the redact call arguments are not JSON');
  }
  const parsed = argumentsSchema(tool).safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, MAX_ISSUES_IN_MESSAGE).map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`);
    throw new RedactionCallError('invalid', `the redact call arguments do not match the tool: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** True when the text stops inside a string or with brackets still open: it was cut off. */
export function endsInsideValue(json: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return inString || depth > 0;
}
