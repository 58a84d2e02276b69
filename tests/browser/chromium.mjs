// The Debian chromium through playwright-core (never a downloaded browser),
// shared by the page tests (dashboard.test.mjs, delivery.test.mjs).
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// Runs `check(page)` on a fresh headless chromium (a new profile each run)
// and returns the failures: what `check` returns, console errors, requests
// to anywhere but `origin` (no CDN), and a browser that cannot start. A
// full-page screenshot is saved to `screenshot` once `check` ran.
export async function checkPage(origin, screenshot, check) {
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
    page.on('request', (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });

    failures.push(...await check(page));
    if (consoleErrors.length) failures.push(`console errors: ${consoleErrors.join('; ')}`);
    if (foreign.length) failures.push(`requests outside the controller: ${foreign.join(', ')}`);
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`screenshot: ${screenshot}`);
  } catch (err) {
    failures.push(`browser: ${err && err.message ? err.message : err}`);
  } finally {
    if (context) await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  return failures;
}
