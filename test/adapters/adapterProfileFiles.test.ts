import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { AdapterCatalogue, type AdapterPreparer } from '../../src/adapters/AdapterCatalogue.js';
import { AdapterProfileError, parseAdapterProfile, parseAdapterProfileText } from '../../src/adapters/adapterProfileFiles.js';
import { ConfigError } from '../../src/config/serverConfig.js';
import { thrownBy } from '../helpers/errors.js';

t.test('a profile is validated, and an error names the field', async (t) => {
  t.same(parseAdapterProfile({ chat_template: 'hermes', default_scale: 0.5 }, 'x'), { chat_template: 'hermes', default_scale: 0.5 });
  t.ok(parseAdapterProfile({ chat_template: '{{ messages[0].content }}', stop: ['</s>'], template_variables: { date_string: '1 Jan 2025' } }, 'x'));
  const cases: Array<[string, unknown, string | null, RegExp]> = [
    ['unknown key (a typo)', { chat_template: 'hermes', tool_sintax: 'hermes' }, 'tool_sintax', /tool_sintax/],
    ['unknown tool syntax', { chat_template: 'hermes', tool_syntax: 'xml' }, 'tool_syntax', /tool_syntax/],
    ['a misspelt built-in name', { chat_template: 'hermse' }, 'chat_template', /base, llama3\.1, hermes, chatml/],
    ['a template that does not parse', { chat_template: '{% for m in messages %}{{ m.content }}' }, 'chat_template', /does not parse as Jinja/],
    ['no template', { description: 'x' }, 'chat_template', /chat_template/],
    ['an empty stop string', { chat_template: 'hermes', stop: ['ok', ''] }, 'stop[1]', /stop\[1\]/],
    ['a scale out of range', { chat_template: 'hermes', default_scale: 9 }, 'default_scale', /default_scale/],
    ['a variable that is not an identifier', { chat_template: 'hermes', template_variables: { 'a-b': 1 } }, 'template_variables.a-b', /template_variables/],
  ];
  for (const [what, value, field, message] of cases) {
    const error = thrownBy(() => parseAdapterProfile(value, 'A.profile.json'));
    t.type(error, AdapterProfileError, what);
    t.equal(error?.field, field, `${what}: field`);
    t.match(error?.message, /^A\.profile\.json: /, `${what}: says which file`);
    t.match(error?.message, message, `${what}: message`);
  }
  t.match(thrownBy(() => parseAdapterProfileText('{"chat_template": ', 'profile.json')), { name: 'AdapterProfileError', message: /profile\.json is not valid JSON/ });
});

/** Registers files as they are; weights are not the point here. */
const preparer: AdapterPreparer = {
  validateGguf: () => ({ rank: 8, alpha: 16 }),
  preparePeft: async (folder) => ({ filePath: path.join(folder, 'adapter_model.safetensors'), rank: 8, alpha: 16 }),
};

function touchLater(file: string, seconds: number): void {
  const when = new Date(Date.now() + seconds * 1000);
  utimesSync(file, when, when);
}

