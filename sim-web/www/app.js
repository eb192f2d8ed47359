// The page's controller: loads the WebAssembly engine, keeps the editor, drawing, charts and
// results in step with a live run that it advances in slices (so the page never freezes),
// and handles faults, the load slider, sharing and downloads; comparisons are in compare.js.

import init, { examples as loadExamples, inspect, LiveRun, add_trace, design_connect } from './pkg/sim_web.js';
import { createEditor } from './editor.js';
import { Graph } from './graph.js';
import { createDesign } from './design.js';
import { LineChart } from './charts.js';
import { renderReport, parseReport } from './results.js';
import { createComparison } from './compare.js';
import { encodeState, decodeState } from './share.js';

const $ = (id) => document.getElementById(id);

const app = {
  examples: [],
  outline: null,
  run: null,
  running: false,
  windowSeconds: 1,
  chunkSeconds: 1,
  lastNodes: null,
  injected: new Map(), // node name -> injected fault numbers in force
  faults: [],
  errorReasons: new Set(),
  report: null,
  startedAt: 0,
  computeMs: 0,
  lastDraw: 0,
};

const charts = {
  latency: new LineChart($('chart-latency'), { unit: 's' }),
  throughput: new LineChart($('chart-throughput'), { label: 'requests/s' }),
  errors: new LineChart($('chart-errors'), { label: 'errors/s' }),
  utilization: new LineChart($('chart-utilization'), { unit: '%' }),
};

const graph = new Graph(
  $('graph'),
  openNodeMenu,
  (from, to) => design.edit((text) => design_connect(text, from, to), `connected ${from} → ${to}`),
  // A moved box keeps its place across reloads and in share links.
  () => keepWork(),
);
const editor = createEditor($('source'), $('highlight'), checkText);
// The design canvas edits the editor's text (`design.js`).
const design = createDesign({ app, editor, graph, setStatus, stop, keepWork, menuNode: () => menuNode });
// The comparison of design A (the editor's text) with a design B (`compare.js`).
const comparison = createComparison({ app, editor, readNumber, windowFor });

function setStatus(text) {
  $('status').textContent = text;
}

function readNumber(id) {
  const value = $(id).value.trim();
  return value === '' ? -1 : Number(value);
}

/** The analytic view's verdicts, worked out as the design changes, before any run. */
function showPrediction(lines) {
  const box = $('prediction');
  box.replaceChildren();
  if (!lines || !lines.length) {
    box.hidden = true;
    return;
  }
  const title = document.createElement('strong');
  title.textContent = 'Predicted (analytic view, before running):';
  box.append(title);
  for (const line of lines) {
    const p = document.createElement('p');
    p.textContent = line;
    box.append(p);
  }
  box.hidden = false;
}

/** Checks the editor's text as the user types: the error with its line, or a new drawing. */
function checkText(text) {
  const result = JSON.parse(inspect(text));
  const box = $('error');
  if (result.ok) {
    box.hidden = true;
    editor.markError([]);
    app.outline = result.outline;
    if (!app.run || app.run.finished()) graph.draw(app.outline.layout);
    showPrediction(app.outline.prediction);
    $('seed').placeholder = app.outline.seed;
    $('duration').placeholder = app.outline.duration_s ?? '';
    $('requests').placeholder = app.outline.requests ?? '';
    $('warmup').placeholder = app.outline.warmup_s;
    updateRateLabel();
    app.layout = app.outline.layout;
  } else {
    const p = result.problem;
    // A text with mistakes in several nodes gets each of them, and each line is marked.
    const all = [p, ...(p.also ?? [])];
    const describe = (q) => `${q.line ? `line ${q.line}, column ${q.column}: ` : ''}${q.message}${q.help ? `\nhelp: ${q.help}` : ''}`;
    box.textContent = all.map(describe).join('\n\n');
    box.dataset.line = p.line ?? '';
    box.dataset.column = p.column ?? '';
    box.title = p.line ? 'click to go to the first line' : '';
    box.hidden = false;
    editor.markError(all.map((q) => q.line).filter(Boolean));
    app.outline = null;
    showPrediction([]);
    // A text that reads but does not check yet is drawn as a sketch, to go on designing.
    if (result.sketch) {
      app.layout = result.sketch;
      if (!app.run || app.run.finished()) graph.draw(result.sketch);
    }
  }
  $('run').disabled = !result.ok && !app.run;
  $('step').disabled = !result.ok && !app.run;
}

