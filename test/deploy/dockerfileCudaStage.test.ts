// The GPU image rebuilds the CUDA backend in a builder stage; the CPU image must not need that stage. Building
// either image needs a registry (scripts/container-build.sh builds the CPU one with podman); this checks the wiring.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { DEFAULT_CUDA_ARCHITECTURES } from '../../src/engine/cudaBuildPlan.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');

t.test('a CUDA devel builder stage compiles the backend for the architectures of a build argument', async (t) => {
  t.match(dockerfile, /^ARG CUDA_DEVEL_IMAGE=nvidia\/cuda:13\.0\.\d+-devel-ubuntu24\.04$/m, 'CUDA 13.0: PTX every CUDA 13 driver accepts');
  const archs = /^ARG CUDA_ARCHS="([^"]+)"$/m.exec(dockerfile)?.[1];
  t.equal(archs, DEFAULT_CUDA_ARCHITECTURES.join(';'), "the build script's default list");
  t.match(dockerfile, /^FROM \$\{CUDA_DEVEL_IMAGE\} AS backend-cuda$/m);
  t.match(dockerfile, /build-cuda-backend\.sh --archs "\$CUDA_ARCHS"/);
  t.match(dockerfile, /libggml-cuda\.so\.prebuilt/, 'the shipped library is not kept in the image');
});

t.test('the runtime stage stays on the runtime base and takes node_modules from the stage GPU selects', async (t) => {
  t.match(dockerfile, /^FROM deps AS backend-off$/m, 'the CPU image builds no CUDA stage');
  t.match(dockerfile, /^FROM backend-\$\{GPU\} AS backend$/m);
  t.match(dockerfile, /^FROM \$\{BASE_IMAGE\} AS runtime$/m);
  t.match(dockerfile, /^COPY --from=backend \/app\/node_modules \.\/node_modules$/m);
  t.notMatch(dockerfile, /^COPY --from=deps \/app\/node_modules \.\/node_modules$/m);
  const ignore = readFileSync(path.join(root, '.dockerignore'), 'utf8');
  for (const file of ['scripts/build-cuda-backend.sh', 'scripts/cuda-build-plan.ts']) t.match(ignore, `!${file}`, `${file} is in the build context`);
});
