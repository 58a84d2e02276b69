// Loads the dashboard of a running `sluice controller` in the Debian chromium
// (playwright-core, never a downloaded browser), checks the grid against the
// expectations, and saves a screenshot.
//
//   node dashboard.test.mjs URL SCREENSHOT.png EXPECTATIONS.json
//
// EXPECTATIONS.json: [{"app": "api", "env": "dev", "contains": ["Running: 2.5.3"]}, ...]
// Every listed text must appear in the grid cell of (app, env). Exit 0 when
// all do; 1 (with the grid as seen) otherwise, or when chromium cannot start.
import { readFileSync } from 'node:fs';
import { checkPage } from './chromium.mjs';

const [url, screenshot, expectationsFile] = process.argv.slice(2);
if (!url || !screenshot || !expectationsFile) {
  console.error('usage: node dashboard.test.mjs URL SCREENSHOT.png EXPECTATIONS.json');
  process.exit(2);
}
const expectations = JSON.parse(readFileSync(expectationsFile, 'utf8'));

const failures = await checkPage(new URL(url).origin, screenshot, async (page) => {
  const failures = [];
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
  // The controller's alive sign: a dead controller must not look like a
  // quiet one.
  const alive = (await page.textContent('#alive')) || '';
  if (!/^Controller /.test(alive.trim())) failures.push(`no controller alive sign in the header: "${alive}"`);
  const error = (await page.textContent('#error')) || '';
  if (error.trim()) failures.push(`the page shows an error: ${error}`);
  if (failures.length) console.log('grid as seen:\n' + JSON.stringify(grid, null, 2));
  return failures;
});
if (failures.length) {
  console.error('FAIL\n' + failures.join('\n'));
  process.exit(1);
}
console.log(`ok: ${expectations.length} cell(s) as expected`);
