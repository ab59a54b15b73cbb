import { parentPort, workerData } from 'node:worker_threads';
import { PeftConversionError } from '../adapterErrors.js';
import { convertPeftToGguf, type PeftConversionOptions } from './convertPeftToGguf.js';

// Runs one conversion off the server's event loop; the outcome goes back as a plain message.
try {
  const result = convertPeftToGguf(workerData as PeftConversionOptions);
  parentPort!.postMessage({ ok: true, result });
} catch (error) {
  const typed = error instanceof PeftConversionError;
  parentPort!.postMessage({
    ok: false,
    reason: typed ? error.reason : undefined,
    message: error instanceof Error ? error.message : String(error),
  });
}