/** A window length that gives about 150 windows over the run, between 0.1 s and 60 s. */
function windowFor(durationS, requests) {
  const outline = app.outline;
  let horizon = durationS > 0 ? durationS : outline.duration_s;
  if (!horizon) {
    const count = requests > 0 ? requests : outline.requests;
    horizon = count / Math.max(outline.open_rate_per_s, 1);
  }
  const raw = horizon / 150;
  const power = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 5, 10].find((m) => m * power >= raw) * power;
  return Math.min(60, Math.max(0.1, nice));
}

function showProblem(text) {
  const problem = JSON.parse(text);
  const box = $('error');
  box.textContent = `${problem.line ? `line ${problem.line}, column ${problem.column}: ` : ''}${problem.message}${
    problem.help ? `\nhelp: ${problem.help}` : ''
  }`;
  box.hidden = false;
  // The status says it too, rather than "ready" beside an error.
  setStatus(`cannot start: ${problem.message}`);
}

/** Starts a new run of the editor's text; false when it cannot start. */
function startRun() {
  if (!app.outline) return false;
  const duration = readNumber('duration');
  const requests = readNumber('requests');
  app.windowSeconds = windowFor(duration, requests);
  if (app.run) {
    app.run.free(); // the previous run's memory lives in WebAssembly until freed
    app.run = null;
  }
  try {
    app.run = new LiveRun(editor.text, $('seed').value, requests > 0 ? -1 : duration, requests, readNumber('warmup'), app.windowSeconds);
  } catch (problem) {
    showProblem(String(problem));
    return false;
  }
  app.run.set_load_factor(Number($('rate').value) / 100);
  app.chunkSeconds = app.windowSeconds;
  app.injected.clear();
  app.faults = [];
  app.errorReasons.clear();
  app.lastNodes = null;
  app.liveFigures = null;
  app.report = null;
  app.computeMs = 0;
  app.startedAt = performance.now();
  for (const chart of Object.values(charts)) chart.clear();
  $('results').hidden = true;
  $('download-report').disabled = true;
  updateScenarioButton(); // a load other than 100% is a step at 0 s
  $('reset').disabled = false;
  graph.draw(app.outline.layout);
  return true;
}

function play() {
  if (!app.run || app.run.finished()) {
    if (!startRun()) return;
  }
  app.running = true;
  $('run').disabled = true;
  $('pause').disabled = false;
  $('step').disabled = true;
  app.lastFrame = performance.now();
  schedule();
}

function pause() {
  app.running = false;
  $('run').disabled = false;
  $('run').textContent = '▶ Resume';
  $('pause').disabled = true;
  $('step').disabled = false;
  setStatus(`paused at ${app.run.now_s().toFixed(1)} s · ${app.liveFigures ?? ''}`);
}

function step() {
  if (!app.run || app.run.finished()) {
    if (!startRun()) return;
  }
  const t0 = performance.now();
  const done = app.run.advance_to(app.run.now_s() + app.windowSeconds);
  app.computeMs += performance.now() - t0;
  afterSlice(done, true);
  if (!done) setStatus(`paused at ${app.run.now_s().toFixed(1)} s · ${app.liveFigures ?? ''}`);
}