t.test('the catalogue finds each adapter profile beside it, and re-reads it when it changes', async (t) => {
  const dir = t.testdir({
    'A.gguf': 'weights',
    'A.profile.json': JSON.stringify({ chat_template: 'hermes', default_scale: 0.5, description: 'redactor' }),
    'B.gguf': 'weights',
    P: { 'adapter_config.json': '{}', 'adapter_model.safetensors': 'weights', 'profile.json': JSON.stringify({ chat_template: 'llama3.1' }) },
    Q: { 'adapter_config.json': '{}', 'adapter_model.safetensors': 'weights', 'adaptd_profile.json': JSON.stringify({ chat_template: 'chatml' }) },
    'Broken.gguf': 'weights',
    'Broken.profile.json': '{"chat_template": "hermes", "tool_syntax": "yaml"}',
  });
  const rejected: string[] = [];
  const catalogue = new AdapterCatalogue({ directory: dir, preparer, onRejected: (source) => rejected.push(path.basename(source)) });
  await catalogue.rescan();
  const profileOf = (name: string) => catalogue.effectiveProfile(catalogue.find(name));
  t.match(profileOf('A'), { source: 'file', profile: { chat_template: 'hermes' } });
  t.equal(catalogue.get('A').defaultScale, 0.5, "the profile's default scale");
  t.same(profileOf('B'), { profile: undefined, source: 'builtin' }, 'none: the base template');
  t.match(profileOf('P').profile, { chat_template: 'llama3.1' }, "a PEFT folder's profile.json");
  t.match(profileOf('Q').profile, { chat_template: 'chatml' }, "a PEFT folder's adaptd_profile.json");
  t.match(profileOf('Broken'), { source: 'file', error: /tool_syntax/ }, 'a broken profile is an error, not a silent fallback');
  t.same(rejected, ['Broken.profile.json']);

  writeFileSync(path.join(dir, 'A.profile.json'), JSON.stringify({ chat_template: 'llama3.1' }));
  touchLater(path.join(dir, 'A.profile.json'), 5);
  writeFileSync(path.join(dir, 'B.profile.json'), JSON.stringify({ chat_template: 'chatml', default_scale: 0.25 }));
  writeFileSync(path.join(dir, 'Broken.profile.json'), JSON.stringify({ chat_template: 'hermes' }));
  touchLater(path.join(dir, 'Broken.profile.json'), 5);
  await catalogue.rescan();
  t.match(profileOf('A').profile, { chat_template: 'llama3.1' }, 'an edited profile is re-read');
  t.equal(catalogue.get('A').defaultScale, 1, 'and its scale with it');
  t.match(profileOf('B'), { source: 'file', profile: { chat_template: 'chatml' } }, 'a new profile file is picked up');
  t.equal(catalogue.get('B').defaultScale, 0.25);
  t.same(profileOf('Broken'), { source: 'file', profile: { chat_template: 'hermes' } }, 'a fixed profile is used');

  catalogue.setProfile('P', undefined);
  t.same(profileOf('P'), { profile: undefined, source: 'builtin' }, 'a removed profile falls back');
  catalogue.setProfile('P', { chat_template: 'hermes' });
  await catalogue.rescan();
  t.match(profileOf('P').profile, { chat_template: 'hermes' }, 'a stored profile stays after a rescan');

  catalogue.remove('A', { deleteFiles: true });
  t.notOk(existsSync(path.join(dir, 'A.profile.json')), 'removing an adapter removes its profile file with it');
});

t.test('--default-profile: a built-in name or a file, for adapters without their own; a bad one stops the start', async (t) => {
  const dir = t.testdir({ 'A.gguf': 'w', 'B.gguf': 'w', 'B.profile.json': JSON.stringify({ chat_template: 'hermes' }), 'default.json': JSON.stringify({ chat_template: 'chatml', default_scale: 0.75 }) });
  const byName = new AdapterCatalogue({ directory: dir, preparer, defaultProfile: 'llama3.1' });
  await byName.rescan();
  t.same(byName.effectiveProfile(byName.find('A')), { profile: { chat_template: 'llama3.1' }, source: 'default' });
  t.same(byName.effectiveProfile(undefined), { profile: { chat_template: 'llama3.1' }, source: 'default' }, 'the base model too');
  t.match(byName.effectiveProfile(byName.find('B')), { source: 'file', profile: { chat_template: 'hermes' } }, "an adapter's own profile wins");

  const byFile = new AdapterCatalogue({ directory: dir, preparer, defaultProfile: path.join(dir, 'default.json') });
  await byFile.rescan();
  t.match(byFile.effectiveProfile(byFile.find('A')), { source: 'default', profile: { chat_template: 'chatml' } });
  t.equal(byFile.get('A').defaultScale, 0.75, "the default profile's scale applies to adapters without their own");
  writeFileSync(path.join(dir, 'default.json'), '{"chat_template": 3}');
  touchLater(path.join(dir, 'default.json'), 5);
  await byFile.rescan();
  t.match(byFile.effectiveProfile(byFile.find('A')), { source: 'default', error: /--default-profile default\.json: chat_template/ }, 'a default broken later is reported per request');

  for (const [spec, message] of [
    ['nope', /nope is neither a built-in profile/],
    [path.join(dir, 'default.json'), /chat_template/],
  ] as const) {
    const error = thrownBy(() => new AdapterCatalogue({ directory: path.join(dir, 'other'), preparer, defaultProfile: spec }));
    t.type(error, ConfigError, `${spec}: a configuration error`);
    t.match(error.message, message);
  }
});
