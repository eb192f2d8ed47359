// Choose an example, run it, and get the command line's JSON report byte for byte.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPage, waitForFinish } from '../browser.js';

const ROOT = process.env.ARCHSIM_ROOT ?? join(import.meta.dirname, '../../..');
const ARCHSIM = process.env.ARCHSIM_BIN ?? join(ROOT, 'target/release/archsim');

function cliReport(example, seed, duration, warmup) {
  const file = join(ROOT, 'topologies', `${example}.ron`);
  const args = ['run', file, '--format', 'json', '--seed', seed, '--duration', `${duration}s`];
  if (warmup !== undefined) args.push('--warmup', `${warmup}s`);
  return execFileSync(ARCHSIM, args, { encoding: 'utf8' });
}

test('every example of topologies/ is offered', async () => {
  const { page, errors, close } = await openPage();
  try {
    const offered = await page.$$eval('#example option', (options) => options.map((o) => o.value).filter(Boolean));
    const files = readdirSync(join(ROOT, 'topologies'))
      .filter((f) => f.endsWith('.ron'))
      .map((f) => f.replace(/\.ron$/, ''))
      .sort();
    assert.deepEqual(offered, files);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

// Seeds are decimal text: 2^53 + 1 would round to 2^53 as a JavaScript number.
for (const [example, seed, duration, warmup] of [
  // three-tier runs in the other tests; this one has sizes, a bandwidth and egress prices.
  // With the page's warm-up field (the CLI's --warmup).
  ['image-egress', '7', 20, 5],
  ['read-heavy-feed', '9007199254740993', 20],
  ['region-outage', '11', 40],
  ['noisy-neighbour', '3', 20],
  // Its trace (topologies/traces/morning-peak.csv) is built into the page.
  ['trace-replay', '5', 90],
  // A replicated store and a crash: its quorum figures are in the components table.
  ['quorum-store', '2', 60],
  // A flash sale that outruns its autoscaler: the overloaded stretch is said.
  ['flash-sale-autoscaling', '2', 300],
  // A run that collapses into a deadlock: the bottleneck line says it, with the way back.
  ['callback-starvation', '10', 60],
]) {
  test(`${example}: the page's report equals archsim run --format json (seed ${seed})`, async () => {
    const { page, errors, screenshot, close } = await openPage();
    try {
      await page.selectOption('#example', example);
      await page.fill('#seed', seed);
      await page.fill('#duration', String(duration));
      if (warmup !== undefined) await page.fill('#warmup', String(warmup));
      await page.selectOption('#speed', 'max');
      await page.click('#run');
      await waitForFinish(page);
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-report')]);
      const inPage = readFileSync(await download.path(), 'utf8');
      const expected = cliReport(example, seed, duration, warmup);
      assert.equal(inPage, expected, 'the browser report differs from the CLI report');
      // The results table shows the report's numbers.
      const report = JSON.parse(expected);
      const completed = await page.textContent('#results-body table.summary tr:nth-child(2) td:last-child');
      assert.equal(completed, report.requests.completed.toLocaleString('en-US'));
      assert.match(await page.textContent('#results-body'), new RegExp(`Seed ${seed},`));
      // A host's table: its name and the share of its cores busy, as in the report; the
      // drawing says which host each placed node runs on.
      for (const [name, host] of Object.entries(report.hosts || {})) {
        for (const node of host.nodes) {
          const box = await page.textContent(`#graph g[data-node="${node}"] text.kind`);
          assert.equal(box, `service on ${name}`);
        }
      }
      // A host's table: its name and the share of its cores busy, as in the report.
      for (const [name, host] of Object.entries(report.hosts || {})) {
        const hosts = await page.textContent('#results-body table.hosts');
        assert.ok(hosts.includes(name) && hosts.includes(`${(host.utilization * 100).toFixed(2)}%`), hosts);
      }
      const table = await page.textContent('#results-text');
      assert.ok(table.includes('p99'), 'the CLI-style table is shown');
      // The components table: the lines of the components section archsim run prints.
      const rows = await page.$$eval('#results-body table.components tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
      );
      for (const [name, figures] of rows) {
        assert.ok(table.includes(`  ${name}: ${figures}\n`), `${name}: ${figures} is not in the table`);
      }
      const section = table.split('\ncomponents\n')[1];
      const expectedRows = section ? section.split('\n').findIndex((line) => !line.startsWith('  ')) : 0;
      assert.equal(rows.length, expectedRows, 'one row per line of the components section');
      // What to act on: the bottleneck in archsim run's words, the SLOs and the faults.
      const body = await page.textContent('#results-body');
      if (report.bottleneck) {
        // The page's line is the table's, word for word (headroom and advice included).
        const line = table.split('\n').find((l) => l.startsWith(`bottleneck: "${report.bottleneck.node}"`));
        assert.ok(line, 'the table names the bottleneck');
        assert.ok(body.includes(line), `the page says "${line}"`);
      }
      const slos = await page.$$eval('#results-body table.slos tbody tr', (trs) => trs.map((tr) => tr.cells[2].textContent));
      assert.deepEqual(slos, (report.slos || []).map((s) => (s.held ? 'held' : 'missed')));
      const faults = await page.$$eval('#results-body table.faults tbody tr', (trs) => trs.length);
      assert.equal(faults, (report.faults || []).length);
      for (const line of report.instability) assert.ok(body.includes(line), `"${line}" is shown`);
      // A cache that answers old values: why, and the fix, as the table says it.
      for (const line of report.stale_reads || []) {
        assert.ok(body.includes(line), `"${line}" is shown`);
        assert.ok(table.includes(`  - ${line}\n`));
      }
      if (example === 'read-heavy-feed') assert.equal((report.stale_reads || []).length, 1, 'the feed cache is explained');
      for (const overload of report.overloads || []) {
        assert.ok(body.includes(overload.summary), `"${overload.summary}" is shown`);
        assert.ok(table.includes(`  - ${overload.summary}\n`));
      }
      if (example === 'flash-sale-autoscaling') assert.equal(report.overloads.length, 1);
      // The network section: one row per link, one per direction with a bandwidth.
      if (report.network) {
        const links = await page.$$eval('#results-body table.network tbody tr', (trs) =>
          trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
        );
        assert.deepEqual(
          links.map(([from, to, requests]) => [from, to, requests]),
          report.network.links.map((l) => [l.from, l.to, l.requests.toLocaleString('en-US')]),
        );
        const pipes = await page.$$eval('#results-body table.bandwidth tbody tr td:first-child', (tds) =>
          tds.map((td) => td.textContent),
        );
        assert.deepEqual(pipes, report.network.bandwidth.map((p) => p.name));
        assert.match(await page.textContent('#results-body table.traffic'), /egress cost/);
      }
      if (example === 'quorum-store') {
        assert.ok(rows.some(([name, figures]) => name === 'store' && figures.startsWith('quorum n 3, read 2, write 2')));
      }
      await page.waitForTimeout(300);
      await screenshot(`run-${example}`);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
}

test('a trace file the user picks is replayed as archsim run replays it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'archsim-picked-trace-'));
  let trace = 'gap_ms,class,key\n';
  for (let i = 0; i < 3000; i += 1) trace += `${(i * 7919) % 13},${i % 5 === 0 ? 'write' : 'read'},${i % 101}\n`;
  writeFileSync(join(dir, 'access-log.csv'), trace);
  const text = `Topology(
    workload: [Trace(name: "log", file: "access-log.csv", classes: ["read", "write"], to: "app")],
    nodes: { "app": Service(workers: 2, steps: [Work(Exp(mean: "5ms"))]) },
    run: (duration: "30s", seed: 4),
)`;
  writeFileSync(join(dir, 'picked.ron'), text);
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.fill('#source', text);
    // Before the file is picked, the page says which file it lacks.
    await page.waitForFunction(() => !document.querySelector('#error').hidden);
    assert.match(await page.textContent('#error'), /access-log\.csv/);
    await page.setInputFiles('#trace-files', join(dir, 'access-log.csv'));
    await page.waitForFunction(() => document.querySelector('#error').hidden);
    await page.selectOption('#speed', 'max');
    await page.click('#run');
    await waitForFinish(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-report')]);
    const inPage = readFileSync(await download.path(), 'utf8');
    const expected = execFileSync(ARCHSIM, ['run', join(dir, 'picked.ron'), '--format', 'json'], { encoding: 'utf8' });
    assert.equal(inPage, expected, 'the browser replay differs from the CLI replay');
    assert.equal(JSON.parse(expected).workloads.log.generated, 3000);
    await screenshot('run-picked-trace');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
