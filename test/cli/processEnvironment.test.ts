import t from 'tap';
import { readFileSync } from 'node:fs';
import { performanceEnvironment, serverProcess, userEnvironment } from '../../src/bench/benchServers.js';
import { ensureTestModels } from '../../scripts/generate-test-models.js';
import { startChildServer } from '../helpers/childServer.js';

// The CLI restarts itself once so native code starts with the allocator and thread-pool settings it was measured with.
const models = ensureTestModels();
// As a user who set neither (this test file runs in a process of its own).
delete process.env.MALLOC_ARENA_MAX;
delete process.env.MALLOC_MMAP_THRESHOLD_;
delete process.env.UV_THREADPOOL_SIZE;

async function servingEnvironment(env: NodeJS.ProcessEnv): Promise<string> {
  const server = await startChildServer({ model: models.behaviourModel, 'context-size': 256 }, env);
  try {
    return performanceEnvironment(serverProcess(server.process.pid!));
  } finally {
    server.process.kill('SIGTERM');
    await server.exited;
  }
}

t.test('the serving process gets one malloc arena, a fixed mmap threshold and a one-thread libuv pool by default', async (t) => {
  const environment = await servingEnvironment({});
  t.match(environment, /\bMALLOC_ARENA_MAX=1\b/);
  t.match(environment, /\bMALLOC_MMAP_THRESHOLD_=4194304\b/);
  t.match(environment, /\bUV_THREADPOOL_SIZE=1\b/);
});

t.test('a value the user set is kept', async (t) => {
  const environment = await servingEnvironment({ UV_THREADPOOL_SIZE: '3' });
  t.match(environment, /\bUV_THREADPOOL_SIZE=3\b/);
  t.match(environment, /\bMALLOC_ARENA_MAX=1\b/);
});

t.test('servers the bench starts get the user environment back, without what the launcher added', async (t) => {
  const added = { MALLOC_ARENA_MAX: '1', UV_THREADPOOL_SIZE: '1', ADAPTD_LAUNCHER_SET: 'MALLOC_ARENA_MAX,UV_THREADPOOL_SIZE' };
  t.same(userEnvironment({ PATH: '/bin', ...added }), { PATH: '/bin' });
  t.same(
    userEnvironment({ PATH: '/bin', MALLOC_ARENA_MAX: '2', UV_THREADPOOL_SIZE: '1', ADAPTD_LAUNCHER_SET: 'UV_THREADPOOL_SIZE' }),
    { PATH: '/bin', MALLOC_ARENA_MAX: '2' },
    "the user's own MALLOC_ARENA_MAX stays",
  );
  const server = await startChildServer({ model: models.behaviourModel, 'context-size': 256 }, {});
  try {
    const environ = readFileSync(`/proc/${serverProcess(server.process.pid!)}/environ`, 'utf8').split('\0');
    t.ok(environ.includes('ADAPTD_LAUNCHER_SET=MALLOC_ARENA_MAX,MALLOC_MMAP_THRESHOLD_,UV_THREADPOOL_SIZE'), 'the launcher says what it added');
  } finally {
    server.process.kill('SIGTERM');
    await server.exited;
  }
});
