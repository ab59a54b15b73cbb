// The worker's entry point. A worker thread does not inherit the TypeScript loader that the CLI registers in the
// main thread, so it registers its own before loading the conversion.
import { register } from 'tsx/esm/api';

register();
await import('./conversionWorker.ts');
