import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import path from 'node:path';
import { checkAdapterName, isValidAdapterName, resolveInsideRoots } from './adapterName.js';
import { ConfigError } from '../config/serverConfig.js';
import { AdapterConflictError, AdapterNotFoundError, AdapterPathError, AdapterValidationError, PICKLED_PEFT_WEIGHTS, PeftConversionError } from './adapterErrors.js';
import { checkAnnouncedSize, storeAdapterUpload, type AdapterUpload } from './adapterUpload.js';
import { AdapterProfileError, defaultProfileSpec, profileFileCandidates, readAdapterProfileFile, storeProfileFile, type AdapterProfile } from './adapterProfileFiles.js';

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
  preparePeft(folder: string, name: string, version: string): Promise<{ filePath: string } & ValidatedAdapter>;
}

type Prepared = { filePath: string } & ValidatedAdapter;

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

const PEFT_CONFIG = 'adapter_config.json';
const PEFT_WEIGHTS = 'adapter_model.safetensors';
// Upload temporaries start with a dot, so the directory scan never registers a half-written file.
const TEMPORARY_PREFIX = '.upload-';

function statIfFile(filePath: string): Stats | undefined {
  try {
    const stats = statSync(filePath);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

function versionOf(stats: Stats): string {
  return `${stats.ino}-${stats.size}-${Math.round(stats.mtimeMs)}`;
}

/**
 * The adapters the server can serve: found in the adapters directory (kept in sync by watching it), uploaded,
 * or registered by path. Emits 'removed' and 'replaced' with the old entry, so the engine can release weights.
 */
export class AdapterCatalogue extends EventEmitter {
  private readonly entries = new Map<string, AdapterEntry>();
  private readonly rejectedVersions = new Map<string, string>();
  /** Directory sources unloaded through the API: not registered again until their content changes. */
  private readonly suppressedVersions = new Map<string, string>();
  private watcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private rescanTimer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private rescanAgain = false;
  private defaultProfile: { profile?: AdapterProfile; filePath?: string; version?: string; error?: string } = {};

  constructor(private readonly options: CatalogueOptions) {
    super();
    mkdirSync(options.directory, { recursive: true });
    if (options.defaultProfile) this.defaultProfile = this.loadDefaultProfile(options.defaultProfile);
  }

  /** A broken default profile stops the server at start; later edits to its file are re-read and reported per request. */
  private loadDefaultProfile(spec: string): typeof this.defaultProfile {
    try {
      const given = defaultProfileSpec(spec);
      if ('profile' in given) return given;
      const { version } = this.profileFileVersion([given.filePath]);
      return { filePath: given.filePath, version, profile: readAdapterProfileFile(given.filePath) };
    } catch (error) {
      if (error instanceof AdapterProfileError) throw new ConfigError(`--default-profile: ${error.message}`);
      throw error;
    }
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
    if (entry?.profileError) return { profile: undefined, source: 'file', error: entry.profileError };
    if (entry?.profile) return { profile: entry.profile, source: 'file' };
    const fallback = this.defaultProfile;
    if (fallback.error) return { profile: undefined, source: 'default', error: fallback.error };
    return fallback.profile ? { profile: fallback.profile, source: 'default' } : { profile: undefined, source: 'builtin' };
  }

  /** Stores (or with undefined, removes) an adapter's profile file beside it, and uses it at once. */
  setProfile(name: string, profile: AdapterProfile | undefined): AdapterEntry {
    const entry = this.get(name);
    for (const candidate of profileFileCandidates(entry.sourcePath, entry.format)) storeProfileFile(candidate, undefined);
    storeProfileFile(profileFileCandidates(entry.sourcePath, entry.format)[0], profile);
    this.refreshProfile(entry);
    return entry;
  }

  markUsed(name: string): void {
    const entry = this.entries.get(name);
    if (entry) entry.lastUsed = Date.now();
  }

  /** Registers what is in the directory now and drops what is gone; then keeps doing so as files change. */
  async start(): Promise<void> {
    await this.rescan();
    try {
      this.watcher = watch(this.options.directory, () => this.scheduleRescan());
      this.watcher.on('error', () => undefined);
    } catch {
      // Some filesystems cannot be watched; the poll below still notices changes.
    }
    // Events can be missed (editors, network filesystems), so a slow poll backs the watcher up.
    this.poll = setInterval(() => void this.rescan(), 1000);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.rescanTimer);
  }

  private scheduleRescan(): void {
    clearTimeout(this.rescanTimer);
    this.rescanTimer = setTimeout(() => void this.rescan(), 100);
  }

  /** Synchronises the directory's adapters with the catalogue; overlapping calls coalesce into one more pass. */
  rescan(): Promise<void> {
    if (this.scanning) {
      this.rescanAgain = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescanAgain = false;
        await this.scanOnce();
      } while (this.rescanAgain);
    })().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const seen = new Set<string>();
    let names: string[];
    try {
      names = readdirSync(this.options.directory);
    } catch {
      return;
    }
    for (const fileName of names) {
      const source = path.join(this.options.directory, fileName);
      const candidate = this.directoryCandidate(fileName, source);
      if (!candidate) continue;
      seen.add(candidate.name);
      const existing = this.entries.get(candidate.name);
      if (existing && existing.origin === 'api') continue;
      if (existing && existing.version === candidate.version) continue;
      if (this.rejectedVersions.get(source) === candidate.version) continue;
      if (this.suppressedVersions.get(source) === candidate.version) continue;
      try {
        await this.register(candidate.name, source, candidate.format, 'directory', candidate.version);
        this.rejectedVersions.delete(source);
      } catch (error) {
        this.rejectedVersions.set(source, candidate.version);
        this.options.onRejected?.(source, error);
      }
    }
    for (const entry of [...this.entries.values()]) {
      if (entry.origin !== 'api' && !seen.has(entry.name)) this.remove(entry.name);
    }
    this.refreshDefaultProfile();
    for (const entry of this.entries.values()) this.refreshProfile(entry);
  }

  /** Re-reads an adapter's profile file when it appeared, changed or went away since it was last read. */
  private refreshProfile(entry: AdapterEntry): void {
    const found = this.profileFileVersion(profileFileCandidates(entry.sourcePath, entry.format));
    if (found.version === entry.profileVersion) return;
    entry.profileVersion = found.version;
    entry.profile = undefined;
    entry.profileError = undefined;
    if (found.filePath) {
      try {
        entry.profile = readAdapterProfileFile(found.filePath);
      } catch (error) {
        entry.profileError = (error as Error).message;
        this.options.onRejected?.(found.filePath, error);
      }
    }
    entry.defaultScale = entry.profile?.default_scale ?? this.defaultProfile.profile?.default_scale ?? 1;
  }

  private refreshDefaultProfile(): void {
    const current = this.defaultProfile;
    if (!current.filePath) return;
    const found = this.profileFileVersion([current.filePath]);
    if (found.version === current.version) return;
    try {
      this.defaultProfile = { filePath: current.filePath, version: found.version, profile: readAdapterProfileFile(current.filePath) };
    } catch (error) {
      this.defaultProfile = { filePath: current.filePath, version: found.version, error: `--default-profile ${(error as Error).message}` };
    }
    // Adapters without a profile of their own take the default's scale.
    for (const entry of this.entries.values()) entry.profileVersion = undefined;
  }

  private profileFileVersion(candidates: string[]): { filePath?: string; version: string } {
    for (const filePath of candidates) {
      try {
        const stats = statSync(filePath);
        if (stats.isFile()) return { filePath, version: `${filePath}:${versionOf(stats)}` };
      } catch {
        // Not there: try the next name.
      }
    }
    return { version: '' };
  }

  private directoryCandidate(fileName: string, source: string): { name: string; format: AdapterFormat; version: string } | undefined {
    if (fileName.startsWith('.')) return undefined;
    let stats: Stats;
    try {
      stats = statSync(source);
    } catch {
      return undefined;
    }
    if (stats.isFile() && fileName.endsWith('.gguf')) {
      const name = fileName.slice(0, -'.gguf'.length);
      return isValidAdapterName(name) ? { name, format: 'gguf', version: versionOf(stats) } : undefined;
    }
    if (stats.isDirectory() && isValidAdapterName(fileName)) {
      try {
        const config = statSync(path.join(source, PEFT_CONFIG));
        // An older export's pickled weights are taken up too, so that their refusal (and how to fix it) is logged.
        const weights = [PEFT_WEIGHTS, PICKLED_PEFT_WEIGHTS].map((file) => statIfFile(path.join(source, file))).find(Boolean);
        return weights ? { name: fileName, format: 'peft', version: `${versionOf(config)}+${versionOf(weights)}` } : undefined;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }

  private async register(name: string, source: string, format: AdapterFormat, origin: AdapterOrigin, version: string, known?: Prepared): Promise<AdapterEntry> {
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
    this.refreshProfile(entry);
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
    else if (options.suppress && entry.origin !== 'api') this.suppressedVersions.set(entry.sourcePath, entry.version);
    this.emit('removed', entry);
    return entry;
  }

  /**
   * Registers an uploaded adapter: streamed to a hidden temporary path in the directory (under --max-upload-bytes),
   * validated (a PEFT export converted), then renamed into place, so readers never see a partial file. Whatever
   * fails leaves nothing behind. `announcedBytes` (the client's Content-Length) refuses an oversized upload at once.
   */
  async receiveUpload(
    name: string,
    upload: AdapterUpload,
    options: { replace: boolean; profile?: AdapterProfile; announcedBytes?: number; announcedOverheadBytes?: number },
  ): Promise<AdapterEntry> {
    checkAdapterName(name);
    // Checked before the body is read, so a conflicting upload is refused without storing it.
    if (!options.replace && this.entries.has(name)) throw new AdapterConflictError(name);
    const limitBytes = this.options.maxUploadBytes ?? Number.MAX_SAFE_INTEGER;
    checkAnnouncedSize(options.announcedBytes, limitBytes, options.announcedOverheadBytes);
    const temporary = this.temporaryUploadPath();
    try {
      const carried = await storeAdapterUpload(upload, temporary, limitBytes);
      return await this.adoptUpload(name, temporary, upload.format, options.replace, carried ?? options.profile);
    } catch (error) {
      if (error instanceof PeftConversionError || error instanceof AdapterValidationError) this.options.onRejected?.(name, error);
      throw error;
    } finally {
      rmSync(temporary, { recursive: true, force: true });
    }
  }

  /** Validates an upload stored at `temporaryPath` and renames it into place. */
  private async adoptUpload(name: string, temporaryPath: string, format: AdapterFormat, replace: boolean, profile?: AdapterProfile): Promise<AdapterEntry> {
    checkAdapterName(name);
    if (this.entries.has(name) && !replace) throw new AdapterConflictError(name);
    const target = path.join(this.options.directory, format === 'gguf' ? `${name}.gguf` : name);
    let prepared: Prepared;
    try {
      prepared =
        format === 'gguf'
          ? { filePath: target, ...this.options.preparer.validateGguf(temporaryPath) }
          : await this.options.preparer.preparePeft(temporaryPath, name, `upload-${Date.now()}`);
    } catch (error) {
      rmSync(temporaryPath, { recursive: true, force: true });
      throw error;
    }
    const existing = this.entries.get(name);
    if (existing && !replace) throw new AdapterConflictError(name);
    if (existing && existing.origin !== 'api' && existing.sourcePath !== target) rmSync(existing.sourcePath, { recursive: true, force: true });
    if (format === 'peft') rmSync(target, { recursive: true, force: true });
    // The rename keeps inode and mtime, so the directory scan sees the same version and does not redo the work.
    renameSync(temporaryPath, target);
    // An upload is the whole adapter: a profile it does not carry is not kept from the one it replaces.
    for (const profileFile of profileFileCandidates(target, format)) storeProfileFile(profileFile, undefined);
    storeProfileFile(profileFileCandidates(target, format)[0], profile);
    const version = this.directoryCandidate(path.basename(target), target)?.version ?? String(Date.now());
    return this.register(name, target, format, 'upload', version, prepared);
  }

  /** A fresh hidden path inside the adapters directory, on the same filesystem, for streaming an upload to. */
  private temporaryUploadPath(): string {
    return path.join(this.options.directory, `${TEMPORARY_PREFIX}${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  }

  /** vLLM's load_lora_adapter: registers a file or PEFT folder that must lie inside an allowed root. */
  async registerPath(name: string, requestedPath: string, replace = false): Promise<AdapterEntry> {
    checkAdapterName(name);
    const roots = [this.options.directory, ...(this.options.allowedRoots ?? [])];
    const resolved = resolveInsideRoots(requestedPath, roots);
    if (!resolved) throw new AdapterPathError(`lora_path must be an existing file or folder inside an allowed adapters root (${roots.length} configured)`);
    const existing = this.entries.get(name);
    if (existing && !replace) throw new AdapterConflictError(name);
    const stats = statSync(resolved);
    const format: AdapterFormat = stats.isDirectory() ? 'peft' : 'gguf';
    if (format === 'peft' && !existsSync(path.join(resolved, PEFT_CONFIG))) {
      throw new AdapterPathError(`lora_path is a folder without ${PEFT_CONFIG}`);
    }
    const candidate = this.directoryCandidate(path.basename(resolved), resolved);
    const version = candidate?.version ?? versionOf(stats);
    this.suppressedVersions.delete(resolved);
    return this.register(name, resolved, format, 'api', version);
  }
}
