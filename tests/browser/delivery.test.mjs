// Loads a delivery-charts page of a running `sluice controller` in the
// Debian chromium (playwright-core, never a downloaded browser), checks that
// its charts render, and saves a screenshot.
//
//   node delivery.test.mjs URL SCREENSHOT.png EXPECTATIONS.json
//
// EXPECTATIONS.json: {"charts": 4, "marks": 1, "contains": ["dev", ...]}:
// at least `charts` SVG charts drawn with a non-zero size, at least `marks`
// failed-release marks, and every listed text on the page. Exit 0 when all
// hold; 1 otherwise (with what was seen), or when chromium cannot start.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const [url, screenshot, expectationsFile] = process.argv.slice(2);
if (!url || !screenshot || !expectationsFile) {
  console.error('usage: node delivery.test.mjs URL SCREENSHOT.png EXPECTATIONS.json');
  process.exit(2);
}
const expect = JSON.parse(readFileSync(expectationsFile, 'utf8'));
const executablePath = process.env.SLUICE_CHROMIUM || '/usr/bin/chromium';
const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));

const failures = [];
let context;
try {
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
  const foreign = [];
  const origin = new URL(url).origin;
  page.on('request', (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });

  const response = await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  if (!response || response.status() !== 200) failures.push(`HTTP ${response && response.status()}`);
  const seen = await page.evaluate(() => {
    const charts = [...document.querySelectorAll('svg')].map((svg) => {
      const r = svg.getBoundingClientRect();
      return { width: r.width, height: r.height, bars: svg.querySelectorAll('rect').length };
    });
    return {
      charts,
      marks: document.querySelectorAll('svg .mark').length,
      text: document.body.innerText,
      scripts: document.querySelectorAll('script').length,
    };
  });
  const drawn = seen.charts.filter((c) => c.width > 100 && c.height > 50);
  if (drawn.length < expect.charts) failures.push(`${drawn.length} chart(s) drawn, expected ${expect.charts}`);
  if (!seen.charts.some((c) => c.bars > 0)) failures.push('no bar drawn in any chart');
  if (seen.marks < expect.marks) failures.push(`${seen.marks} failed-release mark(s), expected ${expect.marks}`);
  if (seen.scripts) failures.push(`${seen.scripts} script element(s): the page must need none`);
  for (const text of expect.contains) {
    if (!seen.text.includes(text)) failures.push(`expected "${text}" on the page`);
  }
  if (consoleErrors.length) failures.push(`console errors: ${consoleErrors.join('; ')}`);
  if (foreign.length) failures.push(`requests outside the controller: ${foreign.join(', ')}`);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`screenshot: ${screenshot}`);
  if (failures.length) console.log('page as seen:\n' + seen.text);
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
console.log('ok: the delivery charts render');
