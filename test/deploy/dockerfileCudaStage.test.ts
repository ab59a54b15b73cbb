// The GPU image builds the patched native engine with CUDA in a builder stage; the CPU image must not need that stage. Building
// either image needs a registry (scripts/container-build.sh builds the CPU one with podman); this checks the wiring.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { DEFAULT_CUDA_ARCHITECTURES } from '../../src/engine/cudaBuildPlan.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

t.test('a CUDA devel builder stage compiles the native engine for the architectures of a build argument', async (t) => {
  t.match(dockerfile, /^ARG CUDA_DEVEL_IMAGE=nvidia\/cuda:13\.0\.\d+-devel-ubuntu24\.04$/m, 'CUDA 13.0: PTX every CUDA 13 driver accepts');
  const archs = /^ARG CUDA_ARCHS="([^"]+)"$/m.exec(dockerfile)?.[1];
  t.equal(archs, DEFAULT_CUDA_ARCHITECTURES.join(';'), "the build script's default list");
  t.match(dockerfile, /^FROM \$\{CUDA_DEVEL_IMAGE\} AS backend-cuda$/m);
  t.match(dockerfile, /scripts\/build-native\.sh --cuda-archs "\$CUDA_ARCHS" --portable/, 'the one native build script, CPU code for any machine');
  t.match(dockerfile, /^COPY native\/patches \.\/native\/patches$/m, 'the patches it applies');
  t.notMatch(dockerfile, /build-cuda-backend/);
});

t.test('the runtime stage stays on the runtime base and takes node_modules from the stage GPU selects', async (t) => {
  t.match(dockerfile, /^FROM deps AS backend-off$/m, 'the CPU image builds no CUDA stage');
  t.match(dockerfile, /^FROM backend-\$\{GPU\} AS backend$/m);
  t.match(dockerfile, /^FROM \$\{BASE_IMAGE\} AS runtime$/m);
  t.match(dockerfile, /^COPY --from=backend \/app\/node_modules \.\/node_modules$/m);
  const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
  t.notMatch(runtime, /^COPY --from=deps \/app\/node_modules \.\/node_modules$/m);
  // The runtime finds the build where the builder left it, and loads it only when the patches match its own.
  t.match(runtime, /^COPY --from=backend \/app\/native-builds \.\/native-builds$/m);
  t.match(runtime, /^COPY native\/patches \.\/native\/patches$/m);
  t.match(runtime, /ADAPTD_NATIVE_CACHE=\/app\/native-builds/);
  t.match(dockerfile.slice(dockerfile.indexOf('AS deps'), dockerfile.indexOf('AS backend-off')), /mkdir -p native-builds/, 'the CPU image has an empty cache to copy');
  const ignore = readFileSync(path.join(root, '.dockerignore'), 'utf8');
  for (const file of ['scripts/build-native.sh', 'scripts/cuda-build-plan.ts', 'native/patches/**']) t.match(ignore, `!${file}`, `${file} is in the build context`);
});
