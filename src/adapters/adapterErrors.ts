/**
 * Typed failures of adapter files. Both mean "this file is not a usable LoRA for this base"; the server's single
 * error mapper turns them into a 422 whose message is the error's message, so each message names the problem.
 */

export type AdapterValidationReason =
  | 'not-gguf'
  | 'truncated'
  | 'corrupt'
  | 'not-adapter'
  | 'not-lora'
  | 'wrong-architecture'
  | 'empty'
  | 'unknown-tensor'
  | 'unpaired'
  | 'shape-mismatch';

/** A GGUF LoRA file that llama.cpp would refuse (or that would not be a LoRA for this base at all). */
export class AdapterValidationError extends Error {
  override name = 'AdapterValidationError';
  constructor(
    readonly reason: AdapterValidationReason,
    message: string,
  ) {
    super(message);
  }
}

export type PeftConversionReason =
  | 'missing-file'
  | 'invalid-config'
  | 'unsupported-peft-type'
  | 'dora'
  | 'modules-to-save'
  | 'unsupported-config'
  | 'invalid-safetensors'
  | 'truncated'
  | 'unsupported-dtype'
  | 'unsupported-tensor'
  | 'unknown-module'
  | 'unpaired'
  | 'shape-mismatch'
  | 'config-mismatch'
  | 'empty'
  | 'f16-overflow';

/** A PEFT export that cannot be turned into an equivalent GGUF LoRA. */
export class PeftConversionError extends Error {
  override name = 'PeftConversionError';
  constructor(
    readonly reason: PeftConversionReason,
    message: string,
  ) {
    super(message);
  }
}
