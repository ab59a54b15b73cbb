import type { AdapterPreparer } from './AdapterCatalogue.js';
import { PeftConversionError } from './adapterErrors.js';
import { describeBaseModel, validateLoraAdapter } from './validateAdapter.js';

/** Validates adapters against one base model, whose header is read once. */
export function createAdapterPreparer(options: { baseModelPath: string; conversionCacheDir: string }): AdapterPreparer {
  const base = describeBaseModel(options.baseModelPath);
  return {
    validateGguf(filePath) {
      return validateLoraAdapter(filePath, base);
    },
    preparePeft() {
      throw new PeftConversionError('unsupported-config', 'PEFT exports are not supported by this build yet');
    },
  };
}
