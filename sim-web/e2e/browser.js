// Helpers for the end-to-end tests: Debian's Chromium through playwright-core, a fresh
// profile per test, the page's own errors collected, and a screenshot per test.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const URL_BASE = process.env.ARCHSIM_WEB_URL ?? 'http://127.0.0.1:8093/';
export const SCREENSHOTS = process.env.SCREENSHOTS ?? tmpdir();

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Opens the page (with `hash`, if given) in a new browser; `close()` ends it. */
export async function openPage(hash = '') {
  const profile = mkdtempSync(join(tmpdir(), 'archsim-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: FLAGS,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1400, height: 1300 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  await page.goto(URL_BASE + hash);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return {
    page,
    errors,
    async screenshot(name) {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Waits until the run in the page has finished. */
export async function waitForFinish(page, timeout = 120_000) {
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('finished'), null, {
    timeout,
  });
}
