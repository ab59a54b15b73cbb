import type { RedactField } from '../redactCall/parseRedactArguments.js';
import type { RedactorSpec, RedactTool } from '../redactCall/redactorSpec.js';
import type { PrivacyMaskEntry } from './PiiRow.js';

/** One line of OpenAI chat fine-tuning JSONL with a tool call as the answer. */
export interface FineTuningExample {
  messages: [
    { role: 'system'; content: string },
    { role: 'user'; content: string },
    { role: 'assistant'; tool_calls: [{ id: string; type: 'function'; function: { name: string; arguments: string } }] },
  ];
  tools: [RedactTool];
}

/**
 * The conversation the redactor has at inference time (same system prompt, same tool, the
 * document as the user message), answered with the call the model should make.
 */
export function toFineTuningExample(document: string, mask: readonly PrivacyMaskEntry[], spec: RedactorSpec): FineTuningExample {
  const call = { fields_to_redact: fieldsToRedact(mask) };
  return {
    messages: [
      { role: 'system', content: spec.systemPrompt },
      { role: 'user', content: document },
      {
        role: 'assistant',
        tool_calls: [{ id: 'call_redact', type: 'function', function: { name: spec.tool.function.name, arguments: JSON.stringify(call) } }],
      },
    ],
    tools: [spec.tool],
  };
}

/** In order of first appearance, each string and type once, as the system prompt asks. */
export function fieldsToRedact(mask: readonly PrivacyMaskEntry[]): RedactField[] {
  const seen = new Set<string>();
  const fields: RedactField[] = [];
  for (const entry of [...mask].sort((a, b) => a.start - b.start)) {
    const key = `${entry.label}\u0000${entry.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    fields.push({ string: entry.value, pii_type: entry.label });
  }
  return fields;
}
