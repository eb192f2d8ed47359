// The comparison of two designs: design B's editor (a copy of A to change, or an example),
// the paired runs of A and B on common seeds in slices, sim-batch's statistics on them, and
// the charts of both designs' first replication.

import { inspect, LiveRun, compare_seeds, compare_reports } from './pkg/sim_web.js';
import { createEditor } from './editor.js';
import { LineChart } from './charts.js';
import { renderComparison, parseReport } from './results.js';

const $ = (id) => document.getElementById(id);

/**
 * The comparison panel of the page `page`: `{ app, editor, readNumber, windowFor }` (design
 * A is `editor`'s text). Returns `{ editor, setUp }`: design B's editor, and `setUp(examples)`,
 * which fills B's example list and wires its controls.
 */
export function createComparison(page) {
  const { app, editor, readNumber, windowFor } = page;
  // Design B, highlighted too, its error lines marked as it is typed.
  const compareEditor = createEditor($('compare-source'), $('compare-highlight'), (text) => {
    const result = JSON.parse(inspect(text));
    const p = result.ok ? null : result.problem;
    compareEditor.markError(p ? [p, ...(p.also ?? [])].map((q) => q.line).filter(Boolean) : []);
  });

  /**
   * Runs `text` to the end with `seed` in slices, yielding to the page between them; returns the
   * report's JSON text and the windows observed.
   */
  async function runToEnd(text, seed, windowSeconds, label) {
    const duration = readNumber('duration');
    const requests = readNumber('requests');
    const run = new LiveRun(text, seed, requests > 0 ? -1 : duration, requests, readNumber('warmup'), windowSeconds);
    const windows = [];
    try {
      let done = false;
      while (!done) {
        const deadline = performance.now() + 50;
        while (!done && performance.now() < deadline) done = run.advance_to(run.now_s() + windowSeconds * 10);
        windows.push(...JSON.parse(run.new_windows()));
        $('compare-status').textContent = `${label}: ${Math.round(run.progress() * 100)}%`;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return { reportJson: run.report_json(), windows };
    } finally {
      run.free();
    }
  }

  /**
   * The stretches of windows in which a design answered nothing, merged, as chart marks
   * `{label: 'outage', target: design, start_s, end_s}`.
   */
  function outageWindows(windows, design) {
    const marks = [];
    for (const w of windows) {
      if (w.throughput_per_s > 0) continue;
      const last = marks[marks.length - 1];
      if (last && Math.abs(last.end_s - w.start_s) < 1e-9) last.end_s = w.end_s;
      else marks.push({ label: 'outage', target: design, start_s: w.start_s, end_s: w.end_s });
    }
    return marks;
  }

  async function compare() {
    const box = $('compare-error');
    box.hidden = true;
    const checkB = JSON.parse(inspect(compareEditor.text));
    if (!app.outline || !checkB.ok) {
      const p = app.outline ? checkB.problem : { message: 'design A (the editor above) has an error' };
      box.textContent = `${p.line ? `B, line ${p.line}, column ${p.column}: ` : ''}${p.message}`;
      box.hidden = false;
      return;
    }
    $('compare-run').disabled = true;
    try {
      const replications = Number($('compare-replications').value);
      // Replication r of A and of B run on one seed (common random numbers), the seeds that
      // archsim compare --seed gives them; the statistics are sim-batch's, as in the CLI.
      const seeds = JSON.parse(compare_seeds($('seed').value, Number.isInteger(replications) ? replications : 0));
      const windowSeconds = windowFor(readNumber('duration'), readNumber('requests'));
      const reports = { A: [], B: [] };
      const firstWindows = {};
      for (const [index, seed] of seeds.entries()) {
        for (const [label, text] of [['A', editor.text], ['B', compareEditor.text]]) {
          const run = await runToEnd(text, seed, windowSeconds, `replication ${index + 1} of ${seeds.length}, ${label}`);
          reports[label].push(run.reportJson);
          if (index === 0) firstWindows[label] = run.windows;
        }
      }
      const comparison = JSON.parse(compare_reports(`[${reports.A.join(',')}]`, `[${reports.B.join(',')}]`));
      const body = $('compare-body');
      body.innerHTML =
        renderComparison(comparison) +
        '<canvas id="chart-compare" class="chart"></canvas><canvas id="chart-compare-throughput" class="chart"></canvas>';
      // Both designs' curves of replication 1, A solid and wide, B dashed over it, so that
      // either shows where they coincide; the windows where a design answered nothing are
      // shaded and named, since a latency line has no point there.
      const latency = new LineChart($('chart-compare'), { unit: 's' });
      const throughput = new LineChart($('chart-compare-throughput'), { label: 'answers/s' });
      for (const label of ['A', 'B']) {
        const style = label === 'A' ? { width: 3 } : { dash: [6, 4], width: 1.8 };
        const names = { p99: `${label} p99 (replication 1)`, answers: `${label} answers/s (replication 1)` };
        latency.style(names.p99, style);
        throughput.style(names.answers, style);
        for (const w of firstWindows[label]) {
          latency.add(names.p99, w.end_s, w.p99_s);
          throughput.add(names.answers, w.end_s, w.throughput_per_s);
        }
        const outages = outageWindows(firstWindows[label], label);
        latency.faults.push(...outages);
        throughput.faults.push(...outages);
      }
      latency.draw();
      throughput.draw();
      const first = parseReport(reports.A[0]);
      $('compare-status').textContent =
        `done: ${comparison.replications} paired replications of ${first.sim_time_s} s (seeds as archsim compare --seed ${$('seed').value.trim() || 1})`;
    } catch (problem) {
      const text = String(problem);
      let message = text;
      try {
        const parsed = JSON.parse(text);
        message = `${parsed.message}${parsed.help ? `\nhelp: ${parsed.help}` : ''}`;
      } catch {
        // Not a problem report from the engine: show it as it is.
      }
      box.textContent = message;
      box.hidden = false;
      $('compare-status').textContent = 'failed';
    } finally {
      $('compare-run').disabled = false;
    }
  }

  function setUp() {
    $('compare-example').addEventListener('change', (e) => {
      const example = app.examples.find((x) => x.name === e.target.value);
      compareEditor.text = example ? example.text : editor.text;
    });
    $('compare-run').addEventListener('click', compare);
    // B starts as a copy of A, to change into the variant to compare.
    const copy = document.createElement('option');
    copy.value = '';
    copy.textContent = '(a copy of A, to change)';
    $('compare-example').prepend(copy);
    $('compare-example').value = '';
    compareEditor.text = editor.text;
  }

  return { editor: compareEditor, setUp };
}