function stop() {
  app.running = false;
  if (app.run) app.run.free();
  app.run = null;
  $('run').disabled = !app.outline;
  $('run').textContent = '▶ Run';
  $('pause').disabled = true;
  $('step').disabled = !app.outline;
  $('reset').disabled = true;
  $('download-scenario').disabled = true;
  $('progress').value = 0;
  setStatus('ready');
  if (app.outline) graph.draw(app.outline.layout);
}

// Slices: yield to the browser between them through a message (not a timer, which browsers
// clamp) when running as fast as possible, or on the next animation frame otherwise.
const channel = new MessageChannel();
channel.port1.onmessage = () => slice();
function schedule() {
  if ($('speed').value === 'max') channel.port2.postMessage(null);
  else requestAnimationFrame(() => slice());
}

function slice() {
  if (!app.running || !app.run) return;
  const run = app.run;
  const now = performance.now();
  let done = false;
  if ($('speed').value === 'max') {
    // Calls of a few milliseconds each, for about 80 ms, then let the page breathe.
    const deadline = now + 80;
    while (!done && performance.now() < deadline) {
      const t0 = performance.now();
      done = run.advance_to(run.now_s() + app.chunkSeconds);
      const took = performance.now() - t0;
      if (took < 3) app.chunkSeconds *= 2;
      else if (took > 12) app.chunkSeconds /= 2;
    }
  } else {
    const realSeconds = Math.min(now - app.lastFrame, 100) / 1000;
    done = run.advance_to(run.now_s() + realSeconds * Number($('speed').value));
  }
  app.computeMs += performance.now() - now;
  app.lastFrame = now;
  afterSlice(done, false);
  if (!done && app.running) schedule();
}

/** Reads what the run produced since the last slice and shows it. */
function afterSlice(done, forceDraw) {
  const run = app.run;
  const windows = JSON.parse(run.new_windows());
  for (const w of windows) {
    const t = w.end_s;
    for (const chart of Object.values(charts)) chart.extend(t);
    charts.latency.add('p50', t, w.p50_s);
    charts.latency.add('p99', t, w.p99_s);
    charts.throughput.add('completed', t, w.throughput_per_s);
    const length = Math.max(w.end_s - w.start_s, 1e-9);
    for (const e of w.errors) app.errorReasons.add(e.reason);
    for (const reason of app.errorReasons) {
      const found = w.errors.find((e) => e.reason === reason);
      charts.errors.add(reason, t, found ? found.count / length : 0);
    }
    app.outline.layout.vertices.forEach((v) => {
      if (v.node !== null && w.nodes[v.node].utilization !== null) charts.utilization.add(v.name, t, w.nodes[v.node].utilization);
    });
    app.lastNodes = w.nodes;
  }
  app.faults = JSON.parse(run.faults());
  const now = performance.now();
  // Redraw four times a second; twice when running flat out, where drawing is time lost.
  const drawEveryMs = $('speed').value === 'max' ? 500 : 250;
  if (forceDraw || done || now - app.lastDraw > drawEveryMs) {
    app.lastDraw = now;
    drawLive();
  }
  $('progress').value = run.progress();
  if (windows.length) {
    const last = windows[windows.length - 1];
    $('status').dataset.errorRate = last.error_rate;
    app.liveFigures = `${Math.round(last.throughput_per_s)}/s, ${(last.error_rate * 100).toFixed(1)}% errors`;
  }
  if (done) finish();
  else if (app.running) setStatus(`running: ${run.now_s().toFixed(1)} s simulated · ${app.liveFigures ?? ''}`);
}

function faultsInForce() {
  const byNode = new Map();
  for (const f of app.faults) {
    if (f.end_s === null) byNode.set(f.target, [...(byNode.get(f.target) || []), f.label]);
  }
  return byNode;
}

function drawLive() {
  for (const chart of Object.values(charts)) {
    chart.faults = app.faults;
    chart.draw();
  }
  graph.update(app.lastNodes, faultsInForce(), $('animate').checked && !(app.run && app.run.finished()));
  const list = $('fault-list');
  list.replaceChildren(
    ...app.faults.map((f) => {
      const item = document.createElement('li');
      const end = f.end_s === null ? 'in force' : `until ${f.end_s.toFixed(1)} s`;
      item.textContent = `${f.label} ${f.target} (${f.detail}) from ${f.start_s.toFixed(1)} s, ${end}`;
      return item;
    }),
  );
}

