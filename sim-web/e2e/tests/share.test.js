// A shared link reopens the same topology and settings; downloads give the topology file;
// two designs compare side by side on the same seed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openPage, waitForFinish } from '../browser.js';

test('a shared link reopens the same topology and settings', async () => {
  const first = await openPage();
  let link;
  let text;
  try {
    const { page } = first;
    await page.selectOption('#example', 'global-cdn');
    text = (await page.inputValue('#source')).replace('// ', '// edited for the share test: ');
    await page.fill('#source', text);
    await page.fill('#seed', '42');
    await page.fill('#duration', '15');
    await page.selectOption('#speed', '100');
    await page.fill('#rate', '150');
    await page.click('#share');
    link = await page.inputValue('#share-link');
    assert.match(link, /#s=[A-Za-z0-9_-]+$/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-topology')]);
    assert.equal(readFileSync(await download.path(), 'utf8'), text, 'the downloaded topology is the editor text');
    assert.deepEqual(first.errors, []);
  } finally {
    await first.close();
  }
  const second = await openPage(link.slice(link.indexOf('#')));
  try {
    const { page } = second;
    assert.equal(await page.inputValue('#source'), text);
    assert.equal(await page.inputValue('#seed'), '42');
    assert.equal(await page.inputValue('#duration'), '15');
    assert.equal(await page.inputValue('#speed'), '100');
    assert.equal(await page.inputValue('#rate'), '150');
    assert.equal(await page.locator('[data-node="cdn"]').count(), 1, 'the drawing is back');
    await second.screenshot('share-reopened');
    assert.deepEqual(second.errors, []);
  } finally {
    await second.close();
  }
});

test('two designs compare side by side on the same seed', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'three-tier');
    await page.fill('#seed', '5');
    await page.fill('#duration', '20');
    await page.selectOption('#compare-example', 'microservices');
    await page.click('#compare-run');
    await page.waitForSelector('#compare-body table.comparison', { timeout: 60_000 });
    const rows = await page.$$eval('#compare-body table.comparison tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    assert.deepEqual(
      rows.map((r) => r[0]),
      ['latency mean', 'latency p50', 'latency p99', 'latency p99.9', 'throughput', 'availability', 'failed'],
    );
    assert.match(await page.textContent('#compare-status'), /^done: seed 5, 20 s and 20 s simulated/);
    // Design A's column is the same run as running A alone with the same seed.
    await page.selectOption('#speed', 'max');
    await page.click('#run');
    await waitForFinish(page);
    const alone = await page.textContent('#results-body table.summary tr:nth-child(12) td:last-child');
    assert.equal(rows[2][1], alone, 'A p99 in the comparison equals the run alone');
    await screenshot('compare');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
