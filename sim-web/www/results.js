// The results of a finished run as tables (the same numbers as the JSON report), and the
// table of a comparison of two designs.

function escapeHtml(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

function formatSeconds(value) {
  if (value === null || value === undefined) return '–';
  if (value < 1e-3) return `${(value * 1e6).toFixed(1)} µs`;
  if (value < 1) return `${(value * 1e3).toFixed(2)} ms`;
  return `${value.toFixed(3)} s`;
}

function formatNumber(value, digits = 1) {
  if (value === null || value === undefined) return '–';
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(digits);
}

function percent(value) {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(2)}%`;
}

function table(headers, rows, className = '') {
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('');
  return `<table class="${className}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The headline figures of a report, as [label, text] pairs. */
function headline(report) {
  const r = report.requests;
  const l = report.latency_s;
  return [
    ['requests generated', formatNumber(r.generated)],
    ['completed', formatNumber(r.completed)],
    ['failed', formatNumber(r.failed)],
    ['timed out', formatNumber(r.timed_out)],
    ['rejected', formatNumber(r.rejected)],
    ['in flight at the end', formatNumber(r.in_flight)],
    ['availability', percent(report.availability)],
    ['throughput', `${formatNumber(report.throughput_per_s)} /s`],
    ['latency mean', formatSeconds(l.mean)],
    ['latency p50', formatSeconds(l.p50)],
    ['latency p90', formatSeconds(l.p90)],
    ['latency p99', formatSeconds(l.p99)],
    ['latency p99.9', formatSeconds(l.p999)],
    ['latency max', formatSeconds(l.max)],
  ];
}

/**
 * Parses a report's JSON, keeping the seed as its decimal text: a JavaScript number is exact
 * only up to 2^53, and seeds go up to 2^64 − 1.
 */
export function parseReport(text) {
  const exact = /"seed":\s*(\d+)/.exec(text);
  const report = JSON.parse(text);
  if (exact) report.seed = exact[1];
  return report;
}

/**
 * Summary, errors by reason, per-node, per-component and per-host tables for a report;
 * `components` is `[[node, figures], …]` from the run's `component_details` (the lines of
 * the components section `archsim run` prints).
 */
export function renderReport(report, components = []) {
  let html = `<p>Seed ${report.seed}, ${report.sim_time_s} s simulated, ${formatNumber(report.events)} events${
    report.unstable ? ' — <strong>unstable: the load exceeds capacity</strong>' : ''
  }.</p>`;
  html += table(['figure', 'value'], headline(report), 'summary');
  const reasons = Object.entries(report.errors_by_reason || {});
  if (reasons.length) html += table(['error reason', 'requests'], reasons.map(([k, v]) => [k, formatNumber(v)]));
  const nodes = Object.entries(report.nodes).map(([name, n]) => [
    name,
    n.kind.replace(/_/g, ' '),
    formatNumber(n.instances),
    formatNumber(n.arrivals),
    formatNumber(n.completions),
    formatNumber(n.errors + n.drops + n.timeouts),
    n.workers === null ? '–' : percent(n.utilization),
    formatNumber(n.mean_queue_length, 2),
    formatSeconds(n.mean_sojourn_s),
  ]);
  html += table(
    ['node', 'kind', 'instances', 'arrivals', 'completions', 'errors', 'utilization', 'mean queue', 'mean time in node'],
    nodes,
    'nodes',
  );
  if (components.length) html += table(['component', 'figures'], components, 'components');
  const hosts = Object.entries(report.hosts || {}).map(([name, h]) => [
    name,
    h.machines > 1 ? `${h.machines} × ${h.cores}` : formatNumber(h.cores),
    h.nodes.join(', '),
    percent(h.utilization),
    formatNumber(h.offered_load, 3),
    formatNumber(h.mean_runnable, 2),
  ]);
  if (hosts.length) {
    html += table(['host', 'cores', 'runs', 'cores busy', 'offered', 'Work steps under way'], hosts, 'hosts');
  }
  return html;
}

/**
 * A comparison from `compare_reports` (the statistics of archsim compare): per metric, A and B
 * as mean ± 95% half-width, and the verdict on the paired difference B − A.
 */
export function renderComparison(comparison) {
  const rows = comparison.metrics.map((m) => [m.metric, m.a_text, m.b_text, m.verdict]);
  return table(['metric', 'A', 'B', 'verdict (B − A, paired)'], rows, 'comparison');
}