function finish() {
  const run = app.run;
  app.running = false;
  const wallS = (performance.now() - app.startedAt) / 1000;
  app.report = run.report_json();
  const report = parseReport(app.report);
  $('results-body').innerHTML = renderReport(report, JSON.parse(run.component_details() || '[]'));
  $('results-text').textContent = run.report_table();
  $('results').hidden = false;
  $('download-report').disabled = false;
  $('run').disabled = !app.outline;
  $('run').textContent = '▶ Run again';
  $('pause').disabled = true;
  $('step').disabled = !app.outline;
  const status = $('status');
  status.dataset.computeS = (app.computeMs / 1000).toFixed(3);
  status.dataset.wallS = wallS.toFixed(3);
  setStatus(
    `finished: ${report.requests.generated.toLocaleString('en-US')} requests, ${report.sim_time_s.toFixed(1)} s simulated, ` +
      `computed in ${(app.computeMs / 1000).toFixed(2)} s`,
  );
  drawLive();
}

// --- Faults from the drawing -------------------------------------------------------------

let menuNode = null;
function openNodeMenu(name, event, isWorkload = false) {
  if (isWorkload) {
    design.openInspector(name, true);
    event.stopPropagation();
    return;
  }
  const menu = $('node-menu');
  menuNode = name;
  const live = app.run && !app.run.finished();
  menu.querySelector('.menu-title').textContent = live ? name : `${name}: start a run to break it`;
  $('menu-problem').hidden = true;
  for (const button of menu.querySelectorAll('button[data-fault]')) {
    const healing = button.dataset.fault === 'heal';
    button.disabled = !live || (healing && !(app.injected.get(name) || []).length);
  }
  const wrap = $('graph-panel').getBoundingClientRect();
  menu.hidden = false;
  // Beside the click, but kept inside the window: a node in the right-hand column opens
  // its menu to the left of the pointer, one near the bottom above it.
  const size = menu.getBoundingClientRect();
  const x = event.clientX + 8 + size.width > window.innerWidth ? event.clientX - 8 - size.width : event.clientX + 8;
  const y = event.clientY + 8 + size.height > window.innerHeight ? event.clientY - 8 - size.height : event.clientY + 8;
  menu.style.left = `${Math.max(4, x) - wrap.left}px`;
  menu.style.top = `${Math.max(4, y) - wrap.top}px`;
  event.stopPropagation();
}

/** The amount typed for a fault kind, or a sentence saying what is wrong with it. */
function faultAmount(kind) {
  if (kind === 'slow') {
    const factor = Number($('slow-factor').value);
    if ($('slow-factor').value.trim() === '' || !(factor > 0 && factor <= 1e6)) {
      return { problem: 'The slowdown factor must be above 0 and at most 1,000,000 (5 makes service 5 times slower).' };
    }
    return { amount: factor };
  }
  if (kind === 'errors') {
    const percent = Number($('error-percent').value);
    if ($('error-percent').value.trim() === '' || !(percent > 0 && percent <= 100)) {
      return { problem: 'The share of requests to fail must be above 0% and at most 100%.' };
    }
    return { amount: percent / 100 };
  }
  return { amount: 0 };
}

/** "Faults ↓" is enabled once the run has faults or load steps to export. */
function updateScenarioButton() {
  $('download-scenario').disabled = !(app.run && app.run.injected_scenario());
}

