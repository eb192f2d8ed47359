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

/** A rate per second as the CLI writes it: one decimal, or three significant digits below 1/s. */
function formatRate(perS) {
  if (perS >= 1 || perS <= 0 || !Number.isFinite(perS)) return perS.toFixed(1);
  const decimals = Math.min(12, Math.max(1, 2 - Math.floor(Math.log10(perS))));
  return perS.toFixed(decimals);
}

function percent(value) {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(2)}%`;
}

/** Bytes in powers of 1000, as the CLI's table writes them. */
function formatBytes(bytes) {
  const units = [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'KB']];
  for (const [scale, unit] of units) {
    if (bytes >= scale) return `${Number((bytes / scale).toFixed(3))} ${unit}`;
  }
  return `${bytes} B`;
}

/** Bits per second as the CLI's table writes them: `1 Gbit/s`. */
function formatBandwidth(bitPerS) {
  const units = [[1e12, 'Tbit/s'], [1e9, 'Gbit/s'], [1e6, 'Mbit/s'], [1e3, 'kbit/s']];
  for (const [scale, unit] of units) {
    if (bitPerS >= scale) return `${Number((bitPerS / scale).toFixed(3))} ${unit}`;
  }
  return `${bitPerS} bit/s`;
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
  html += verdicts(report);
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
  if (report.network) html += renderNetwork(report.network, report.cost.currency);
  const slos = (report.slos || []).map((s) => [
    s.slo,
    s.value === null ? '–' : s.slo.startsWith('availability') ? percent(s.value) : formatSeconds(s.value),
    s.held ? 'held' : 'missed',
    `${s.windows_held} of ${s.windows_evaluated}`,
    s.violations.map(([a, b]) => `${a}–${b} s`).join(', ') || '–',
  ]);
  if (slos.length) html += table(['SLO', 'value', 'verdict', 'windows held', 'missed in'], slos, 'slos');
  const faults = (report.faults || []).map((f) => [
    f.kind,
    f.target,
    `${f.start_s} s`,
    f.end_s === null ? 'the end' : `${f.end_s} s`,
    f.detail,
  ]);
  if (faults.length) html += table(['fault', 'target', 'from', 'until', 'what it did'], faults, 'faults');
  if (report.faults_omitted) {
    html += `<p class="faults-omitted">And ${report.faults_omitted} more faults, not listed (the first ${faults.length} are).</p>`;
  }
  if (report.cost.total > 0) {
    const unit = report.cost.currency ? ` ${report.cost.currency}` : '';
    const perMillion = report.cost.per_million_requests;
    html += `<p class="cost">Cost ${report.cost.total.toFixed(4)}${unit} over the measured period (${report.cost.per_hour.toFixed(
      4,
    )}${unit} per hour${perMillion === null ? '' : `, ${perMillion.toFixed(4)}${unit} per million completed requests`}).</p>`;
  }
  return html;
}

/** What a user acts on first: why the run is unstable, the bottleneck, the stretches a node
 * was overloaded, and the share of
 * requests within each latency threshold, in the words of archsim run's table. */
function verdicts(report) {
  let html = '';
  const list = (kind, title, lines) =>
    lines.length
      ? `<div class="verdict ${kind}"><strong>${title}:</strong><ul>${lines.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul></div>`
      : '';
  html += list('unstable', 'Unstable', report.instability);
  html += list('warning', 'Warning', report.warnings || []);
  const b = report.bottleneck;
  if (b) {
    const part = b.part === 'node' ? '' : ` ${b.part}`;
    const busy = b.utilization === null || b.utilization === undefined ? '' : ` (${(b.utilization * 100).toFixed(1)}% busy)`;
    // As the CLI's table (report/table.rs): deadlocked, what holds it; below saturation, the
    // headroom and how to raise it.
    if (b.deadlock) {
      html += `<p class="verdict bottleneck">bottleneck: "${escapeHtml(b.node)}"${escapeHtml(part)} deadlocked${busy}: ${escapeHtml(
        b.advice,
      )}</p>`;
    } else {
      const below = b.offered_load < 1;
      const headroom = below ? `, ${(1 / b.offered_load).toFixed(1 / b.offered_load >= 10 ? 0 : 2)}× headroom` : '';
      const lead = below ? 'to raise it, ' : '';
      html += `<p class="verdict bottleneck">bottleneck: "${escapeHtml(b.node)}"${escapeHtml(part)} at ${b.offered_load.toFixed(
        2,
      )}× its capacity${busy}; it saturates at ${formatRate(b.saturates_at_per_s)}/s of arrivals (now ${formatRate(
        b.saturates_at_per_s * b.offered_load,
      )}/s${headroom}): ${lead}${escapeHtml(b.advice)}</p>`;
    }
  }
  html += list('overload', 'Overloaded for part of the run', (report.overloads || []).map((o) => o.summary));
  html += list('stale', 'Stale reads', report.stale_reads || []);
  const within = Object.entries(report.latency_s.within || {});
  if (within.length) {
    const finished = report.requests.generated - report.requests.in_flight;
    const lines = within.map(([threshold, share]) => {
      const ofAll = finished > 0 ? (share * report.requests.completed) / finished : null;
      return `<li>${percent(share)} of completed requests within ${escapeHtml(threshold)}${
        ofAll === null ? '' : ` (${percent(ofAll)} of all finished requests)`
      }</li>`;
    });
    html += `<div class="verdict within"><ul>${lines.join('')}</ul></div>`;
  }
  return html;
}

/** The network section: bytes per link, the links with a bandwidth, regions, CDNs, egress. */
function renderNetwork(network, currency) {
  const rows = network.links.map((l) => [
    l.from,
    l.to,
    formatNumber(l.requests),
    formatBytes(l.request_bytes),
    formatNumber(l.responses),
    formatBytes(l.response_bytes),
  ]);
  let html = `<p>Network: ${formatBytes(network.total_bytes)} sent; the clients sent ${formatBytes(
    network.internet.ingress_bytes,
  )} and got ${formatBytes(network.internet.egress_bytes)}.</p>`;
  html += table(['from', 'to', 'requests', 'request bytes', 'answers', 'answer bytes'], rows, 'network');
  const pipes = (network.bandwidth || []).map((p) => [
    p.name,
    formatBandwidth(p.bandwidth_bit_s),
    percent(p.utilization),
    formatNumber(p.offered_load, 3),
    `${p.mean_wait_ms.toFixed(3)} ms`,
    `${p.max_wait_ms.toFixed(3)} ms`,
  ]);
  if (pipes.length) {
    html += table(['bandwidth', 'capacity', 'busy', 'offered', 'mean wait', 'max wait'], pipes, 'bandwidth');
  }
  const more = (network.region_pairs || []).map((r) => [`region ${r.from} → ${r.to}`, formatBytes(r.bytes)]);
  if (network.inter_zone_bytes) more.push(['between zones', formatBytes(network.inter_zone_bytes)]);
  for (const [name, cdn] of Object.entries(network.cdn || {})) {
    const share = cdn.edge_share === null ? '' : ` (${percent(cdn.edge_share)} from the edge)`;
    more.push([`cdn ${name}`, `served ${formatBytes(cdn.served_bytes)}, ${formatBytes(cdn.origin_bytes)} from the origin${share}`]);
  }
  if (network.egress_cost) {
    const c = network.egress_cost;
    const unit = currency ? ` ${currency}` : '';
    more.push([
      'egress cost',
      `${c.total.toFixed(4)}${unit}: internet ${c.internet.toFixed(4)}, between regions ${c.inter_region.toFixed(4)}, between zones ${c.inter_zone.toFixed(4)}`,
    ]);
  }
  if (more.length) html += table(['traffic', 'figures'], more, 'traffic');
  return html;
}

/**
 * A comparison from `compare_reports` (the statistics of archsim compare): per metric, A and B
 * as mean ± 95% half-width, and the verdict on the paired difference B − A.
 */
export function renderComparison(comparison) {
  const rows = comparison.metrics.map((m) => [m.metric, m.a_text, m.b_text, m.verdict]);
  rows.push(...comparison.verdict_rows);
  let html = table(['metric', 'A', 'B', 'verdict (B − A, paired)'], rows, 'comparison');
  for (const [label, side] of [['A', comparison.verdicts.a], ['B', comparison.verdicts.b]]) {
    if (side.instability) {
      html += `<div class="verdict unstable"><strong>${label} unstable:</strong> ${escapeHtml(side.instability)}</div>`;
    }
  }
  return html;
}
