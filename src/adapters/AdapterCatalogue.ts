import { EventEmitter } from 'node:events';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { checkAdapterName } from './adapterName.js';
import { AdapterConflictError, AdapterNotFoundError } from './adapterErrors.js';
import { receiveAdapterUpload, type AdapterUpload, type UploadOptions } from './adapterUpload.js';
import { profileFileCandidates, storeProfileFile, type AdapterProfile } from './adapterProfileFiles.js';
import { AdapterDirectory } from './AdapterDirectory.js';
import { ProfileRefresher } from './ProfileRefresher.js';
import { resolveLoraPath } from './resolveLoraPath.js';

export type AdapterFormat = 'gguf' | 'peft';
export type AdapterOrigin = 'directory' | 'upload' | 'api';

/** What the catalogue knows of a registered adapter. */
export interface AdapterEntry {
  name: string;
  /** The GGUF LoRA the engine loads (for a PEFT export: its cached conversion). */
  filePath: string;
  /** The file or folder the user supplied. */
  sourcePath: string;
  format: AdapterFormat;
  origin: AdapterOrigin;
  rank: number;
  alpha: number;
  /** The model it was trained on (PEFT's base_model_name_or_path), when the file says. */
  baseModel?: string;
  sizeBytes: number;
  defaultScale: number;
  /** Changes whenever the source changes, so a replaced file is loaded afresh. */
  version: string;
  registeredAt: number;
  lastUsed?: number;
  /** The adapter's own prompt profile (its profile file), when it has one. */
  profile?: AdapterProfile;
  /** Why its profile file was refused: requests on it fail rather than use a prompt format it was not trained on. */
  profileError?: string;
  /** The profile file's path and version when last read ('' when there is none), so an edited file is re-read. */
  profileVersion?: string;
}

/** The profile a request on an adapter (or on the base) is rendered with, and where it came from. */
export interface EffectiveProfile {
  profile: AdapterProfile | undefined;
  source: 'file' | 'default' | 'builtin';
  error?: string;
}

export interface ValidatedAdapter {
  rank: number;
  alpha: number;
  /** The model it was trained on, when the file says. */
  baseModel?: string;
  /** Why that model may not suit the base (another model family), for a warning. */
  baseModelMismatch?: string;
}

/** Turns a source (a GGUF file or a PEFT folder) into a validated GGUF LoRA for the base model. */
export interface AdapterPreparer {
  /** Throws a typed error naming the problem when the file is not a LoRA for this base. */
  validateGguf(filePath: string): ValidatedAdapter;
  /** Converts a PEFT export (cached by version) and validates the result. */
  preparePeft(folder: string, name: string, version: string): Promise<PreparedAdapter>;
}

/** A source made ready for the engine: the GGUF LoRA to load and what validation found. */
export type PreparedAdapter = { filePath: string } & ValidatedAdapter;

export interface CatalogueOptions {
  /** The watched adapters directory, where uploads are stored too. */
  directory: string;
  /** Extra roots that vLLM-style load requests may point into (the directory is always allowed). */
  allowedRoots?: string[];
  preparer: AdapterPreparer;
  /** Called with the reason when a dropped-in file or an upload is rejected, without its contents. */
  onRejected?: (source: string, error: unknown) => void;
  /** Called when an adapter is registered that may not suit the base (see ValidatedAdapter.baseModelMismatch). */
  onWarning?: (name: string, message: string) => void;
  /** The largest upload in bytes (`--max-upload-bytes`). */
  maxUploadBytes?: number;
  /** `--default-profile`: a built-in profile name or a profile file, for adapters without a profile of their own. */
  defaultProfile?: string;
}

/**
 * The adapters the server can serve: found in the adapters directory (kept in sync by watching it), uploaded,
 * or registered by path. The one owner of the registered entries; discovery (AdapterDirectory), uploads
 * (adapterUpload.ts), path resolution (resolveLoraPath) and profile files (ProfileRefresher) each live in their
 * own file. Emits 'removed' and 'replaced' with the old entry, so the engine can release weights.
 */
export class AdapterCatalogue extends EventEmitter {
  private readonly entries = new Map<string, AdapterEntry>();
  private readonly profiles: ProfileRefresher;
  private readonly adapterDirectory: AdapterDirectory;

  constructor(private readonly options: CatalogueOptions) {
    super();
    mkdirSync(options.directory, { recursive: true });
    this.profiles = new ProfileRefresher(options.defaultProfile, options.onRejected);
    this.adapterDirectory = new AdapterDirectory(options.directory, {
      entries: () => this.entries.values(),
      find: (name) => this.entries.get(name),
      register: (source, sourcePath) => this.register(source.name, sourcePath, source.format, 'directory', source.version),
      unregister: (name) => this.remove(name),
      scanned: () => this.profiles.refreshAll(this.entries.values()),
      onRejected: options.onRejected,
    });
  }

