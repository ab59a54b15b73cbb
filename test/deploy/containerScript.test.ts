// scripts/container-build.sh needs root, podman and minutes of network, so npm test does not run it (see
// docs/scaling-out.md); this keeps it parseable and its promises about this machine's constraints in place.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = path.join(root, 'scripts/container-build.sh');

t.test('the container build script parses and documents itself', async (t) => {
  execFileSync('bash', ['-n', script]);
  const help = execFileSync('bash', [script, '--help'], { encoding: 'utf8' });
  t.match(help, /podman/);
  t.match(help, /--gpu/);
});

t.test('it builds the CPU variant the way this machine allows and smoke-tests what the issue asks', async (t) => {
  const text = readFileSync(script, 'utf8');
  t.match(text, /debootstrap --variant=minbase/, 'a locally made base');
  t.match(text, /import/, 'podman import');
  t.match(text, /runtime = "runc"/, 'runc, not crun');
  t.match(text, /default_ulimits/, 'lowered default ulimits');
  t.match(text, /--secret id=npm_ca,src=/, 'the CA bundle as a build secret');
  t.match(text, /--build-arg GPU=off/, 'the CPU variant');
  t.match(text, /\/health/);
  t.match(text, /\/v1\/chat\/completions/);
  t.match(text, /--signal TERM/);
  t.match(text, /CANNOT RUN ON THIS MACHINE/, 'names the step that cannot run');
});
