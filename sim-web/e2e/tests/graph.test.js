// The drawing: boxes coloured by utilization (green, amber, red), and a node's menu that
// stays inside the window for every node of every example and closes with Escape.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPage, waitForFinish } from '../browser.js';

const IDLE = 'rgb(238, 241, 245)';
const RED = 'rgb(249, 208, 204)';
const GREEN = 'rgb(217, 242, 220)';

async function fill(page, node) {
  return page.$eval(`[data-node="${node}"] rect`, (rect) => getComputedStyle(rect).fill);
}

test('boxes take the colour of their utilization, and turn red when overloaded', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'three-tier');
    assert.equal(await fill(page, 'app'), IDLE, 'before a run a box is grey');
    await page.fill('#duration', '20');
    await page.click('#run');
    await waitForFinish(page);
    const light = await fill(page, 'app');
    assert.notEqual(light, IDLE, 'after a run the app box shows its utilization');
    assert.equal(light, GREEN, 'three-tier at its own load leaves the app under 60% busy');
    // Three times the load saturates the app pool.
    await page.fill('#rate', '300');
    await page.click('#run');
    // The first run's "finished" status stays until the second starts: wait for that first.
    await page.waitForFunction(() => !document.getElementById('status').textContent.startsWith('finished'));
    await waitForFinish(page);
    await screenshot('graph-overloaded');
    assert.equal(await fill(page, 'app'), RED, 'an overloaded app is red');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test("every node's menu opens inside the window and closes with Escape", async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    const examples = await page.$$eval('#example option', (options) => options.map((o) => o.value));
    assert.ok(examples.length > 10);
    let checked = 0;
    for (const example of examples) {
      await page.selectOption('#example', example);
      const nodes = await page.$$eval('[data-node]', (groups) => groups.map((g) => g.dataset.node));
      for (const node of nodes) {
        await page.click(`[data-node="${node}"]`);
        const box = await page.$eval('#node-menu', (menu) => {
          const r = menu.getBoundingClientRect();
          return { hidden: menu.hidden, left: r.left, top: r.top, right: r.right, bottom: r.bottom };
        });
        const viewport = page.viewportSize();
        assert.equal(box.hidden, false, `${example}/${node}: the menu opens`);
        assert.ok(
          box.left >= 0 && box.top >= 0 && box.right <= viewport.width && box.bottom <= viewport.height,
          `${example}/${node}: the menu at ${JSON.stringify(box)} leaves the ${viewport.width}×${viewport.height} window`,
        );
        await page.keyboard.press('Escape');
        assert.equal(await page.$eval('#node-menu', (menu) => menu.hidden), true, `${example}/${node}: Escape closes it`);
        checked += 1;
      }
    }
    assert.ok(checked > 50, `only ${checked} nodes checked`);
    await screenshot('graph-menus');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('charts keep a spike that falls between pixel columns, and shared links say what happened', async () => {
  const { page, errors, close } = await openPage('#s=this-is-not-a-link');
  try {
    const status = await page.textContent('#status');
    assert.match(status, /shared link is damaged/, 'a damaged link is named, not silently ignored');
    // 10000 points over 500 pixel columns with one spike: drawing every 20th point would
    // miss it; the lowest and highest per column keep it, in at most 4 points per column.
    const drawn = await page.evaluate(async () => {
      const { minMaxColumns } = await import('./charts.js');
      const points = Array.from({ length: 10000 }, (_, i) => [i, i === 4321 ? 100 : 1]);
      points[7000] = [7000, null];
      return minMaxColumns(points, (t) => t / 20);
    });
    assert.ok(drawn.some(([, v]) => v === 100), 'the spike is drawn');
    assert.ok(drawn.some(([t, v]) => t === 7000 && v === null), 'the gap is kept');
    assert.ok(drawn.length <= 4 * 501, `${drawn.length} points for 500 columns`);
    assert.deepEqual(drawn.map(([t]) => t), [...drawn.map(([t]) => t)].sort((a, b) => a - b), 'in time order');
    await page.click('#share');
    await page.waitForFunction(() => /^link (copied|ready)/.test(document.getElementById('status').textContent));
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a run-settings error is said in the status, not beside "ready"', async () => {
  const { page, errors, close } = await openPage();
  try {
    await page.fill('#seed', '12x');
    await page.click('#run');
    await page.waitForFunction(() => /^cannot start: /.test(document.getElementById('status').textContent));
    assert.equal(await page.$eval('#error', (box) => box.hidden), false, 'the error is shown under the editor too');
    assert.match(await page.textContent('#error'), /seed/i);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('arrows follow the traffic and flow while it moves; boxes show their queue and live figures', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'three-tier');
    await page.fill('#duration', '600');
    await page.fill('#rate', '300');
    await page.selectOption('#speed', '20');
    await page.click('#run');
    await page.waitForFunction(() => document.querySelectorAll('#graph path.edge.flowing').length > 0);
    await page.click('#pause');
    const widths = await page.$$eval('#graph path.edge', (paths) => paths.map((p) => parseFloat(p.style.strokeWidth)));
    assert.ok(widths.every((w) => w >= 1.2 && w <= 4.8), widths.join(', '));
    // The overloaded app pool has a queue: its box's foot fills.
    const queue = await page.$eval('[data-node="app"] rect.queue-fill', (r) => Number(r.getAttribute('width')));
    assert.ok(queue > 0, `queue fill ${queue}`);
    // The app's 4 instances are 4 dots, all serving.
    assert.equal(await page.$$eval('[data-node="app"] circle.instance.up', (c) => c.length), 4);
    const tooltip = await page.$eval('[data-node="app"] title', (t) => t.textContent);
    assert.match(tooltip, /now: \d+% busy, [\d.]+ waiting, [\d.]+ answers\/s, \d+ errors, 4 instances serving/);
    // Hovering a chart reads out each series at that time.
    const chart = await page.locator('#chart-utilization').boundingBox();
    await page.mouse.move(chart.x + chart.width * 0.6, chart.y + 40);
    const readout = await page.$eval('#chart-utilization', (c) => c.dataset.readout);
    assert.match(readout, /^[\d.]+ s\napp: \d+%\ndb: \d+%$/, readout);
    await screenshot('graph-traffic');
    await page.click('#animate');
    assert.equal(await page.$$eval('#graph path.edge.flowing', (p) => p.length), 0, 'no animation once turned off');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('regions and zones are named on their boxes, and a crashed instance is a hollow dot', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.selectOption('#example', 'zone-outage');
    const tags = await page.$$eval('#graph text.region', (texts) => texts.map((t) => t.textContent));
    assert.ok(tags.some((tag) => / · /.test(tag)), `zones are named: ${tags.join(', ')}`);
    const stripes = await page.$$eval('#graph rect.region-stripe', (rects) => rects.length);
    assert.ok(stripes >= tags.length - 2, 'placed boxes have their region stripe');
    await page.selectOption('#example', 'three-tier');
    await page.fill('#duration', '600');
    await page.selectOption('#speed', '20');
    await page.click('#run');
    await page.waitForFunction(() => document.querySelectorAll('[data-node="app"] circle.instance.up').length === 4);
    await page.click('[data-node="app"]');
    await page.click('#node-menu button[data-fault="crash"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-node="app"] circle.instance.up').length < 4);
    await page.click('#pause');
    await screenshot('graph-instances');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

/** A 26-node design: an edge service, a balancer, an API pool calling two helpers and seven
 * services, each with a cache in front of its database. */
function bigDesign() {
  const services = [1, 2, 3, 4, 5, 6, 7];
  const nodes = [
    '"edge": Service(workers: 64, steps: [Work(Exp(mean: "1ms")), Call("api-lb")])',
    '"api-lb": LoadBalancer(algorithm: RoundRobin, backends: ["api"])',
    `"api": Service(instances: 3, workers: 32, steps: [Work(Exp(mean: "1ms")), Call("auth"), Call("audit"), ${services
      .map((i) => `Call("svc-${i}")`)
      .join(', ')}])`,
    '"auth": Service(workers: 16, steps: [Work(Exp(mean: "1ms"))])',
    '"audit": Service(workers: 16, steps: [Work(Exp(mean: "1ms"))])',
    ...services.flatMap((i) => [
      `"svc-${i}": Service(workers: 16, steps: [Work(Exp(mean: "1ms")), Call("cache-${i}")])`,
      `"cache-${i}": Cache(capacity: 1000, hit: Exp(mean: "200us"), backend: "db-${i}")`,
      `"db-${i}": Service(workers: 16, steps: [Work(Exp(mean: "3ms"))])`,
    ]),
  ];
  return `// 26 nodes, for the drawing's readability.
Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), keys: Zipf(n: 10000, s: 0.9), to: "edge")],
    nodes: {
        ${nodes.join(',\n        ')},
    },
    run: (duration: "10s", seed: 1),
)
`;
}

test('a 26-node design is readable at 1000 px: no box on another, names inside their boxes, text at least 8 px', async () => {
  const { page, errors, screenshot, close } = await openPage();
  try {
    await page.setViewportSize({ width: 1000, height: 900 });
    await page.fill('#source', bigDesign());
    await page.waitForFunction(() => document.querySelectorAll('#graph g[data-node]').length === 26);
    assert.equal(await page.isHidden('#error'), true, await page.textContent('#error'));
    const boxes = await page.$$eval('#graph g.vertex', (groups) =>
      groups.map((g) => {
        const r = g.querySelector(':scope > rect').getBoundingClientRect();
        const name = g.querySelector('text.name').getBoundingClientRect();
        return { name: g.dataset.name, r: [r.left, r.top, r.right, r.bottom], label: [name.left, name.right] };
      }),
    );
    assert.equal(boxes.length, 27);
    for (const [i, a] of boxes.entries()) {
      assert.ok(a.label[1] <= a.r[2] - 2, `${a.name}'s name runs out of its box`);
      for (const b of boxes.slice(i + 1)) {
        const apart = a.r[2] <= b.r[0] || b.r[2] <= a.r[0] || a.r[3] <= b.r[1] || b.r[3] <= a.r[1];
        assert.ok(apart, `${a.name} and ${b.name} overlap`);
      }
    }
    const scale = await page.$eval('#graph', (svg) => svg.getScreenCTM().a);
    assert.ok(scale * 12 >= 8.3, `names are drawn at ${(scale * 12).toFixed(1)} px`);
    // The panel shows the drawing's first columns at a readable size, the clients first.
    const zoom = () => page.$eval('#graph', (svg) => Number(svg.dataset.zoom));
    assert.ok((await zoom()) > 1, 'the panel shows part of the drawing');
    const panel = await page.locator('#graph').boundingBox();
    const users = await page.locator('#graph g[data-name="users"]').boundingBox();
    assert.ok(users.x >= panel.x && users.y >= panel.y && users.x + users.width <= panel.x + panel.width, 'the clients are in view');
    await screenshot('graph-26-nodes-1000px');
    // Fit shows all of it, smaller; zooming in comes back to a readable size.
    await page.click('#zoom-fit');
    assert.ok(Math.abs((await zoom()) - 1) < 1e-3);
    const boxesInView = await page.$$eval('#graph g.vertex', (groups) => {
      const panel = document.getElementById('graph').getBoundingClientRect();
      return groups.filter((g) => {
        const r = g.getBoundingClientRect();
        return r.left >= panel.left - 1 && r.right <= panel.right + 1 && r.top >= panel.top - 1 && r.bottom <= panel.bottom + 1;
      }).length;
    });
    assert.equal(boxesInView, 27, 'fitted, every box is in the panel');
    await screenshot('graph-26-nodes-fitted');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
