// One document through the redactor: rules and/or the model propose strings, spans are
// resolved, the mode is applied. The model is reached only through RedactionModel, so this
// file knows nothing of the engine or of HTTP.
import { applyRedaction, type RedactionMode } from './applyRedaction.js';
import { parseRedactArguments } from './parseRedactArguments.js';
import type { PseudonymSource } from '../pseudonyms/Pseudonymizer.js';
import type { RedactCallInput, RedactionModel, TokenUsage } from './RedactionModel.js';
import { RedactionCallError, RedactionInputError, type RulesSummary } from '../redactionErrors.js';
import type { RedactorSpec } from './redactorSpec.js';
import { resolveSpans, type DetectorSource, type Proposal } from '../resolveSpans.js';
import { detectRules, type RuleFinding } from '../rules/rulesDetectors.js';

export const DETECTOR_CHOICES = ['llm', 'rules', 'hybrid'] as const;
export type DetectorChoice = (typeof DETECTOR_CHOICES)[number];

/** Generous: a long document with many entities must not be cut off (a cut-off call fails closed). */
export const DEFAULT_REDACT_MAX_TOKENS = 4096;

export interface RedactDocumentRequest {
  text: string;
  mode: RedactionMode;
  detectors: DetectorChoice;
  spec: RedactorSpec;
  /** Only these labels are redacted; default: every label of the spec. */
  labels?: readonly string[];
  /** Needed for `llm` and `hybrid`. */
  model?: RedactionModel;
  /** Needed for `pseudonymize`: a Pseudonymizer, or a RedactionVault to be able to restore. */
  pseudonyms?: PseudonymSource;
  maxTokens?: number;
  signal?: AbortSignal;
}

/** One occurrence. Offsets count Unicode code points, as Python and pii-masking-200k's privacy_mask do. */
export interface RedactedEntity {
  string: string;
  pii_type: string;
  start: number;
  end: number;
  source: DetectorSource;
}

export interface RedactionResult {
  redacted_text: string;
  /** Every occurrence of every entity, ordered by position. */
  entities: RedactedEntity[];
  /** Strings the model proposed that are not in the text. */
  dropped: string[];
  usage: TokenUsage & { total_tokens: number };
}

export async function redactDocument(request: RedactDocumentRequest): Promise<RedactionResult> {
  const labels = checkRequest(request);
  const rulesFindings = request.detectors === 'llm' ? [] : detectRules(request.text, { labels });
  const { proposals: llmProposals, usage } =
    request.detectors === 'rules'
      ? { proposals: [], usage: { prompt_tokens: 0, completion_tokens: 0 } }
      : await askModel(request, labels, rulesFindings);
  const proposals = [...llmProposals, ...rulesFindings.map(toRuleProposal)];
  const { entities, dropped } = resolveSpans(request.text, proposals);
  const toCodePoints = codePointIndexer(request.text);
  return {
    redacted_text: applyRedaction(request.text, entities, request.mode, request.pseudonyms),
    entities: entities
      .flatMap(({ string, pii_type, source, occurrences }) =>
        occurrences.map((o) => ({ string, pii_type, start: toCodePoints(o.start), end: toCodePoints(o.end), source })),
      )
      .sort((a, b) => a.start - b.start),
    dropped,
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  };
}

/** Fails before any model call on a request that cannot succeed; returns the labels in force. */
function checkRequest({ spec, labels, detectors, model, mode, pseudonyms }: RedactDocumentRequest): Set<string> {
  if (labels !== undefined && labels.length === 0) throw new RedactionInputError('labels, when given, must name at least one label');
  const unknown = (labels ?? []).filter((label) => !spec.labels.includes(label));
  if (unknown.length > 0) throw new RedactionInputError(`unknown labels: ${unknown.join(', ')}`);
  if (detectors !== 'rules' && !model) throw new RedactionInputError(`detectors "${detectors}" need a model`);
  if (mode === 'pseudonymize' && !pseudonyms) throw new RedactionInputError('pseudonymize mode needs a pseudonymiser');
  return new Set(labels ?? spec.labels);
}

// The prompt and tool stay as the LoRA was trained on; a labels subset filters the answer instead.
async function askModel(request: RedactDocumentRequest, labels: Set<string>, rulesFindings: readonly RuleFinding[]) {
  const { spec, text, signal } = request;
  try {
    const call = await callModel(request.model!, {
      systemPrompt: spec.systemPrompt,
      document: text,
      tool: spec.tool,
      maxTokens: request.maxTokens ?? DEFAULT_REDACT_MAX_TOKENS,
      signal,
    }, signal);
    if (call.finishReason === 'length') throw new RedactionCallError('truncated', 'the redact call reached max_tokens');
    const { fields_to_redact } = parseRedactArguments(call.argumentsJson, spec.tool);
    const proposals: Proposal[] = fields_to_redact
      .filter((field) => labels.has(field.pii_type))
      .map((field) => ({ string: field.string, pii_type: field.pii_type, source: 'llm' }));
    return { proposals, usage: call.usage };
  } catch (error) {
    // Tell the caller what the rules alone would have redacted (counts, never text).
    if (error instanceof RedactionCallError && request.detectors === 'hybrid') throw error.withRulesSummary(summarise(rulesFindings));
    throw error;
  }
}

async function callModel(model: RedactionModel, input: RedactCallInput, signal: AbortSignal | undefined) {
  try {
    return await model.callRedact(input);
  } catch (error) {
    if (signal?.aborted) throw new RedactionCallError('timeout', 'the redact call did not finish before the deadline');
    throw error;
  }
}

function toRuleProposal(finding: RuleFinding): Proposal {
  return { string: finding.string, pii_type: finding.pii_type, source: 'rules' };
}

function summarise(findings: readonly RuleFinding[]): RulesSummary {
  const summary: RulesSummary = {};
  for (const { pii_type } of findings) summary[pii_type] = (summary[pii_type] ?? 0) + 1;
  return summary;
}

/** Maps UTF-16 indices of `text` to code point indices (the identity unless the text has astral characters). */
export function codePointIndexer(text: string): (utf16Index: number) => number {
  if (!/[\uD800-\uDFFF]/.test(text)) return (index) => index;
  const codePointAt = new Uint32Array(text.length + 1);
  let codePoints = 0;
  for (let i = 0; i < text.length; i++) {
    codePointAt[i] = codePoints;
    // The high half of a surrogate pair does not end a code point; the low half does.
    if (!(isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1)))) codePoints++;
  }
  codePointAt[text.length] = codePoints;
  return (index) => codePointAt[index];
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
