// The design canvas: build a three-tier design from an empty one by adding boxes and
// dragging between them, run it and get archsim run's report on the text the canvas wrote;
// edit a field in the inspector (the text's comments stay), edit the text and see the
// canvas follow, undo and redo.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPage, waitForFinish } from '../browser.js';

const ROOT = process.env.ARCHSIM_ROOT ?? join(import.meta.dirname, '../../..');
const ARCHSIM = process.env.ARCHSIM_BIN ?? join(ROOT, 'target/release/archsim');

/** Drags box `from`'s handle onto box `to` with the mouse, as a user connects them. */
async function drag(page, from, to) {
  const a = await page.locator(`#graph g[data-name="${from}"] circle.port`).boundingBox();
  const b = await page.locator(`#graph g[data-name="${to}"] > rect`).first().boundingBox();
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 20, a.y + a.height / 2 + 10, { steps: 4 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
  await page.mouse.up();
}

/** Where box `name` is in the drawing (its translate), as [x, y]. */
async function place(page, name) {
  const transform = await page.getAttribute(`#graph g[data-name="${name}"]`, 'transform');
  return transform.match(/translate\(([-\d.]+),([-\d.]+)\)/).slice(1).map(Number);
}

async function text(page) {
  return page.$eval('#source', (t) => t.value);
}

test('a three-tier design built on the canvas runs to the CLI report of the text it wrote', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.click('#new-design');
    assert.match(await text(page), /^Topology\(\n {4}workload: \[\],\n {4}nodes: \{\},/);
    // A comment of the user's, which every canvas edit must keep.
    await page.fill('#source', `// my shop, drawn on the canvas\n${await text(page)}`);
    for (const kind of ['load_balancer', 'service', 'database']) {
      await page.selectOption('#add-kind', kind);
      await page.click('#add-node');
    }
    await page.click('#add-workload');
    // The workload sends to the first box nobody calls: the balancer.
    await page.waitForSelector('#graph g[data-name="users"]');
    assert.match(await text(page), /to: "load-balancer"/);
    assert.ok(!(await page.isHidden('#error')), 'unconnected, the design does not check yet');
    await drag(page, 'load-balancer', 'service');
    await drag(page, 'service', 'database');
    let written = await text(page);
    assert.match(written, /backends: \["service"\]/);
    assert.match(written, /Call\("database"\)/);
    await page.waitForFunction(() => document.getElementById('error').hidden);
    const arrows = await page.$$eval('#graph path.edge', (paths) => paths.length);
    assert.equal(arrows, 3, 'users → balancer → service → database');

    // The inspector: from the node's menu, set the service's instances.
    await page.click('#graph g[data-name="service"]');
    await page.click('#menu-edit');
    await page.waitForSelector('#inspector:not([hidden])');
    assert.match(await page.textContent('#inspector-title'), /service service/);
    await page.fill('#inspector input[data-field="instances"]', '3');
    await page.press('#inspector input[data-field="instances"]', 'Enter');
    await page.waitForFunction(() => document.getElementById('source').value.includes('instances: 3'));
    written = await text(page);
    assert.ok(written.startsWith('// my shop, drawn on the canvas\n'), 'the comment is kept');
    // A bad value gets the file's located error and its help.
    await page.fill('#inspector input[data-field="workers"]', '0');
    await page.press('#inspector input[data-field="workers"]', 'Enter');
    await page.waitForFunction(() => !document.getElementById('error').hidden);
    assert.match(await page.textContent('#error'), /line \d+, column \d+/);
    await page.click('#undo');
    await page.waitForFunction(() => document.getElementById('error').hidden);
    assert.equal(await text(page), written, 'undo brings back the text before the edit');
    await page.click('#redo');
    assert.match(await text(page), /workers: 0/);
    await page.click('#undo');

    // Run it: the page's report is archsim run's on the same text.
    await page.fill('#seed', '3');
    await page.fill('#duration', '20');
    await page.selectOption('#speed', 'max');
    await page.click('#run');
    await waitForFinish(page);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-report')]);
    const inPage = readFileSync(await download.path(), 'utf8');
    const dir = mkdtempSync(join(tmpdir(), 'archsim-design-'));
    writeFileSync(join(dir, 'canvas.ron'), written);
    const expected = execFileSync(
      ARCHSIM,
      ['run', join(dir, 'canvas.ron'), '--format', 'json', '--seed', '3', '--duration', '20s'],
      { encoding: 'utf8' },
    );
    assert.equal(inPage, expected, 'the page report differs from archsim run on the canvas text');
    assert.ok(JSON.parse(expected).requests.completed > 1000);
    await screenshot('design-three-tier');

    // Edit the text: the canvas follows.
    await page.fill('#source', written.replaceAll('"database"', '"orders-db"'));
    await page.waitForSelector('#graph g[data-node="orders-db"]');
    assert.equal(await page.$$eval('#graph g[data-node="database"]', (g) => g.length), 0);

    // Delete from the inspector; the reference left behind is an error naming it.
    await page.click('#graph g[data-name="orders-db"]');
    await page.click('#menu-edit');
    await page.click('#delete-node');
    await page.waitForFunction(() => !document.getElementById('error').hidden);
    assert.match(await page.textContent('#error'), /orders-db/);
    assert.equal(await page.$$eval('#graph g[data-name="orders-db"]', (g) => g.length), 0, 'the sketch drops it');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('every component kind can be added, and boxes are reachable by keyboard', async () => {
  const { page, errors, close } = await openPage();
  try {
    await page.click('#new-design');
    const kinds = await page.$$eval('#add-kind option', (options) => options.map((o) => o.value));
    assert.ok(kinds.length >= 12, kinds.join(', '));
    for (const kind of kinds) {
      await page.selectOption('#add-kind', kind);
      await page.click('#add-node');
    }
    const boxes = await page.$$eval('#graph g.vertex', (groups) => groups.map((g) => g.dataset.name));
    assert.equal(boxes.length, kinds.length);
    // Tab reaches a box, Enter opens its menu, whose Edit opens the inspector.
    await page.focus(`#graph g[data-name="${boxes[0]}"]`);
    await page.keyboard.press('Enter');
    assert.equal(await page.isHidden('#node-menu'), false);
    await page.click('#menu-edit');
    assert.match(await page.textContent('#inspector-title'), new RegExp(boxes[0]));
    // Connecting a database to anything is refused with a reason.
    const database = boxes.find((name) => name.startsWith('database'));
    await page.click(`#graph g[data-name="${database}"]`);
    await page.click('#menu-edit');
    await page.click('#connect');
    assert.match(await page.textContent('#inspector-problem'), /a database calls nothing/);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('the theme follows the system, and a chosen one is kept across reloads; compare starts from a copy of A', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    // Compare's design B starts as a copy of A, to change into the variant.
    assert.equal(await page.$eval('#compare-example', (s) => s.value), '');
    assert.equal(await page.$eval('#compare-source', (t) => t.value), await text(page));
    const background = () => page.$eval('body', (b) => getComputedStyle(b).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await background(), 'rgb(20, 24, 31)', 'dark when the system is');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await background(), 'rgb(255, 255, 255)');
    await page.click('#theme');
    assert.equal(await page.textContent('#theme'), 'Theme: dark');
    assert.equal(await background(), 'rgb(20, 24, 31)', 'dark when chosen, whatever the system');
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    assert.equal(await page.textContent('#theme'), 'Theme: dark', 'kept across a reload');
    assert.equal(await background(), 'rgb(20, 24, 31)');
    await screenshot('theme-dark');
    await page.click('#theme');
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await background(), 'rgb(255, 255, 255)', 'light when chosen, whatever the system');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('boxes move and keep their places across edits and reloads; the view pans, zooms and fits', async () => {
  const first = await openPage();
  try {
    const { page, errors, screenshot } = first;
    await page.selectOption('#example', 'three-tier');
    await page.waitForSelector('#graph g[data-node="db"]');
    const before = { app: await place(page, 'app'), lb: await place(page, 'lb') };
    // Drag the app's box down by about 120 drawing units.
    const box = await page.locator('#graph g[data-name="app"] > rect').first().boundingBox();
    const scale = await page.$eval('#graph', (svg) => 1 / svg.getScreenCTM().a);
    await page.mouse.move(box.x + 40, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + 40, box.y + 20 + 60 / scale, { steps: 5 });
    await page.mouse.move(box.x + 40, box.y + 20 + 120 / scale, { steps: 5 });
    await page.mouse.up();
    const moved = await place(page, 'app');
    assert.equal(moved[0], before.app[0], 'moved straight down');
    assert.ok(Math.abs(moved[1] - before.app[1] - 120) <= 3, `moved by 120: ${before.app} → ${moved}`);
    assert.deepEqual(await place(page, 'lb'), before.lb, 'the others stay where they were');
    assert.equal(await page.isHidden('#node-menu'), true, 'a move is not a click');
    // An edit of the text keeps it where the user put it; the arrows follow it.
    const text = await page.inputValue('#source');
    await page.fill('#source', text.replace('instances: 4,', 'instances: 5,'));
    await page.waitForFunction(() => document.querySelectorAll('[data-node="app"] circle.instance').length === 5);
    assert.deepEqual(await place(page, 'app'), moved);
    // The keyboard moves a box too.
    await page.focus('#graph g[data-name="lb"]');
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await place(page, 'lb'), [before.lb[0] + 10, before.lb[1]]);

    // Zoom in and out with the buttons and keys, pan by dragging the background, fit.
    const view = () => page.$eval('#graph', (svg) => svg.dataset.view.split(' ').map(Number));
    const fitted = await view();
    await page.click('#zoom-in');
    let zoomed = await view();
    assert.ok(Math.abs(zoomed[2] - fitted[2] / 1.25) < 1, `zoomed in: ${fitted} → ${zoomed}`);
    await page.focus('#graph');
    await page.keyboard.press('-');
    assert.ok(Math.abs((await view())[2] - fitted[2]) < 1, 'the key zooms back out');
    await page.keyboard.press('+');
    zoomed = await view();
    // Drag the background (the drawing's bottom-right corner, below the database) up-left.
    const svgBox = await page.locator('#graph').boundingBox();
    const corner = { x: svgBox.x + svgBox.width - 8, y: svgBox.y + svgBox.height - 8 };
    assert.equal(await page.evaluate(({ x, y }) => document.elementFromPoint(x, y).id, corner), 'graph', 'an empty spot');
    await page.mouse.move(corner.x, corner.y);
    await page.mouse.down();
    await page.mouse.move(corner.x - 40, corner.y - 20, { steps: 5 });
    await page.mouse.up();
    const panned = await view();
    assert.ok(panned[0] > zoomed[0] + 10 && panned[1] > zoomed[1] + 5, `panned: ${zoomed} → ${panned}`);
    assert.equal(panned[2], zoomed[2], 'panning keeps the zoom');
    await screenshot('canvas-moved-zoomed');
    await page.click('#zoom-fit');
    assert.ok(Math.abs((await view())[2] - fitted[2]) < 15, 'fit shows the whole drawing again');

    // A reload keeps the places (they are kept with the work); Tidy forgets them.
    await page.reload();
    await page.waitForSelector('#graph g[data-node="db"]');
    assert.deepEqual(await place(page, 'app'), moved, 'the moved box is where it was left');
    await page.click('#tidy');
    assert.deepEqual(await place(page, 'app'), before.app);
    assert.deepEqual(errors, []);
  } finally {
    await first.close();
  }
});

test('regions and zones enclose their boxes; replicas, edges and partitions are drawn', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'zone-outage');
    await page.waitForSelector('#graph g.region-group');
    // Each box with a region tag lies inside its region's shape and its zone's shape.
    const inside = await page.$$eval('#graph g.vertex', (groups) =>
      groups.map((g) => {
        const tag = g.querySelector('text.region')?.textContent;
        if (!tag) return null;
        const [region, zone] = tag.split(' · ');
        const box = g.getBBox();
        const m = g.transform.baseVal.consolidate().matrix;
        const contains = (selector) => {
          const shape = document.querySelector(selector)?.querySelector('rect');
          if (!shape) return false;
          const r = shape.getBBox();
          return m.e >= r.x && m.f >= r.y && m.e + 150 <= r.x + r.width && m.f + 74 <= r.y + r.height;
        };
        return {
          name: g.dataset.name,
          region: contains(`#graph g.region-group[data-region="${region}"]`),
          zone: zone ? contains(`#graph g.zone-group[data-zone="${zone}"][data-region="${region}"]`) : true,
          box: box.width > 0,
        };
      }),
    );
    const placed = inside.filter(Boolean);
    assert.ok(placed.length >= 3, JSON.stringify(inside));
    for (const box of placed) assert.deepEqual([box.region, box.zone], [true, true], `${box.name} is outside its group`);
    assert.ok((await page.$$eval('#graph g.zone-group', (g) => g.length)) >= 2, 'zones drawn');
    // No two region shapes overlap.
    const shapes = await page.$$eval('#graph g.region-group > rect', (rects) =>
      rects.map((r) => [r.x.baseVal.value, r.y.baseVal.value, r.width.baseVal.value, r.height.baseVal.value]),
    );
    for (const [i, a] of shapes.entries()) {
      for (const b of shapes.slice(i + 1)) {
        const apart = a[0] + a[2] <= b[0] || b[0] + b[2] <= a[0] || a[1] + a[3] <= b[1] || b[1] + b[3] <= a[1];
        assert.ok(apart, `regions overlap: ${a} and ${b}`);
      }
    }
    await screenshot('canvas-zones');

    await page.selectOption('#example', 'read-heavy-feed');
    await page.waitForSelector('#graph g[data-node="db"] text.parts');
    assert.equal(await page.textContent('#graph g[data-node="db"] text.parts'), 'primary + 2 replicas');
    assert.equal(await page.$$eval('#graph g[data-node="db"] path.card', (c) => c.length), 2, 'a card per replica');
    assert.equal(await page.$$eval('#graph g[data-node="db"] circle.instance.primary', (c) => c.length), 1);
    await page.selectOption('#example', 'activity-stream');
    await page.waitForSelector('#graph g[data-node="activity"] rect.partition');
    const partitions = await page.$$eval('#graph g[data-node="activity"] rect.partition', (c) => c.length);
    const caption = await page.textContent('#graph g[data-node="activity"] text.parts');
    const count = Number(caption.match(/^(\d+) partitions$/)[1]);
    assert.equal(partitions, Math.min(count, 16), `a cell per partition: ${caption}`);
    await page.selectOption('#example', 'global-cdn');
    await page.waitForSelector('#graph g[data-node="cdn"] text.parts');
    assert.match(await page.textContent('#graph g[data-node="cdn"] text.parts'), /^edges in /);
    await screenshot('canvas-parts');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
