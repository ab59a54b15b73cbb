import { readdirSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { adapterSourceAt, type AdapterSource } from './AdapterSource.js';
import type { AdapterEntry } from './AdapterCatalogue.js';

/** What the directory scan needs of the catalogue it keeps in sync. */
export interface DirectoryScanTarget {
  entries(): Iterable<AdapterEntry>;
  find(name: string): AdapterEntry | undefined;
  /** Registers (or re-registers) a source found in the directory; throws when the file is not usable. */
  register(source: AdapterSource, sourcePath: string): Promise<unknown>;
  unregister(name: string): void;
  /** Called after each pass over the directory. */
  scanned(): void;
  onRejected?: (source: string, error: unknown) => void;
}

/**
 * Keeps the catalogue in step with the adapters directory: a watcher reacts to changes at once, and a slow poll
 * backs it up. A file refused once is not tried again until its content changes; neither is one unloaded through
 * the API (`suppress`).
 */
export class AdapterDirectory {
  private readonly rejectedVersions = new Map<string, string>();
  /** Directory sources unloaded through the API: not registered again until their content changes. */
  private readonly suppressedVersions = new Map<string, string>();
  private watcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private rescanTimer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private rescanAgain = false;

  constructor(
    readonly directory: string,
    private readonly target: DirectoryScanTarget,
  ) {}

  /** Registers what is in the directory now and drops what is gone; then keeps doing so as files change. */
  async start(): Promise<void> {
    await this.rescan();
    try {
      this.watcher = watch(this.directory, () => this.scheduleRescan());
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

  /** Keeps a source unloaded through the API off the catalogue until its content changes. */
  suppress(sourcePath: string, version: string): void {
    this.suppressedVersions.set(sourcePath, version);
  }

  unsuppress(sourcePath: string): void {
    this.suppressedVersions.delete(sourcePath);
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
    const listedAt = Date.now();
    let names: string[];
    try {
      names = readdirSync(this.directory);
    } catch {
      return;
    }
    for (const fileName of names) {
      const sourcePath = path.join(this.directory, fileName);
      const source = adapterSourceAt(sourcePath);
      if (!source) continue;
      seen.add(source.name);
      const existing = this.target.find(source.name);
      if (existing && existing.origin === 'api') continue;
      if (existing && existing.version === source.version) continue;
      if (this.rejectedVersions.get(sourcePath) === source.version) continue;
      if (this.suppressedVersions.get(sourcePath) === source.version) continue;
      try {
        await this.target.register(source, sourcePath);
        this.rejectedVersions.delete(sourcePath);
      } catch (error) {
        this.rejectedVersions.set(sourcePath, source.version);
        this.target.onRejected?.(sourcePath, error);
      }
    }
    // Only what the listing could have seen: an upload registered while this pass awaited a conversion was renamed
    // into place after the listing, and dropping it made the adapter vanish until the next pass.
    for (const entry of [...this.target.entries()]) {
      if (entry.origin !== 'api' && !seen.has(entry.name) && entry.registeredAt < listedAt) this.target.unregister(entry.name);
    }
    this.target.scanned();
  }
}