function applyFault(kind) {
  const name = menuNode;
  if (!app.run || !name) return;
  const { amount, problem } = faultAmount(kind);
  if (problem) {
    $('menu-problem').textContent = problem;
    $('menu-problem').hidden = false;
    return;
  }
  $('node-menu').hidden = true;
  if (kind === 'heal') {
    for (const fault of app.injected.get(name) || []) app.run.heal(fault);
    app.injected.delete(name);
  } else {
    const fault = app.run.inject(name, kind, amount);
    if (fault >= 0) app.injected.set(name, [...(app.injected.get(name) || []), fault]);
    updateScenarioButton();
  }
  // Show it at once, even while paused: the fault starts at the current simulated time.
  if (!app.running) afterSlice(app.run.settle(), true);
}

// --- Sharing and downloads ---------------------------------------------------------------

function settings() {
  return {
    text: editor.text,
    places: graph.placesObject(),
    seed: $('seed').value,
    duration: $('duration').value,
    requests: $('requests').value,
    warmup: $('warmup').value,
    speed: $('speed').value,
    rate: $('rate').value,
    example: $('example').value,
  };
}

// The work in progress is kept in the browser's storage, so a reload (or a closed tab)
// does not lose it; a share link, when there is one, takes precedence.
const STORAGE_KEY = 'archsim.work';

function keepWork() {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(settings()));
  } catch {
    // Storage full or disabled (private windows): the work is simply not kept.
  }
}

function keptWork() {
  try {
    const kept = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
    return kept && typeof kept.text === 'string' ? kept : null;
  } catch {
    return null;
  }
}

function restore(state) {
  for (const key of ['seed', 'duration', 'requests', 'warmup', 'speed', 'rate']) if (state[key] !== undefined) $(key).value = state[key];
  $('example').value = state.example || '';
  graph.setPlaces(state.places);
  editor.text = state.text || '';
}

