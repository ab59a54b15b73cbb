import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import t, { type Test as Tap } from 'tap';
import { runEval } from '../../src/cli/evalCommand.js';
import { synthesizeRows } from '../../src/redaction/dataset/synthesizeRows.js';
import { captureIo, startScriptedEndpoint, type ScriptedAnswer } from '../helpers/scriptedEndpoint.js';

// Opens report.html the way a person would, in Debian's Chromium, and checks the charts are
// drawn and the page is quiet. ADAPTD_UPDATE_SCREENSHOT=1 refreshes the README's docs/eval-report.png.
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SCREENSHOT = path.resolve('docs/eval-report.png');

t.test('report.html in headless Chromium', async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: this test needs Debian's chromium package (apt-get install -y chromium); .ci/run installs it`);
    return;
  }
  await checkReportInBrowser(t);
});

/** Three systems of different quality on the same synthetic rows, answered by a scripted endpoint. */
async function writeReport(t: Tap, dir: string): Promise<string> {
  const rows = [...synthesizeRows({ rows: 60, seed: 21 })];
  const setFile = path.join(dir, 'test.jsonl');
  writeFileSync(setFile, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
  const quality: Record<string, { keep: number; relabel: number; invalid: number; delayMs: number }> = {
    base: { keep: 0.45, relabel: 0.3, invalid: 0.15, delayMs: 40 },
    'redactor-v1': { keep: 0.8, relabel: 0.1, invalid: 0.03, delayMs: 70 },
    'redactor-v2': { keep: 0.95, relabel: 0.03, invalid: 0, delayMs: 90 },
  };
  const endpoint = await startScriptedEndpoint((request) => {
    const index = rows.findIndex((row) => row.source_text === request.document);
    const name = request.body.lora?.[0]?.name ?? 'base';
    return degradedAnswer(rows[index].privacy_mask, quality[name], index);
  });
  t.teardown(endpoint.close);
  const out = path.join(dir, 'report');
  const systems = ['base', 'redactor-v1', 'redactor-v2'].map((name) => `${name}=${endpoint.url}#llama-3.1-8b${name === 'base' ? '' : `+${name}`}`);
  const args = ['--set', setFile, ...systems.flatMap((s) => ['--system', s]), '--price', '0.2', '--concurrency', '8', '--out', out];
  const capture = captureIo();
  t.equal(await runEval(args, capture.io), 0, capture.stderr());
  return path.join(out, 'report.html');
}

// Deterministic per row: a fraction of entities kept, some given a neighbouring label.
function degradedAnswer(mask: ReadonlyArray<{ value: string; label: string }>, q: { keep: number; relabel: number; invalid: number; delayMs: number }, index: number): ScriptedAnswer {
  const draw = (salt: number) => ((index * 7919 + salt * 104729) % 1000) / 1000;
  const delayMs = Math.round(q.delayMs * (0.5 + draw(99)));
  if (draw(1) < q.invalid) return { text: 'Sure! Here is the redacted text.', delayMs };
  const fields = mask
    .filter((_, i) => draw(i + 2) < q.keep)
    .map((m, i) => ({ string: m.value, pii_type: draw(i + 50) < q.relabel ? 'LASTNAME' : m.label }));
  return { fields, delayMs };
}

async function checkReportInBrowser(t: Tap): Promise<void> {
  const dir = t.testdir();
  const html = await writeReport(t, dir);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });

  t.test('the charts are drawn', async (t) => {
    for (const id of ['label-f1', 'latency']) {
      const chart = page.locator(`svg#${id}`);
      const box = await chart.boundingBox();
      t.ok(box && box.width > 300 && box.height > 100, `${id} has a size on screen`);
      const bars = await chart.locator('rect.bar').evaluateAll((rects) => rects.filter((r) => r.getBoundingClientRect().width > 0).length);
      t.ok(bars > 10, `${id} shows bars (${bars})`);
    }
    t.equal(await page.locator('#summary tbody tr').count(), 3, 'one summary row per system');
    t.match(await page.locator('#summary').innerText(), /redactor-v2/);
  });

  t.test('the page is self-contained and quiet', async (t) => {
    t.same(problems, [], 'no console errors or warnings');
    t.same(requests, [pathToFileURL(html).href], 'nothing but the file itself is loaded');
  });

  t.test('screenshot', async (t) => {
    const target = process.env.ADAPTD_UPDATE_SCREENSHOT ? SCREENSHOT : path.join(dir, 'eval-report.png');
    mkdirSync(path.dirname(target), { recursive: true });
    await page.screenshot({ path: target, fullPage: true });
    t.ok(statSync(target).size > 20_000, 'a real picture');
    t.equal(readFileSync(target).subarray(1, 4).toString('latin1'), 'PNG');
  });
}
