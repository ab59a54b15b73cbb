import { statSync } from 'node:fs';
import { ConfigError } from '../config/serverConfig.js';
import { AdapterProfileError, defaultProfileSpec, profileFileCandidates, readAdapterProfileFile, type AdapterProfile } from './adapterProfileFiles.js';
import { fileVersion } from './AdapterSource.js';
import type { AdapterEntry, EffectiveProfile } from './AdapterCatalogue.js';

interface DefaultProfile {
  profile?: AdapterProfile;
  filePath?: string;
  version?: string;
  error?: string;
}

/**
 * Keeps each adapter's prompt profile, and the server's default profile (`--default-profile`), in step with their
 * files: a file that appears, changes or goes away is re-read on the next refresh.
 */
export class ProfileRefresher {
  private defaultProfile: DefaultProfile = {};

  /** A broken default profile stops the server at start; later edits to its file are re-read and reported per request. */
  constructor(
    defaultProfile: string | undefined,
    private readonly onRejected?: (source: string, error: unknown) => void,
  ) {
    if (defaultProfile) this.defaultProfile = loadDefaultProfile(defaultProfile);
  }

  /** The adapter's own profile, else the default profile, else none (the base model's template). */
  effective(entry: AdapterEntry | undefined): EffectiveProfile {
    if (entry?.profileError) return { profile: undefined, source: 'file', error: entry.profileError };
    if (entry?.profile) return { profile: entry.profile, source: 'file' };
    const fallback = this.defaultProfile;
    if (fallback.error) return { profile: undefined, source: 'default', error: fallback.error };
    return fallback.profile ? { profile: fallback.profile, source: 'default' } : { profile: undefined, source: 'builtin' };
  }

  /** Re-reads the default profile's file, then each adapter's, where it appeared, changed or went away. */
  refreshAll(entries: Iterable<AdapterEntry>): void {
    const all = [...entries];
    if (this.refreshDefault()) {
      // Adapters without a profile of their own take the default's scale.
      for (const entry of all) entry.profileVersion = undefined;
    }
    for (const entry of all) this.refresh(entry);
  }

  /** Re-reads an adapter's profile file when it appeared, changed or went away since it was last read. */
  refresh(entry: AdapterEntry): void {
    const found = profileFileVersion(profileFileCandidates(entry.sourcePath, entry.format));
    if (found.version === entry.profileVersion) return;
    entry.profileVersion = found.version;
    entry.profile = undefined;
    entry.profileError = undefined;
    if (found.filePath) {
      try {
        entry.profile = readAdapterProfileFile(found.filePath);
      } catch (error) {
        entry.profileError = (error as Error).message;
        this.onRejected?.(found.filePath, error);
      }
    }
    entry.defaultScale = entry.profile?.default_scale ?? this.defaultProfile.profile?.default_scale ?? 1;
  }

  /** Whether the default profile's file changed (and was re-read). */
  private refreshDefault(): boolean {
    const current = this.defaultProfile;
    if (!current.filePath) return false;
    const found = profileFileVersion([current.filePath]);
    if (found.version === current.version) return false;
    try {
      this.defaultProfile = { filePath: current.filePath, version: found.version, profile: readAdapterProfileFile(current.filePath) };
    } catch (error) {
      this.defaultProfile = { filePath: current.filePath, version: found.version, error: `--default-profile ${(error as Error).message}` };
    }
    return true;
  }
}

function loadDefaultProfile(spec: string): DefaultProfile {
  try {
    const given = defaultProfileSpec(spec);
    if ('profile' in given) return given;
    const { version } = profileFileVersion([given.filePath]);
    return { filePath: given.filePath, version, profile: readAdapterProfileFile(given.filePath) };
  } catch (error) {
    if (error instanceof AdapterProfileError) throw new ConfigError(`--default-profile: ${error.message}`);
    throw error;
  }
}

/** The first of `candidates` that is a file, with a version that changes with its path and content. */
function profileFileVersion(candidates: string[]): { filePath?: string; version: string } {
  for (const filePath of candidates) {
    try {
      const stats = statSync(filePath);
      if (stats.isFile()) return { filePath, version: `${filePath}:${fileVersion(stats)}` };
    } catch {
      // Not there: try the next name.
    }
  }
  return { version: '' };
}
