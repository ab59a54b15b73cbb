import t from 'tap';
import { libuvPoolSize, minDecodeThreads } from '../../src/engine/LlamaEngine.js';

t.test('the libuv pool size is read as libuv reads it', async (t) => {
  t.equal(libuvPoolSize({}), 4, 'default');
  t.equal(libuvPoolSize({ UV_THREADPOOL_SIZE: '1' }), 1);
  t.equal(libuvPoolSize({ UV_THREADPOOL_SIZE: '8' }), 8);
  t.equal(libuvPoolSize({ UV_THREADPOOL_SIZE: '0' }), 4, 'nonsense falls back to the default');
  t.equal(libuvPoolSize({ UV_THREADPOOL_SIZE: 'many' }), 4);
  t.equal(libuvPoolSize({ UV_THREADPOOL_SIZE: '5000' }), 1024, 'capped like libuv');
});

t.test('a decode waits for every thread only when decodes run one at a time anyway', async (t) => {
  t.equal(minDecodeThreads(2, { UV_THREADPOOL_SIZE: '1' }), 2);
  t.equal(minDecodeThreads(8, { UV_THREADPOOL_SIZE: '1' }), 8);
  t.equal(minDecodeThreads(2, {}), 1, 'a shared pool: contexts split the threads');
});