async function share() {
  const hash = await encodeState(settings());
  history.replaceState(null, '', hash);
  const link = $('share-link');
  link.value = location.href;
  link.hidden = false;
  link.select();
  try {
    await navigator.clipboard.writeText(location.href);
    setStatus('link copied: it reopens this topology with these settings');
  } catch {
    // No clipboard permission: the link stays selected in the field to copy by hand.
    setStatus('link ready in the field above: copy it by hand');
  }
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function updateRateLabel() {
  const percent = Number($('rate').value);
  const base = app.outline ? app.outline.open_rate_per_s : 0;
  // Closed workloads have users, not a rate: the slider has nothing to scale.
  $('rate').disabled = Boolean(app.outline) && base === 0;
  $('rate').title = $('rate').disabled ? 'this topology has only closed workloads' : 'scales the open workloads';
  $('rate-value').textContent = base > 0 ? `${percent}% (${+(base * percent / 100).toPrecision(4)}/s)` : `${percent}%`;
}

// --- Start-up ----------------------------------------------------------------------------

// Themes: the system's setting, or the one chosen with the header's button (kept).
const THEME_KEY = 'archsim-theme';
const THEMES = ['system', 'dark', 'light'];

function applyTheme(theme) {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  $('theme').textContent = `Theme: ${theme}`;
  drawLive(); // the charts draw with the theme's colours
}

function setUpTheme() {
  let theme = 'system';
  try {
    theme = THEMES.includes(localStorage.getItem(THEME_KEY)) ? localStorage.getItem(THEME_KEY) : 'system';
  } catch {
    // Storage disabled: the system's setting.
  }
  applyTheme(theme);
  $('theme').addEventListener('click', () => {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    try {
      localStorage.setItem(THEME_KEY, theme);
    } catch {
      // Not kept, but applied.
    }
    applyTheme(theme);
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', drawLive);
}

function chooseExample(name) {
  const example = app.examples.find((e) => e.name === name);
  if (!example) return;
  if (app.run) stop();
  $('example').value = name;
  graph.setPlaces({});
  graph.view = null;
  editor.text = example.text;
  // Compare's B, while it is the copy of A, follows the example chosen for A.
  if ($('compare-example').value === '') comparison.editor.text = example.text;
}

async function main() {
  await init();
  app.examples = JSON.parse(loadExamples());
  for (const select of [$('example'), $('compare-example')]) {
    for (const example of app.examples) {
      const option = document.createElement('option');
      option.value = example.name;
      option.textContent = example.name;
      option.title = example.title;
      select.appendChild(option);
    }
  }
  const custom = document.createElement('option');
  custom.value = '';
  custom.textContent = '(your own)';
  $('example').prepend(custom);

  $('example').addEventListener('change', (e) => chooseExample(e.target.value));
  $('error').addEventListener('click', () => {
    const { line, column } = $('error').dataset;
    if (line) editor.goTo(Number(line), Number(column));
  });
  $('source').addEventListener('input', () => ($('example').value = ''));
  $('run').addEventListener('click', play);
  $('trace-files').addEventListener('change', async (e) => {
    // Each picked file is kept by name for the Trace workloads that name it; the text is
    // checked again so that a workload waiting for its file finds it.
    for (const file of e.target.files) add_trace(file.name, new Uint8Array(await file.arrayBuffer()));
    setStatus(`trace files: ${[...e.target.files].map((f) => f.name).join(', ')}`);
    checkText(editor.text);
  });
  $('pause').addEventListener('click', pause);
  $('step').addEventListener('click', step);
  $('reset').addEventListener('click', stop);
  $('rate').addEventListener('input', updateRateLabel);
  // The load changes when the slider is let go: each change is a load step of the run,
  // listed with the faults and replayed by the "Faults ↓" scenario.
  $('rate').addEventListener('change', () => {
    if (!app.run || app.run.finished()) return;
    app.run.set_load_factor(Number($('rate').value) / 100);
    updateScenarioButton();
    if (!app.running) afterSlice(app.run.settle(), true);
  });
  $('share').addEventListener('click', share);
  $('download-topology').addEventListener('click', () =>
    download(`${$('example').value || 'topology'}.ron`, editor.text, 'text/plain'),
  );
  $('download-report').addEventListener('click', () => app.report && download('report.json', app.report, 'application/json'));
  $('download-scenario').addEventListener('click', () => {
    const scenario = app.run && app.run.injected_scenario();
    if (scenario) download('injected-faults.scenario.ron', scenario, 'text/plain');
  });
  for (const button of $('node-menu').querySelectorAll('button[data-fault]')) {
    button.addEventListener('click', () => applyFault(button.dataset.fault));
  }
  document.addEventListener('click', (event) => {
    if (!$('node-menu').contains(event.target)) $('node-menu').hidden = true;
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') $('node-menu').hidden = true;
  });
  design.setUp();
  setUpTheme();
  window.addEventListener('resize', drawLive);

  const shared = await decodeState(location.hash);
  const kept = shared ? null : keptWork();
  if (shared) {
    restore(shared);
  } else if (kept) {
    restore(kept);
  } else {
    chooseExample('three-tier');
  }
  // Every edit of the text or of a setting is kept (the text at most every 300 ms).
  let keepTimer = null;
  $('source').addEventListener('input', () => {
    clearTimeout(keepTimer);
    keepTimer = setTimeout(keepWork, 300);
  });
  for (const key of ['seed', 'duration', 'requests', 'warmup', 'speed', 'rate', 'example']) $(key).addEventListener('change', keepWork);
  if (matchMedia('(prefers-reduced-motion: reduce)').matches) $('animate').checked = false;
  $('animate').addEventListener('change', drawLive);
  comparison.setUp();
  updateRateLabel();
  drawLive();
  if (!shared && location.hash.startsWith('#s=')) {
    setStatus(`the shared link is damaged (cut short or altered): showing ${kept ? 'your last work' : 'an example'} instead`);
  } else if (kept) {
    setStatus('your last work is back (kept in this browser)');
  }
  document.body.dataset.ready = 'true';
}

main().catch((error) => {
  setStatus(`the engine failed to load: ${error}`);
  throw error;
});
