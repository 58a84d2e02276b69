// Loads the dashboard of a running `sluice controller` in the Debian chromium
// (playwright-core, never a downloaded browser), checks the grid against the
// expectations, and saves a screenshot.
//
//   node dashboard.test.mjs URL SCREENSHOT.png EXPECTATIONS.json
//
// EXPECTATIONS.json: [{"app": "api", "env": "dev", "contains": ["Running: 2.5.3"]}, ...]
// Every listed text must appear in the grid cell of (app, env). Exit 0 when
// all do; 1 (with the grid as seen) otherwise, or when chromium cannot start.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const [url, screenshot, expectationsFile] = process.argv.slice(2);
if (!url || !screenshot || !expectationsFile) {
  console.error('usage: node dashboard.test.mjs URL SCREENSHOT.png EXPECTATIONS.json');
  process.exit(2);
}
const expectations = JSON.parse(readFileSync(expectationsFile, 'utf8'));
const executablePath = process.env.SLUICE_CHROMIUM || '/usr/bin/chromium';
const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));

let failures = [];
let context;
try {
  // A fresh profile each run (launchPersistentContext passes --user-data-dir).
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--no-first-run'],
    viewport: { width: 1280, height: 720 },
  });
  const page = context.pages()[0] || await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  // Nothing may be fetched from anywhere but the controller (no CDN).
  const foreign = [];
  const origin = new URL(url).origin;
  page.on('request', (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });

  await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  // The grid is filled by the page's first fetch of /api/v1/status.
  await page.waitForSelector('#body tr th', { timeout: 30000 });

  const grid = await page.evaluate(() => {
    const envs = [...document.querySelectorAll('#head th')].slice(1).map((th) => th.textContent);
    const out = {};
    for (const tr of document.querySelectorAll('#body tr')) {
      const th = tr.querySelector('th');
      if (!th) continue;
      const cells = [...tr.querySelectorAll('td')];
      out[th.textContent] = {};
      envs.forEach((env, i) => { out[th.textContent][env] = cells[i] ? cells[i].innerText : ''; });
    }
    return out;
  });
  for (const e of expectations) {
    const cell = grid[e.app] && grid[e.app][e.env];
    if (cell === undefined) {
      failures.push(`no cell for app ${e.app} in ${e.env}`);
      continue;
    }
    for (const text of e.contains) {
      if (!cell.includes(text)) failures.push(`${e.app} in ${e.env}: expected "${text}" in:\n${cell}`);
    }
  }
  const error = (await page.textContent('#error')) || '';
  if (error.trim()) failures.push(`the page shows an error: ${error}`);
  if (consoleErrors.length) failures.push(`console errors: ${consoleErrors.join('; ')}`);
  if (foreign.length) failures.push(`requests outside the controller: ${foreign.join(', ')}`);

  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
  if (failures.length) console.log('grid as seen:\n' + JSON.stringify(grid, null, 2));
} catch (err) {
  failures.push(`browser: ${err && err.message ? err.message : err}`);
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
if (failures.length) {
  console.error('FAIL\n' + failures.join('\n'));
  process.exit(1);
}
console.log(`ok: ${expectations.length} cell(s) as expected`);
