// The browser against the command line on the same model: a million requests of the
// three-tier example, timed as `archsim run` (the whole process) and in the page (from the
// Run click to the finished status, as the page measures it), median of five each.
// Run with `cargo xtask bench-web`, which builds the page and the CLI and serves the page.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { openPage, waitForFinish } from '../sim-web/e2e/browser.js';

const ROOT = process.env.ARCHSIM_ROOT ?? join(import.meta.dirname, '..');
const ARCHSIM = process.env.ARCHSIM_BIN ?? join(ROOT, 'target/release/archsim');
const REQUESTS = 1_000_000;
const ROUNDS = 5;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const native = [];
for (let round = 0; round < ROUNDS; round += 1) {
  const start = process.hrtime.bigint();
  execFileSync(ARCHSIM, ['run', join(ROOT, 'topologies/three-tier.ron'), '--requests', String(REQUESTS), '--format', 'json']);
  native.push(Number(process.hrtime.bigint() - start) / 1e9);
}

const browserWall = [];
const browserCompute = [];
const { page, close } = await openPage();
try {
  await page.selectOption('#example', 'three-tier');
  await page.fill('#requests', String(REQUESTS));
  await page.selectOption('#speed', 'max');
  for (let round = 0; round < ROUNDS; round += 1) {
    await page.click('#run');
    await waitForFinish(page, 600_000);
    const timing = await page.$eval('#status', (status) => ({ ...status.dataset }));
    browserWall.push(Number(timing.wallS));
    browserCompute.push(Number(timing.computeS));
  }
} finally {
  await close();
}

const line = (label, values) => `${label.padEnd(34)} median ${median(values).toFixed(3)} s  (${values.map((v) => v.toFixed(3)).join(', ')})`;
console.log(`three-tier, ${REQUESTS.toLocaleString('en-US')} requests, ${ROUNDS} rounds`);
console.log(line('native: archsim run (process)', native));
console.log(line('browser: Run click to finished', browserWall));
console.log(line('browser: inside the engine calls', browserCompute));
console.log(`browser / native: ${(median(browserWall) / median(native)).toFixed(2)}× (wall), ${(median(browserCompute) / median(native)).toFixed(2)}× (engine)`);
