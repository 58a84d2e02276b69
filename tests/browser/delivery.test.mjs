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
import { readFileSync } from 'node:fs';
import { checkPage } from './chromium.mjs';

const [url, screenshot, expectationsFile] = process.argv.slice(2);
if (!url || !screenshot || !expectationsFile) {
  console.error('usage: node delivery.test.mjs URL SCREENSHOT.png EXPECTATIONS.json');
  process.exit(2);
}
const expect = JSON.parse(readFileSync(expectationsFile, 'utf8'));

const failures = await checkPage(new URL(url).origin, screenshot, async (page) => {
  const failures = [];
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
  if (failures.length) console.log('page as seen:\n' + seen.text);
  return failures;
});
if (failures.length) {
  console.error('FAIL\n' + failures.join('\n'));
  process.exit(1);
}
console.log('ok: the delivery charts render');
