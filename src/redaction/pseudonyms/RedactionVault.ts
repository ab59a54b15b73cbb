import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { VaultKeyMismatchError } from '../redactionErrors.js';
import { Pseudonymizer, type PseudonymSource } from './Pseudonymizer.js';
import { replaceSpans, resolveSpans } from '../resolveSpans.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS vault_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS pseudonyms (
    pii_type TEXT NOT NULL,
    original TEXT NOT NULL,
    fake TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
  );
  CREATE UNIQUE INDEX IF NOT EXISTS pseudonyms_by_original ON pseudonyms (pii_type, original);
  -- One original per fake, across types, or restoring would have to guess.
  CREATE UNIQUE INDEX IF NOT EXISTS pseudonyms_by_fake ON pseudonyms (fake);
`;

const GENERATED_KEY = 'generated_key';
const KEY_FINGERPRINT = 'key_fingerprint';
const GENERATED_KEY_BYTES = 32;

export interface VaultOptions {
  /** SQLite file; its folder is created if missing. */
  path: string;
  /** The configured pseudonymisation key. Without one, the vault makes a key and keeps it in its own file. */
  key?: string | Uint8Array;
}

interface PseudonymRow {
  pii_type: string;
  original: string;
  fake: string;
}

/**
 * The mapping between originals and their fakes, kept so pseudonyms stay the same across requests
 * and restarts and so an authorised caller can restore the originals. The vault holds the
 * originals, so the file is as sensitive as the documents themselves; a generated key stored
 * beside them adds nothing to what the file already reveals.
 */
export class RedactionVault implements PseudonymSource {
  private readonly db: Database.Database;
  private readonly pseudonymizer: Pseudonymizer;
  private readonly statements;

  constructor(db: Database.Database, pseudonymizer: Pseudonymizer) {
    this.db = db;
    this.pseudonymizer = pseudonymizer;
    this.statements = {
      byOriginal: db.prepare<[string, string], { fake: string }>('SELECT fake FROM pseudonyms WHERE pii_type = ? AND original = ?'),
      fakeTaken: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM pseudonyms WHERE fake = ?'),
      isOriginal: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM pseudonyms WHERE pii_type = ? AND original = ?'),
      insert: db.prepare<[string, string, string]>('INSERT INTO pseudonyms (pii_type, original, fake) VALUES (?, ?, ?)'),
      countOfType: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM pseudonyms WHERE pii_type = ?'),
      fakesIn: db.prepare<[string], PseudonymRow>('SELECT pii_type, original, fake FROM pseudonyms WHERE instr(?, fake) > 0'),
    };
  }

  /** The value's fake: the stored one, or a new one no other value uses, stored before it is returned. */
  pseudonymize(value: string, piiType: string): string {
    const assign = this.db.transaction(() => {
      const stored = this.statements.byOriginal.get(piiType, value);
      if (stored) return stored.fake;
      const fake = this.unusedFake(value, piiType);
      this.statements.insert.run(piiType, value, fake);
      return fake;
    });
    // IMMEDIATE takes the write lock first, so two processes cannot hand out the same fake.
    return assign.immediate();
  }

  /** Replaces every known fake in the text by its original, longest fakes first. */
  restore(text: string): string {
    const rows = this.statements.fakesIn.all(text).map((row) => ({ ...row, string: row.fake }));
    const { entities } = resolveSpans(text, rows, { insideWords: 'never' });
    return replaceSpans(
      text,
      entities.flatMap((e) => e.occurrences.map((span) => ({ ...span, replacement: e.original }))),
    );
  }

  close(): void {
    this.db.close();
  }

  // A fake must be no other value's fake (restoring could not tell them apart) and no known
  // original of its type (a reader would take Bob's fake "Anna" for the real Anna). When a small
  // vocabulary (sexes, currency symbols) is used up, a numbered placeholder keeps the mapping one-to-one.
  private unusedFake(value: string, piiType: string): string {
    for (const fake of this.pseudonymizer.candidates(value, piiType)) {
      if (!this.statements.fakeTaken.get(fake) && !this.statements.isOriginal.get(piiType, fake)) return fake;
    }
    for (let n = this.statements.countOfType.get(piiType)!.n + 1; ; n++) {
      const placeholder = `${piiType}_${n}`;
      if (!this.statements.fakeTaken.get(placeholder)) return placeholder;
    }
  }
}

export function openVault({ path, key }: VaultOptions): RedactionVault {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    // The CLI and the server may share a vault file.
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    // Inside the transaction so that a key the Pseudonymizer refuses is not recorded.
    const pseudonymizer = db.transaction(() => new Pseudonymizer(resolveKey(db, key))).immediate();
    return new RedactionVault(db, pseudonymizer);
  } catch (error) {
    db.close();
    throw error;
  }
}

// A vault keeps pseudonyms stable only with the key it started with, so a different key is refused.
function resolveKey(db: Database.Database, configured: string | Uint8Array | undefined): Buffer {
  const meta = (name: string) =>
    db.prepare<[string], { value: string }>('SELECT value FROM vault_meta WHERE name = ?').get(name)?.value;
  const setMeta = (name: string, value: string) =>
    db.prepare('INSERT INTO vault_meta (name, value) VALUES (?, ?)').run(name, value);
  const generated = meta(GENERATED_KEY);
  const key = configured !== undefined ? Buffer.from(configured) : generated !== undefined ? Buffer.from(generated, 'hex') : undefined;
  const fingerprint = meta(KEY_FINGERPRINT);
  if (key === undefined) {
    if (fingerprint !== undefined) throw new VaultKeyMismatchError('this vault was created with a configured key; configure that key');
    const fresh = randomBytes(GENERATED_KEY_BYTES);
    setMeta(GENERATED_KEY, fresh.toString('hex'));
    setMeta(KEY_FINGERPRINT, fingerprintOf(fresh));
    return fresh;
  }
  if (fingerprint === undefined) setMeta(KEY_FINGERPRINT, fingerprintOf(key));
  else if (fingerprint !== fingerprintOf(key)) {
    throw new VaultKeyMismatchError(
      generated !== undefined
        ? 'this vault made its own key; leave the pseudonymisation key unconfigured or use a new vault file'
        : 'the configured pseudonymisation key is not the key this vault was created with',
    );
  }
  return key;
}

function fingerprintOf(key: Buffer): string {
  return createHmac('sha256', key).update('adaptd redaction vault key check').digest('hex');
}
