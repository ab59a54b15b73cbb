/**
 * Typed failures of the adapters layer, given their HTTP meaning once, in the server's error mapper. A file that is
 * not a usable LoRA for this base (AdapterValidationError, PeftConversionError) is a 422 whose message names the
 * problem.
 */

import { PEFT_WEIGHTS_FILE, PICKLED_PEFT_WEIGHTS } from './peft/peftFiles.js';

/** No adapter of this name is registered. Names in the message are cut short: a request may send any string. */
export class AdapterNotFoundError extends Error {
  override name = 'AdapterNotFoundError';
  constructor(readonly adapterName: string) {
    super(`adapter "${adapterName.slice(0, 140)}" does not exist`);
  }
}

export class AdapterConflictError extends Error {
  override name = 'AdapterConflictError';
  constructor(readonly adapterName: string) {
    super(`adapter "${adapterName}" already exists; use ?replace=true to replace it`);
  }
}

/** A vLLM-style load request whose path is not an adapter inside an allowed root. */
export class AdapterPathError extends Error {
  override name = 'AdapterPathError';
}

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
  | 'f16-overflow'
  | 'pickled-weights'
  | 'bias';

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

export function pickledWeightsError(): PeftConversionError {
  return new PeftConversionError(
    'pickled-weights',
    `the PEFT export holds ${PICKLED_PEFT_WEIGHTS}, a Python pickle, which adaptd never loads (unpickling runs code); ` +
      `re-save the adapter with save_pretrained(..., safe_serialization=True) to get ${PEFT_WEIGHTS_FILE}`,
  );
}

export type AdapterUploadReason = 'too-large' | 'empty-upload' | 'unexpected-file' | 'missing-file';

/** An upload that cannot be stored as sent (before any validation of what it holds). */
export class AdapterUploadError extends Error {
  override name = 'AdapterUploadError';
  constructor(
    readonly reason: AdapterUploadReason,
    message: string,
  ) {
    super(message);
  }
}
