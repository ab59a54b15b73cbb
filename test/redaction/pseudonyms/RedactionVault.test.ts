import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { applyRedaction } from '../../../src/redaction/redactCall/applyRedaction.js';
import { Pseudonymizer } from '../../../src/redaction/pseudonyms/Pseudonymizer.js';
import { openVault } from '../../../src/redaction/pseudonyms/RedactionVault.js';
import { VaultKeyMismatchError } from '../../../src/redaction/redactionErrors.js';
import { resolveSpans, type Proposal } from '../../../src/redaction/resolveSpans.js';

const KEY = 'configured key, 32 bytes long!!!';

const document = 'Anna Meyer (anna.meyer@corp.com, IBAN DE89 3704 0044 0532 0130 00) wrote to Anna and to Bob.';
const proposals: Proposal[] = [
  { string: 'Anna', pii_type: 'FIRSTNAME', source: 'llm' },
  { string: 'Bob', pii_type: 'FIRSTNAME', source: 'llm' },
  { string: 'Meyer', pii_type: 'LASTNAME', source: 'llm' },
  { string: 'anna.meyer@corp.com', pii_type: 'EMAIL', source: 'rules' },
  { string: 'DE89 3704 0044 0532 0130 00', pii_type: 'IBAN', source: 'rules' },
];

t.test('pseudonymises consistently and restores the original text', async (t) => {
  const vault = openVault({ path: join(t.testdir(), 'vault.sqlite'), key: KEY });
  t.teardown(() => vault.close());
  const { entities } = resolveSpans(document, proposals);
  const redacted = applyRedaction(document, entities, 'pseudonymize', vault);
  for (const p of proposals) t.notOk(redacted.includes(p.string), `${p.string} is gone`);
  const annaFake = vault.pseudonymize('Anna', 'FIRSTNAME');
  t.equal(redacted.split(annaFake).length - 1, 2, 'both Annas got the same fake');
  t.equal(vault.restore(redacted), document);
});

t.test('reopening the file (a restart) gives the same fakes, with a generated key', async (t) => {
  const path = join(t.testdir(), 'nested', 'vault.sqlite');
  const first = openVault({ path });
  const redacted = applyRedaction(document, resolveSpans(document, proposals).entities, 'pseudonymize', first);
  const fakes = proposals.map((p) => first.pseudonymize(p.string, p.pii_type));
  first.close();

  const reopened = openVault({ path });
  t.teardown(() => reopened.close());
  t.same(proposals.map((p) => reopened.pseudonymize(p.string, p.pii_type)), fakes);
  t.equal(reopened.restore(redacted), document);
  const fresh = openVault({ path: join(t.testdir(), 'other.sqlite') });
  t.teardown(() => fresh.close());
  t.not(reopened.pseudonymize('zed@corp.com', 'EMAIL'), fresh.pseudonymize('zed@corp.com', 'EMAIL'), 'each vault makes its own key');
});

t.test('a configured key gives the same fakes in any vault file', async (t) => {
  const dir = t.testdir();
  const a = openVault({ path: join(dir, 'a.sqlite'), key: KEY });
  const b = openVault({ path: join(dir, 'b.sqlite'), key: KEY });
  t.teardown(() => (a.close(), b.close()));
  for (const p of proposals) t.equal(a.pseudonymize(p.string, p.pii_type), b.pseudonymize(p.string, p.pii_type), p.string);
});

t.test('a vault refuses a key other than the one it started with', async (t) => {
  const dir = t.testdir();
  const configured = join(dir, 'configured.sqlite');
  const generated = join(dir, 'generated.sqlite');
  openVault({ path: configured, key: KEY }).close();
  openVault({ path: generated }).close();
  t.throws(() => openVault({ path: configured, key: 'a different key of 32 bytes here' }), VaultKeyMismatchError);
  t.throws(() => openVault({ path: configured }), VaultKeyMismatchError, 'the configured key is missing');
  t.throws(() => openVault({ path: generated, key: KEY }), { name: 'VaultKeyMismatchError', message: /made its own key/ });
  const again = openVault({ path: configured, key: KEY });
  again.close();
  t.throws(() => openVault({ path: join(dir, 'short.sqlite'), key: 'short' }), { name: 'RedactionInputError' });
  openVault({ path: join(dir, 'short.sqlite'), key: KEY }).close();
  t.pass('a refused short key is not recorded');
});

t.test('the file is a WAL SQLite database with unique indexes on (type, original) and fake', async (t) => {
  const path = join(t.testdir(), 'vault.sqlite');
  const vault = openVault({ path });
  vault.pseudonymize('Anna', 'FIRSTNAME');
  const db = new Database(path, { readonly: true });
  t.teardown(() => (db.close(), vault.close()));
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const indexes = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'pseudonyms'").all() as Array<{ sql: string }>;
  t.same(indexes.map((i) => i.sql.replace(/\s+/g, ' ')).sort(), [
    'CREATE UNIQUE INDEX pseudonyms_by_fake ON pseudonyms (fake)',
    'CREATE UNIQUE INDEX pseudonyms_by_original ON pseudonyms (pii_type, original)',
  ]);
  t.same(db.prepare('SELECT pii_type, original FROM pseudonyms').all(), [{ pii_type: 'FIRSTNAME', original: 'Anna' }]);
});

t.test('no two originals share a fake, even beyond a small vocabulary', async (t) => {
  const vault = openVault({ path: join(t.testdir(), 'vault.sqlite'), key: KEY });
  t.teardown(() => vault.close());
  const names = Array.from({ length: 400 }, (_, i) => `Name${i}`);
  const nameFakes = names.map((n) => vault.pseudonymize(n, 'FIRSTNAME'));
  t.equal(new Set(nameFakes).size, names.length, '400 first names, 400 fakes');
  t.ok(nameFakes.every((f) => /^[A-Z][a-z]+(?:-[A-Z][a-z]+)?$/.test(f)), 'all still look like names');
  const sexes = Array.from({ length: 10 }, (_, i) => `sex${i}`);
  const sexFakes = sexes.map((s) => vault.pseudonymize(s, 'SEX'));
  t.equal(new Set(sexFakes).size, sexes.length, 'placeholders once the vocabulary is used up');
  t.ok(sexFakes.some((f) => /^SEX_\d+$/.test(f)));
  const text = sexFakes.join(', ');
  t.equal(vault.restore(text), sexes.join(', '));
});

t.test("a fake is never another value's original", async (t) => {
  const vault = openVault({ path: join(t.testdir(), 'vault.sqlite'), key: KEY });
  t.teardown(() => vault.close());
  const [preferred] = new Pseudonymizer(KEY).candidates('Bob', 'FIRSTNAME');
  vault.pseudonymize(preferred, 'FIRSTNAME');
  const bob = vault.pseudonymize('Bob', 'FIRSTNAME');
  t.not(bob, preferred, `Bob's first choice ${preferred} is a real person here`);
  t.match(bob, /^[A-Z][a-z]+$/);
});

t.test('restore replaces longest fakes first and leaves other words alone', async (t) => {
  const vault = openVault({ path: join(t.testdir(), 'vault.sqlite'), key: KEY });
  t.teardown(() => vault.close());
  const first = vault.pseudonymize('Anna', 'FIRSTNAME');
  const full = vault.pseudonymize('Anna Meyer', 'LASTNAME');
  const text = `${full} and ${first}; ${first}son is someone else.`;
  t.equal(vault.restore(text), `Anna Meyer and Anna; ${first}son is someone else.`);
  t.equal(vault.restore('nothing known here'), 'nothing known here');
});
