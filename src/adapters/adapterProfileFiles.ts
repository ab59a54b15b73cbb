import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Template } from '@huggingface/jinja';
import { adapterProfile, BUILTIN_PROFILE_NAMES, isBuiltinProfileName, type AdapterProfile } from '../protocol/adapterProfile.js';

export type { AdapterProfile } from '../protocol/adapterProfile.js';

/** A profile that cannot be used; `field` names the offending key (`chat_template`, `stop[1]`, …) when known. */
export class AdapterProfileError extends Error {
  override name = 'AdapterProfileError';
  constructor(
    readonly field: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** Profiles are small; anything larger is a mistake, not a template. */
const MAX_PROFILE_BYTES = 1024 * 1024;

export const GGUF_PROFILE_SUFFIX = '.profile.json';
/** Inside a PEFT folder, in order of preference. */
export const PEFT_PROFILE_FILES = ['profile.json', 'adaptd_profile.json'];

/** Where an adapter's profile may be, first the one written when a profile is stored. */
export function profileFileCandidates(sourcePath: string, format: 'gguf' | 'peft'): string[] {
  if (format === 'peft') return PEFT_PROFILE_FILES.map((file) => path.join(sourcePath, file));
  return [`${sourcePath.replace(/\.gguf$/i, '')}${GGUF_PROFILE_SUFFIX}`];
}

/** Validates a decoded profile; `where` prefixes messages so the user knows which file or part is wrong. */
export function parseAdapterProfile(value: unknown, where: string): AdapterProfile {
  const parsed = adapterProfile.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // An unknown key is reported on the object; name the key itself, as it is usually a typo.
    const field = fieldName(issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path);
    throw new AdapterProfileError(field, `${where}: ${field ?? 'profile'}: ${issue.message}`);
  }
  const template = parsed.data.chat_template;
  if (!isBuiltinProfileName(template)) {
    try {
      new Template(template);
    } catch (error) {
      throw new AdapterProfileError('chat_template', `${where}: chat_template does not parse as Jinja: ${(error as Error).message}`);
    }
  }
  return parsed.data;
}

export function parseAdapterProfileText(text: string, where: string): AdapterProfile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AdapterProfileError(null, `${where} is not valid JSON: ${(error as Error).message}`);
  }
  return parseAdapterProfile(value, where);
}

export function readAdapterProfileFile(filePath: string): AdapterProfile {
  const where = path.basename(filePath);
  if (statSync(filePath).size > MAX_PROFILE_BYTES) throw new AdapterProfileError(null, `${where} is larger than ${MAX_PROFILE_BYTES} bytes`);
  return parseAdapterProfileText(readFileSync(filePath, 'utf8'), where);
}

/** `--default-profile`: a built-in name, or the path of a profile file. */
export function defaultProfileSpec(spec: string): { profile: AdapterProfile } | { filePath: string } {
  if (isBuiltinProfileName(spec)) return { profile: { chat_template: spec } };
  if (!existsSync(spec)) throw new AdapterProfileError(null, `${spec} is neither a built-in profile (${BUILTIN_PROFILE_NAMES.join(', ')}) nor an existing file`);
  return { filePath: path.resolve(spec) };
}

/** Writes a profile file atomically (readers never see half of it), or removes it when `profile` is undefined. */
export function storeProfileFile(filePath: string, profile: AdapterProfile | undefined): void {
  if (!profile) {
    rmSync(filePath, { force: true });
    return;
  }
  const temporary = path.join(path.dirname(filePath), `.profile-${process.pid}-${Date.now()}.tmp`);
  try {
    writeFileSync(temporary, `${JSON.stringify(profile, null, 2)}\n`, { flag: 'wx' });
    renameSync(temporary, filePath);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new AdapterProfileError(null, `the profile could not be stored beside the adapter: ${(error as NodeJS.ErrnoException).code ?? 'write failed'}`);
  }
}

/** ["stop", 1] → "stop[1]", as the API names fields elsewhere. */
function fieldName(parts: PropertyKey[]): string | null {
  if (parts.length === 0) return null;
  return parts.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}
