// Type a broken topology and see the error with its line, marked in the editor; fix it and
// see the error go. A valid design shows the analytic view's prediction as it changes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPage } from '../browser.js';

const ROOT = process.env.ARCHSIM_ROOT ?? join(import.meta.dirname, '../../..');
const ARCHSIM = process.env.ARCHSIM_BIN ?? join(ROOT, 'target/release/archsim');

test('a broken topology shows its error with the line, and the fix clears it', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'three-tier');
    const good = await page.inputValue('#source');
    const lines = good.split('\n');
    const target = lines.findIndex((line) => line.includes('Call("db")'));
    assert.ok(target > 0, 'three-tier calls db');
    lines[target] = lines[target].replace('Call("db")', 'Call("dbx")');
    // Typing, as a person would: select all and type the broken text.
    await page.click('#source');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.fill('#source', lines.join('\n'));
    const box = page.locator('#error');
    // Wait for the check of the typed text (the emptied editor shows its own error first).
    await page.waitForFunction(() => document.querySelector('#error').textContent.includes('dbx'));
    const message = await box.textContent();
    assert.match(message, new RegExp(`^line ${target + 1}, column \\d+: `), message);
    assert.match(message, /dbx/);
    assert.match(message, /help: /);
    assert.equal(await page.locator('#highlight .error-line').count(), 1);
    assert.ok((await page.locator('#highlight .error-line').textContent()).includes('dbx'));
    assert.equal(await page.isDisabled('#run'), true, 'a broken topology cannot run');
    await screenshot('editor-error');
    // Clicking the error puts the caret on its line.
    await page.click('#error');
    const caretLine = await page.$eval('#source', (t) => t.value.slice(0, t.selectionStart).split('\n').length);
    assert.equal(caretLine, target + 1);
    // Mistakes in two nodes: both are listed, and both lines are marked.
    const balancer = lines.findIndex((line) => line.includes('backends: ["app"]'));
    const twice = [...lines];
    twice[balancer] = twice[balancer].replace('backends: ["app"]', 'backends: ["apq"]');
    await page.fill('#source', twice.join('\n'));
    await page.waitForFunction(() => document.querySelector('#error').textContent.includes('apq'));
    const both = await box.textContent();
    assert.match(both, new RegExp(`^line ${balancer + 1}, column \\d+: .*apq`), both);
    assert.match(both, new RegExp(`\n\nline ${target + 1}, column \\d+: .*dbx`), both);
    assert.equal(await page.locator('#highlight .error-line').count(), 2);
    await screenshot('editor-two-errors');
    await page.fill('#source', good);
    await box.waitFor({ state: 'hidden' });
    assert.equal(await page.locator('#highlight .error-line').count(), 0);
    assert.equal(await page.isDisabled('#run'), false);
    // RON is highlighted: type names, fields, strings and comments get their own colours.
    for (const kind of ['type', 'field', 'string', 'comment', 'number']) {
      assert.ok((await page.locator(`#highlight .tok-${kind}`).count()) > 0, `no ${kind} tokens`);
    }
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('Tab indents in the editor and, after Escape, moves on; design B is highlighted and its errors marked', async () => {
  const { page, errors, close } = await openPage();
  try {
    await page.selectOption('#example', 'mm1');
    await page.focus('#source');
    await page.evaluate(() => document.getElementById('source').setSelectionRange(0, 0));
    await page.keyboard.press('Tab');
    assert.ok((await page.inputValue('#source')).startsWith('    // M/M/1'), 'Tab indents');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'source');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    assert.notEqual(await page.evaluate(() => document.activeElement.id), 'source', 'Esc then Tab leaves the editor');
    assert.ok((await page.inputValue('#source')).startsWith('    // M/M/1'), 'and adds nothing');
    // A Tab after coming back indents again.
    await page.focus('#source');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'source');

    // Design B: coloured like A, its error line marked as it is typed.
    assert.ok((await page.$$eval('#compare-highlight span.tok-type', (s) => s.length)) > 2, 'B is highlighted');
    const b = await page.inputValue('#compare-source');
    await page.fill('#compare-source', b.replace('Service(', 'Servce('));
    await page.waitForSelector('#compare-highlight .error-line');
    assert.match(await page.textContent('#compare-highlight .error-line'), /Servce/);
    await page.fill('#compare-source', b);
    await page.waitForFunction(() => !document.querySelector('#compare-highlight .error-line'));
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('the design shows the analytic view as it changes, in archsim analyze words', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'flash-sale-autoscaling');
    await page.waitForFunction(() => !document.querySelector('#prediction').hidden);
    const lines = await page.$$eval('#prediction p', (ps) => ps.map((p) => p.textContent));
    const cli = execFileSync(ARCHSIM, ['analyze', join(ROOT, 'topologies/flash-sale-autoscaling.ron')]).toString();
    const expected = cli
      .split('\n')
      .filter((line) => /^(bottleneck|at the peak|metastable|predicted mean)/.test(line));
    assert.deepEqual(lines, expected);
    assert.equal(lines.length, 3, 'bottleneck, peak and response');
    // Editing the design moves the prediction: 30 ms of work rather than 15 (33 ms held
    // with the database's 3) saturates 30 instances of 8 workers at 240 / 0.033 = 7273/s.
    const text = await page.inputValue('#source');
    await page.fill('#source', text.replace('Work(Exp(mean: "15ms"))', 'Work(Exp(mean: "30ms"))'));
    await page.waitForFunction((before) => document.querySelector('#prediction p').textContent !== before, lines[0]);
    const moved = await page.textContent('#prediction p');
    assert.match(moved, /^bottleneck: "shop" at utilization 0\.412; it saturates at about 7273 req\/s/, moved);
    await screenshot('prediction');
    // A retry storm's risk is a verdict of its own, as the CLI says it.
    const stormFile = join(ROOT, 'topologies/retry-storm.ron');
    await page.fill('#source', readFileSync(stormFile, 'utf8'));
    await page.waitForFunction((before) => document.querySelector('#prediction p').textContent !== before, moved);
    const storm = await page.$$eval('#prediction p', (ps) => ps.map((p) => p.textContent));
    const stormCli = execFileSync(ARCHSIM, ['analyze', stormFile]).toString();
    assert.deepEqual(storm, stormCli.split('\n').filter((line) => /^(bottleneck|at the peak|metastable|predicted mean)/.test(line)));
    // A broken design has no prediction.
    await page.fill('#source', text.replace('backends: ["shop"]', 'backends: ["shopx"]'));
    await page.waitForFunction(() => document.querySelector('#prediction').hidden);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
