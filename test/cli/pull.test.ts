import { createServer } from 'node:http';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { runPull } from '../../src/cli/pullCommand.js';

// A loopback file server that honours Range requests, standing in for the model host.
const content = randomBytes(300_000);
const ranges: string[] = [];
const server = createServer((request, response) => {
  const range = request.headers.range;
  ranges.push(range ?? 'none');
  const start = range ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0;
  response.writeHead(range ? 206 : 200, { 'content-length': String(content.length - start) });
  response.end(content.subarray(start));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => server.close());
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.gguf`;

t.test('a fresh download lands complete under its final name', async (t) => {
  const out = path.join(t.testdir(), 'model.gguf');
  t.equal(await runPull(['--url', url, '--out', out, '--json']), 0);
  t.ok(readFileSync(out).equals(content));
  t.notOk(existsSync(`${out}.partial`));
});

t.test('an interrupted download resumes from its partial file with a Range request', async (t) => {
  const out = path.join(t.testdir(), 'model.gguf');
  writeFileSync(`${out}.partial`, content.subarray(0, 120_000));
  ranges.length = 0;
  t.equal(await runPull(['--url', url, '--out', out, '--json']), 0);
  t.same(ranges, ['bytes=120000-']);
  t.ok(readFileSync(out).equals(content), 'the resumed file is byte-identical');
});
