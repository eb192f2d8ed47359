// Crash a node during a run from the drawing: the error rate rises, and falls after healing;
// the fault's window is listed and drawn on the charts; a load step from the slider replays too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPage, waitForFinish } from '../browser.js';

const ROOT = process.env.ARCHSIM_ROOT ?? join(import.meta.dirname, '../../..');
const ARCHSIM = process.env.ARCHSIM_BIN ?? join(ROOT, 'target/release/archsim');

async function simulatedSeconds(page) {
  return page.evaluate(() => {
    const match = /(?:running|paused at):? ([\d.]+) s/.exec(document.getElementById('status').textContent);
    return match ? Number(match[1]) : 0;
  });
}

async function waitForSimulated(page, seconds) {
  await page.waitForFunction(
    (s) => {
      const match = /running: ([\d.]+) s/.exec(document.getElementById('status').textContent);
      return match && Number(match[1]) >= s;
    },
    seconds,
    { timeout: 60_000 },
  );
}

async function waitForErrorRate(page, predicate, description) {
  await page.waitForFunction(
    (source) => {
      const rate = Number(document.getElementById('status').dataset.errorRate);
      return new Function('rate', `return ${source}`)(rate);
    },
    predicate,
    { timeout: 60_000 },
  ).catch(() => assert.fail(`the error rate never became ${description}`));
}

test('crashing the database from the drawing raises the error rate until it is healed', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'three-tier');
    // Slow enough (5 simulated seconds per second, 120 s) that the run cannot end between
    // the test's clicks, however slow the machine.
    await page.fill('#duration', '120');
    await page.selectOption('#speed', '5');
    await page.click('#run');
    await waitForSimulated(page, 10);
    await waitForErrorRate(page, 'rate < 0.01', 'below 1% before the crash');

    const beforeCrash = await simulatedSeconds(page);
    await page.click('[data-node="db"]');
    await page.click('#node-menu button[data-fault="crash"]');
    await waitForErrorRate(page, 'rate > 0.5', 'above 50% with the database down');
    await page.waitForSelector('[data-node="db"].faulty');
    await screenshot('faults-during-crash');

    await page.click('[data-node="db"]');
    await page.click('#node-menu button[data-fault="heal"]');
    await waitForErrorRate(page, 'rate < 0.01', 'below 1% after healing');
    await page.waitForSelector('[data-node="db"]:not(.faulty)');
    // A load step from the slider is listed with the faults and replays too.
    await page.fill('#rate', '150');
    await page.waitForFunction(() => /load open workloads \(arrival rates × 1\.5\)/.test(document.getElementById('fault-list').textContent));

    await page.selectOption('#speed', 'max');
    await waitForFinish(page);
    // The clicked faults replay from the command line: same requests, to the count.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-scenario')]);
    const scenario = await download.path();
    const scenarioText = readFileSync(scenario, 'utf8');
    assert.match(scenarioText, /Crash\(node: "db", at: "\d+[a-zµ]+", until: "\d+[a-zµ]+"\)/);
    assert.match(scenarioText, /Load\(factor: 1\.5, at: "\d+[a-zµ]+"\)/);
    const [reportDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-report')]);
    const inPage = JSON.parse(readFileSync(await reportDownload.path(), 'utf8'));
    const replayed = JSON.parse(
      execFileSync(ARCHSIM, ['run', join(ROOT, 'topologies/three-tier.ron'), '--scenario', scenario, '--duration', '120s', '--format', 'json'], {
        encoding: 'utf8',
      }),
    );
    assert.deepEqual(replayed.requests, inPage.requests);
    assert.deepEqual(replayed.latency_s, inPage.latency_s);
    const listed = await page.textContent('#fault-list');
    assert.match(listed, /crash db \(whole node\) from [\d.]+ s, until [\d.]+ s/);
    const [, from, until] = /from ([\d.]+) s, until ([\d.]+) s/.exec(listed).map(Number);
    assert.ok(from >= beforeCrash && until > from, `window ${from}–${until}, clicked after ${beforeCrash}`);
    const report = await page.textContent('#results-body');
    // Requests that reached the database while it was down are refused (unavailable@db);
    // those in its workers at the instant of the crash, when there are any, fail as
    // crashed@db. Which of the two shows depends on the click's instant, so either will do.
    assert.match(report, /(crashed|unavailable)@db/, 'the errors table names the crash');
    await screenshot('faults-after-heal');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('pause and step advance the run one window at a time; a fault injected while paused starts at once', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'three-tier');
    await page.fill('#duration', '100');
    await page.click('#step');
    const first = await simulatedSeconds(page);
    await page.click('#step');
    const second = await simulatedSeconds(page);
    assert.ok(first > 0 && second > first, `steps went ${first} then ${second}`);
    assert.ok(Math.abs(second - 2 * first) < 1e-6, 'each step is one window');
    await page.selectOption('#speed', '1');
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('running'));
    await page.click('#pause');
    const paused = await simulatedSeconds(page);
    await page.waitForTimeout(400);
    assert.equal(await simulatedSeconds(page), paused, 'a paused run stays where it is');
    // An amount out of range is refused with a reason, and starts nothing.
    await page.click('[data-node="app"]');
    await page.fill('#slow-factor', '0');
    await page.click('#node-menu button[data-fault="slow"]');
    assert.match(await page.textContent('#menu-problem'), /slowdown factor must be above 0 and at most 1,000,000/);
    assert.equal(await page.textContent('#fault-list'), '');
    await page.fill('#error-percent', '150');
    await page.click('#node-menu button[data-fault="errors"]');
    assert.match(await page.textContent('#menu-problem'), /above 0% and at most 100%/);
    await screenshot('faults-menu');
    // A fault injected while paused starts at once, at the paused time, with the typed amount.
    await page.fill('#slow-factor', '8');
    await page.click('#node-menu button[data-fault="slow"]');
    assert.ok(await page.isHidden('#node-menu'), 'the menu closes once the fault starts');
    assert.match(await page.textContent('#fault-list'), /slow app \(service times × 8\) from [\d.]+ s, in force/);
    await page.click('[data-node="db"]');
    await page.fill('#error-percent', '20');
    await page.click('#node-menu button[data-fault="errors"]');
    assert.match(await page.textContent('#fault-list'), /errors db \(error probability 0\.2\) from [\d.]+ s, in force/);
    assert.equal(await simulatedSeconds(page), paused, 'injecting does not advance the clock');
    await page.waitForSelector('[data-node="app"].faulty');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