  get directory(): string {
    return this.options.directory;
  }

  list(): AdapterEntry[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  find(name: string): AdapterEntry | undefined {
    return this.entries.get(name);
  }

  get(name: string): AdapterEntry {
    const entry = this.entries.get(name);
    if (!entry) throw new AdapterNotFoundError(name);
    return entry;
  }

  /** The adapter's own profile, else the default profile, else none (the base model's template). */
  effectiveProfile(entry: AdapterEntry | undefined): EffectiveProfile {
    return this.profiles.effective(entry);
  }

  /** Stores (or with undefined, removes) an adapter's profile file beside it, and uses it at once. */
  setProfile(name: string, profile: AdapterProfile | undefined): AdapterEntry {
    const entry = this.get(name);
    for (const candidate of profileFileCandidates(entry.sourcePath, entry.format)) storeProfileFile(candidate, undefined);
    storeProfileFile(profileFileCandidates(entry.sourcePath, entry.format)[0], profile);
    this.profiles.refresh(entry);
    return entry;
  }

  markUsed(name: string): void {
    const entry = this.entries.get(name);
    if (entry) entry.lastUsed = Date.now();
  }

  /** Registers what is in the directory now and drops what is gone; then keeps doing so as files change. */
  start(): Promise<void> {
    return this.adapterDirectory.start();
  }

  stop(): void {
    this.adapterDirectory.stop();
  }

  /** Synchronises the directory's adapters with the catalogue; overlapping calls coalesce into one more pass. */
  rescan(): Promise<void> {
    return this.adapterDirectory.rescan();
  }

  private async register(name: string, source: string, format: AdapterFormat, origin: AdapterOrigin, version: string, known?: PreparedAdapter): Promise<AdapterEntry> {
    const prepared =
      known ??
      (format === 'gguf'
        ? { filePath: source, ...this.options.preparer.validateGguf(source) }
        : await this.options.preparer.preparePeft(source, name, version));
    const entry: AdapterEntry = {
      name,
      filePath: prepared.filePath,
      sourcePath: source,
      format,
      origin,
      rank: prepared.rank,
      alpha: prepared.alpha,
      baseModel: prepared.baseModel,
      sizeBytes: statSync(prepared.filePath).size,
      defaultScale: 1,
      version,
      registeredAt: Date.now(),
    };
    this.profiles.refresh(entry);
    if (prepared.baseModelMismatch) this.options.onWarning?.(name, prepared.baseModelMismatch);
    const previous = this.entries.get(name);
    this.entries.set(name, entry);
    if (previous) this.emit('replaced', previous, entry);
    return entry;
  }

  /**
   * Unregisters an adapter. `deleteFiles` also deletes a file the directory holds (so it does not come back);
   * `suppress` keeps it registered-off until its content changes, for vLLM-style unload of a directory adapter.
   */
  remove(name: string, options: { deleteFiles?: boolean; suppress?: boolean } = {}): AdapterEntry {
    const entry = this.get(name);
    this.entries.delete(name);
    if (options.deleteFiles && entry.origin !== 'api') {
      rmSync(entry.sourcePath, { recursive: true, force: true });
      for (const profileFile of profileFileCandidates(entry.sourcePath, entry.format)) rmSync(profileFile, { force: true });
    }
    else if (options.suppress && entry.origin !== 'api') this.adapterDirectory.suppress(entry.sourcePath, entry.version);
    this.emit('removed', entry);
    return entry;
  }

  /**
   * Registers an uploaded adapter (see receiveAdapterUpload: streamed, validated, renamed into place).
   * `announcedBytes` (the client's Content-Length) refuses an oversized upload at once.
   */
  async receiveUpload(name: string, upload: AdapterUpload, options: UploadOptions): Promise<AdapterEntry> {
    const placed = await receiveAdapterUpload(name, upload, options, {
      directory: this.options.directory,
      preparer: this.options.preparer,
      maxUploadBytes: this.options.maxUploadBytes,
      find: (existing) => this.entries.get(existing),
      onRejected: this.options.onRejected,
    });
    return this.register(name, placed.sourcePath, placed.format, 'upload', placed.version, placed.prepared);
  }

  /** vLLM's load_lora_adapter: registers a file or PEFT folder that must lie inside an allowed root. */
  async registerPath(name: string, requestedPath: string, replace = false): Promise<AdapterEntry> {
    checkAdapterName(name);
    const { source, format, version } = resolveLoraPath(requestedPath, [this.options.directory, ...(this.options.allowedRoots ?? [])]);
    if (this.entries.has(name) && !replace) throw new AdapterConflictError(name);
    this.adapterDirectory.unsuppress(source);
    return this.register(name, source, format, 'api', version);
  }
}
