import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { envName, kebab } from '../config/serverConfig.js';
import { checkAdapterName } from './adapterName.js';
import { AdapterConflictError, AdapterUploadError, AdapterValidationError, PeftConversionError, pickledWeightsError } from './adapterErrors.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, PICKLED_PEFT_WEIGHTS } from './peft/peftFiles.js';
import { PEFT_PROFILE_FILES, profileFileCandidates, readAdapterProfileFile, storeProfileFile, type AdapterProfile } from './adapterProfileFiles.js';
import { adapterSourceAt } from './AdapterSource.js';
import type { AdapterEntry, AdapterFormat, AdapterPreparer, PreparedAdapter } from './AdapterCatalogue.js';

/** What a client sends to register an adapter: a GGUF LoRA's bytes, or the files of a PEFT export. */
export type AdapterUpload =
  | { format: 'gguf'; body: Readable }
  | { format: 'peft'; files: AsyncIterable<UploadedFile> };

/** One file of a PEFT upload; `names` are what the client called it (form field and file name), never paths. */
export interface UploadedFile {
  names: string[];
  body: Readable;
}

const PEFT_UPLOAD_FILES = [PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE];
/** An optional part of a PEFT upload: the adapter's prompt profile. */
const PROFILE_FILE = PEFT_PROFILE_FILES[0];

// Upload temporaries start with a dot, so the directory scan never registers a half-written file.
const TEMPORARY_PREFIX = '.upload-';

/** Where uploads go and what they are checked against: the catalogue's directory, preparer and current entries. */
export interface UploadDestination {
  directory: string;
  preparer: AdapterPreparer;
  /** The largest upload in bytes (`--max-upload-bytes`). */
  maxUploadBytes?: number;
  find(name: string): AdapterEntry | undefined;
  /** Called with the reason when an upload is not a usable adapter, without its contents. */
  onRejected?: (source: string, error: unknown) => void;
}

export interface UploadOptions {
  replace: boolean;
  profile?: AdapterProfile;
  /** The client's Content-Length, which refuses an oversized upload at once. */
  announcedBytes?: number;
  announcedOverheadBytes?: number;
}

/** An upload renamed into place in the adapters directory, validated (a PEFT export converted), to be registered. */
export interface PlacedUpload {
  sourcePath: string;
  format: AdapterFormat;
  version: string;
  prepared: PreparedAdapter;
}

/**
 * Receives an upload: streamed to a hidden temporary path in the directory (under --max-upload-bytes), validated
 * (a PEFT export converted), then renamed into place, so readers never see a partial file. Whatever fails leaves
 * nothing behind.
 */
export async function receiveAdapterUpload(name: string, upload: AdapterUpload, options: UploadOptions, destination: UploadDestination): Promise<PlacedUpload> {
  checkAdapterName(name);
  // Checked before the body is read, so a conflicting upload is refused without storing it.
  if (!options.replace && destination.find(name)) throw new AdapterConflictError(name);
  const limitBytes = destination.maxUploadBytes ?? Number.MAX_SAFE_INTEGER;
  checkAnnouncedSize(options.announcedBytes, limitBytes, options.announcedOverheadBytes);
  const temporary = path.join(destination.directory, `${TEMPORARY_PREFIX}${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  try {
    const carried = await storeAdapterUpload(upload, temporary, limitBytes);
    return await placeUpload(name, temporary, upload.format, options.replace, carried ?? options.profile, destination);
  } catch (error) {
    if (error instanceof PeftConversionError || error instanceof AdapterValidationError) destination.onRejected?.(name, error);
    throw error;
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
}

/** Validates an upload stored at `temporaryPath` and renames it into place (the caller removes the temporary). */
async function placeUpload(
  name: string,
  temporaryPath: string,
  format: AdapterFormat,
  replace: boolean,
  profile: AdapterProfile | undefined,
  destination: UploadDestination,
): Promise<PlacedUpload> {
  // Another upload of the same name may have finished while this one was stored, or while it was converted.
  if (destination.find(name) && !replace) throw new AdapterConflictError(name);
  const target = path.join(destination.directory, format === 'gguf' ? `${name}.gguf` : name);
  const prepared: PreparedAdapter =
    format === 'gguf'
      ? { filePath: target, ...destination.preparer.validateGguf(temporaryPath) }
      : await destination.preparer.preparePeft(temporaryPath, name, `upload-${Date.now()}`);
  const existing = destination.find(name);
  if (existing && !replace) throw new AdapterConflictError(name);
  if (existing && existing.origin !== 'api' && existing.sourcePath !== target) rmSync(existing.sourcePath, { recursive: true, force: true });
  if (format === 'peft') rmSync(target, { recursive: true, force: true });
  // The rename keeps inode and mtime, so the directory scan sees the same version and does not redo the work.
  renameSync(temporaryPath, target);
  // An upload is the whole adapter: a profile it does not carry is not kept from the one it replaces.
  for (const profileFile of profileFileCandidates(target, format)) storeProfileFile(profileFile, undefined);
  storeProfileFile(profileFileCandidates(target, format)[0], profile);
  const version = adapterSourceAt(target)?.version ?? String(Date.now());
  return { sourcePath: target, format, version, prepared };
}

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
