// A shared link reopens the same topology and settings; downloads give the topology file;
// two designs compare over paired replications with the command line's statistics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPage } from '../browser.js';

const ROOT = process.env.ARCHSIM_ROOT ?? join(import.meta.dirname, '../../..');
const ARCHSIM = process.env.ARCHSIM_BIN ?? join(ROOT, 'target/release/archsim');

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
    // The link is made asynchronously (the state is compressed by a stream): wait for it.
    await page.waitForFunction(() => document.getElementById('share-link').value.includes('#s='));
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

test('two designs compare over paired replications, as archsim compare does', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'three-tier');
    await page.fill('#seed', '5');
    await page.fill('#duration', '20');
    await page.selectOption('#compare-example', 'microservices');
    await page.fill('#compare-replications', '3');
    await page.click('#compare-run');
    await page.waitForFunction(() => document.querySelector('#compare-status').textContent.startsWith('done'), null, {
      timeout: 120_000,
    });
    const rows = await page.$$eval('#compare-body table.comparison tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    assert.deepEqual(
      rows.map((r) => r[0]),
      ['mean', 'p50', 'p99', 'throughput', 'availability', 'cost', 'stability', 'bottleneck'],
    );
    assert.match(
      await page.textContent('#compare-status'),
      /^done: 3 paired replications of 20 s \(seeds as archsim compare --seed 5\)/,
    );
    // The same figures and verdicts as the command line's comparison of the same files.
    const cli = JSON.parse(
      execFileSync(ARCHSIM, [
        'compare',
        join(ROOT, 'topologies/three-tier.ron'),
        join(ROOT, 'topologies/microservices.ron'),
        '--seed', '5', '--duration', '20s', '--replications', '3', '--format', 'json',
      ]).toString(),
    );
    assert.deepEqual(rows.slice(0, 6).map((r) => r[3]), cli.metrics.map((m) => m.verdict));
    // Stability and the bottleneck, as the command line's table prints them.
    const cliTable = execFileSync(ARCHSIM, [
      'compare',
      join(ROOT, 'topologies/three-tier.ron'),
      join(ROOT, 'topologies/microservices.ron'),
      '--seed', '5', '--duration', '20s', '--replications', '3',
    ]).toString();
    for (const row of rows.slice(6)) {
      const line = cliTable.split('\n').find((l) => l.startsWith(row[0]));
      assert.deepEqual(line.split(/\s{2,}/).map((cell) => cell.trim()), row.filter((cell) => cell !== ''), line);
    }
    assert.equal(rows[6][3], 'both keep up');
    assert.match(rows[2][1], /^[\d.]+ ± [\d.]+ ms$/, 'A p99 with its interval');
    await screenshot('compare');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test("compare shows both designs' curves, B dashed over A, and shades the windows where A answered nothing", async () => {
  const { page, errors, screenshot, close } = await openPage();
  const design = (fault) => `Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "50/s"), to: "svc")],
    nodes: {"svc": Service(workers: 4, steps: [Work(Exp(mean: "10ms"))])},
    ${fault ? 'scenario: Scenario(faults: [Crash(node: "svc", at: "6s", until: "11s")]),' : ''}
    run: (duration: "20s", seed: 1),
)
`;
  try {
    await page.fill('#source', design(true));
    await page.fill('#duration', '20');
    await page.fill('#compare-source', design(false));
    await page.fill('#compare-replications', '2');
    await page.click('#compare-run');
    await page.waitForFunction(() => document.querySelector('#compare-status').textContent.startsWith('done'), null, {
      timeout: 120_000,
    });
    for (const id of ['chart-compare', 'chart-compare-throughput']) {
      const series = JSON.parse(await page.getAttribute(`#${id}`, 'data-series'));
      assert.deepEqual(
        series.map((s) => [s.name.slice(0, 2), s.dashed]),
        [['A ', false], ['B ', true]],
        `${id}: A solid, B dashed`,
      );
      assert.ok(series.every((s) => s.points > 10), `${id}: both curves have their points`);
      const marks = JSON.parse(await page.getAttribute(`#${id}`, 'data-marks'));
      assert.equal(marks.length, 1, `${id}: one outage, A's: ${JSON.stringify(marks)}`);
      assert.equal(marks[0].label, 'outage');
      assert.equal(marks[0].target, 'A');
      // The crash lasts 6 s to 11 s; the shaded windows cover it to within a window.
      assert.ok(marks[0].start_s >= 5.5 && marks[0].start_s <= 6.5, `outage starts near 6 s: ${marks[0].start_s}`);
      assert.ok(marks[0].end_s >= 10.5 && marks[0].end_s <= 11.5, `outage ends near 11 s: ${marks[0].end_s}`);
    }
    const rows = await page.$$eval('#compare-body table.comparison tbody tr', (trs) =>
      trs.map((tr) => [...tr.children].map((td) => td.textContent)),
    );
    const availability = rows.find((r) => r[0] === 'availability');
    assert.match(availability[3], /B/, `the verdict names a difference: ${availability[3]}`);
    assert.match(rows.find((r) => r[0] === 'throughput')[1], /\/s$/, 'throughput has its unit');
    await screenshot('compare-outage');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a reload keeps the work: the edited text and the settings come back', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'mm1');
    const text = (await page.inputValue('#source')).replace('// ', '// kept across a reload: ');
    await page.fill('#source', text);
    await page.fill('#seed', '77');
    await page.dispatchEvent('#seed', 'change');
    await page.fill('#duration', '12');
    await page.dispatchEvent('#duration', 'change');
    // The text is kept 300 ms after the last keystroke.
    await page.waitForTimeout(600);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.inputValue('#source'), text);
    assert.equal(await page.inputValue('#seed'), '77');
    assert.equal(await page.inputValue('#duration'), '12');
    assert.match(await page.textContent('#status'), /your last work is back/);
    // A share link takes precedence over the kept work.
    await page.goto(page.url().split('#')[0] + '#s=damaged');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    assert.match(await page.textContent('#status'), /damaged .* showing your last work instead/);
    assert.equal(await page.inputValue('#source'), text);
    await screenshot('reload-keeps-work');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
