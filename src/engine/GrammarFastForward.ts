import type { Llama, LlamaGrammarEvaluationState, LlamaModel, Token } from 'node-llama-cpp';
import { GbnfSyntaxError, type GbnfMatcher } from './GbnfMatcher.js';

/**
 * Jump-forward decoding: where the grammar leaves no choice (JSON keys, punctuation, the rest of an enum value
 * once its prefix is unique), the forced text is tokenized and evaluated in one batch with the model's last token,
 * instead of one decode and one grammar-filtered sampling per token. The output text is the text the grammar
 * forces anyway; only the tokenization of that text is the tokenizer's rather than the model's.
 *
 * The last token of the forced text is left to the model, since it may be the start of a longer token that also
 * covers what the model writes next (`"` + `John` as ` "John`). So is the text of a control token (Hermes's
 * `<tool_call>` in a vocabulary that has it as one token): inserted as plain text it would be several tokens the
 * model never saw there in training. Every inserted token must also be accepted by llama.cpp's native grammar
 * state, which stays the authority on what is allowed.
 */
export class GrammarFastForward {
  /** Undefined once the generated text left the grammar as this side reads it: no more forcing then. */
  private matcher: GbnfMatcher | undefined;
  /** How much of the output the matcher has read. */
  private followed = 0;

  constructor(
    start: GbnfMatcher,
    private readonly model: Pick<LlamaModel, 'tokenize' | 'detokenize'>,
    private readonly nativeGrammar: NativeGrammarState,
    /** Texts of the vocabulary's control tokens; forced runs stop before them. */
    private readonly controlTexts: readonly string[],
  ) {
    this.matcher = start;
  }

  /** Catches up with the output so far (the model's text and inserted text alike), all of it complete characters. */
  follow(output: string): void {
    if (output.length > this.followed) this.matcher = this.readerCanFollow(() => this.matcher?.accept(output.slice(this.followed)));
    this.followed = output.length;
  }

  /** Tokens to insert after the output so far, at most `budget`; already accepted by the native grammar state. */
  forcedTokens(budget: number): Token[] {
    const matcher = this.matcher;
    if (!matcher || budget < 1) return [];
    const text = this.beforeControlText(this.readerCanFollow(() => matcher.forcedText(MAX_FORCED_CHARACTERS)) ?? '');
    if (text === '') return [];
    const tokens = this.model.tokenize(text, false).slice(0, -1).slice(0, budget);
    if (tokens.length === 0 || !text.startsWith(this.model.detokenize(tokens, false))) return [];
    const accepted: Token[] = [];
    for (const token of tokens) {
      if (!this.nativeGrammar.allows(token)) {
        // The two readings of the grammar disagree; trust the native one from here on.
        this.matcher = undefined;
        break;
      }
      this.nativeGrammar.accept(token);
      accepted.push(token);
    }
    return accepted;
  }

  /**
   * Runs a step of the JavaScript reader. Where it gives up (a grammar too ambiguous or too deep for it, found only
   * once the output gets there), forcing stops for the rest of the answer and llama.cpp's grammar alone decides.
   */
  private readerCanFollow<T>(step: () => T): T | undefined {
    try {
      return step();
    } catch (error) {
      if (!(error instanceof GbnfSyntaxError)) throw error;
      this.matcher = undefined;
      return undefined;
    }
  }

  private beforeControlText(text: string): string {
    let end = text.length;
    for (const control of this.controlTexts) {
      const at = text.indexOf(control);
      if (at >= 0 && at < end) end = at;
    }
    return text.slice(0, end);
  }
}

/** Enough for any JSON key run; keeps one step's batch small. */
const MAX_FORCED_CHARACTERS = 256;

/**
 * The two calls of node-llama-cpp's native grammar state that its public API does not expose (its own chat and
 * draft-model code use them the same way). node-llama-cpp is pinned to an exact version; the engine tests insert
 * forced tokens through these calls and fail if they change.
 */
export interface NativeGrammarState {
  allows(token: Token): boolean;
  accept(token: Token): void;
}

interface AddonGrammarBindings {
  AddonSampler: {
    canBeNextTokenForGrammarEvaluationState(state: unknown, token: Token): boolean;
    acceptGrammarEvaluationStateToken(state: unknown, token: Token): void;
  };
}

export function nativeGrammarState(llama: Llama, state: LlamaGrammarEvaluationState): NativeGrammarState {
  const bindings = (llama as unknown as { _bindings: AddonGrammarBindings })._bindings.AddonSampler;
  const native = (state as unknown as { _state: unknown })._state;
  return {
    allows: (token) => bindings.canBeNextTokenForGrammarEvaluationState(native, token),
    accept: (token) => bindings.acceptGrammarEvaluationStateToken(native, token),
  };
}
