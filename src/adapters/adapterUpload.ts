import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { envName, kebab } from '../config/serverConfig.js';
import { AdapterUploadError, PICKLED_PEFT_WEIGHTS, pickledWeightsError } from './adapterErrors.js';
import { PEFT_PROFILE_FILES, readAdapterProfileFile, type AdapterProfile } from './adapterProfileFiles.js';

/** What a client sends to register an adapter: a GGUF LoRA's bytes, or the files of a PEFT export. */
export type AdapterUpload =
  | { format: 'gguf'; body: Readable }
  | { format: 'peft'; files: AsyncIterable<UploadedFile> };

/** One file of a PEFT upload; `names` are what the client called it (form field and file name), never paths. */
export interface UploadedFile {
  names: string[];
  body: Readable;
}

export const PEFT_UPLOAD_FILES = ['adapter_config.json', 'adapter_model.safetensors'];
/** An optional part of a PEFT upload: the adapter's prompt profile. */
const PROFILE_FILE = PEFT_PROFILE_FILES[0];

function tooLarge(limitBytes: number): AdapterUploadError {
  const mib = (limitBytes / 2 ** 20).toFixed(limitBytes % 2 ** 20 === 0 ? 0 : 1);
  return new AdapterUploadError(
    'too-large',
    `the adapter upload is larger than the upload limit of ${limitBytes} bytes (${mib} MiB); ` +
      `the server's --${kebab('maxUploadBytes')} option (${envName('maxUploadBytes')}) sets it`,
  );
}

/** Refuses at once an upload whose announced size (Content-Length) is already over the limit. */
export function checkAnnouncedSize(announcedBytes: number | undefined, limitBytes: number, overheadBytes = 0): void {
  if (announcedBytes !== undefined && announcedBytes > limitBytes + overheadBytes) throw tooLarge(limitBytes);
}

/**
 * Streams an upload into `target` (a file for GGUF, a folder for PEFT) chunk by chunk, so memory stays flat
 * whatever its size; more than `limitBytes` in all is refused as soon as the limit is passed. Returns the profile
 * a PEFT upload carries in its `profile.json`, if any.
 */
export async function storeAdapterUpload(upload: AdapterUpload, target: string, limitBytes: number): Promise<AdapterProfile | undefined> {
  const budget = { remaining: limitBytes };
  if (upload.format === 'gguf') {
    if ((await writeCounted(upload.body, target, budget, limitBytes)) === 0) throw new AdapterUploadError('empty-upload', 'the upload is empty');
    return undefined;
  }
  mkdirSync(target);
  const received = new Set<string>();
  for await (const file of upload.files) {
    if (file.names.includes(PICKLED_PEFT_WEIGHTS)) {
      file.body.resume();
      throw pickledWeightsError();
    }
    // Files are stored under fixed names: the client's file name never becomes a path.
    const fileName = [...PEFT_UPLOAD_FILES, PROFILE_FILE].find((known) => file.names.includes(known));
    if (!fileName) {
      file.body.resume();
      throw new AdapterUploadError('unexpected-file', `unexpected file in the PEFT upload; send ${PEFT_UPLOAD_FILES.join(' and ')} (and optionally ${PROFILE_FILE})`);
    }
    await writeCounted(file.body, path.join(target, fileName), budget, limitBytes);
    received.add(fileName);
  }
  const missing = PEFT_UPLOAD_FILES.filter((file) => !received.has(file));
  if (missing.length > 0) throw new AdapterUploadError('missing-file', `the PEFT upload lacks ${missing.join(' and ')}`);
  return received.has(PROFILE_FILE) ? readAdapterProfileFile(path.join(target, PROFILE_FILE)) : undefined;
}

async function writeCounted(source: Readable, target: string, budget: { remaining: number }, limitBytes: number): Promise<number> {
  let written = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      written += chunk.length;
      budget.remaining -= chunk.length;
      if (budget.remaining < 0) callback(tooLarge(limitBytes));
      else callback(null, chunk);
    },
  });
  await pipeline(source, count, createWriteStream(target, { flags: 'wx' }));
  return written;
}
