import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { AdapterEntry } from '../../src/adapters/AdapterCatalogue.js';
import { AdapterDirectory } from '../../src/adapters/AdapterDirectory.js';

// The directory pass lists the folder, then registers what it found one by one; a PEFT conversion can take seconds.
// An upload renamed into place and registered meanwhile is not in that listing, and must survive the pass.
t.test('an adapter registered while a pass converts another is not dropped by that pass', async (t) => {
  const dir = t.testdir({ 'slow.gguf': 'weights' });
  const entries = new Map<string, AdapterEntry>();
  const entry = (name: string, origin: AdapterEntry['origin'], registeredAt = Date.now()) => ({ name, origin, version: 'v1', registeredAt }) as AdapterEntry;
  entries.set('deleted', entry('deleted', 'directory', Date.now() - 60_000));
  let finishConversion = () => {};
  const conversion = new Promise<void>((resolve) => (finishConversion = resolve));
  const directory = new AdapterDirectory(dir, {
    entries: () => entries.values(),
    find: (name) => entries.get(name),
    register: async (source) => {
      if (source.name === 'slow') await conversion;
      entries.set(source.name, entry(source.name, 'directory'));
    },
    unregister: (name) => entries.delete(name),
    scanned: () => {},
  });

  const pass = directory.rescan();
  await new Promise((resolve) => setTimeout(resolve, 20));
  writeFileSync(path.join(dir, 'uploaded.gguf'), 'weights');
  entries.set('uploaded', entry('uploaded', 'upload'));
  finishConversion();
  await pass;
  t.same([...entries.keys()].sort(), ['slow', 'uploaded'], 'the upload stays; the adapter whose file is gone is dropped');
});
