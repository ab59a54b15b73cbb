/** The files of a PEFT LoRA export, as Hugging Face's save_pretrained names them. */
export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
/** The weights file of older exports (`safe_serialization=False`): a Python pickle, which is never opened. */
export const PICKLED_PEFT_WEIGHTS = 'adapter_model.bin';
