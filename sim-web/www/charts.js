// Line charts on canvas for the live time series: simulated seconds across, one line per
// series, a legend, the fault windows (and a design's outages) shaded with their labels, and
// a read-out of every series' value where the pointer is.

/** A colour of the page's theme (a CSS variable), read when drawing. */
function themeColour(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

const PALETTE = ['#4e79a7', '#e15759', '#59a14f', '#f28e2b', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

function niceStep(range, ticks) {
  const raw = range / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].find((m) => m * power >= raw) * power;
  return unit;
}

function formatValue(value, unit) {
  if (unit === 's') {
    if (value === 0) return '0';
    if (value < 1e-3) return `${(value * 1e6).toFixed(0)} µs`;
    if (value < 1) return `${+(value * 1e3).toPrecision(3)} ms`;
    return `${+value.toPrecision(3)} s`;
  }
  if (unit === '%') return `${Math.round(value * 100)}%`;
  if (Math.abs(value) >= 1e4) return `${+(value / 1e3).toPrecision(3)}k`;
  return `${+value.toPrecision(3)}`;
}

/**
 * The points to draw for a series of [t, value] points (value null for a gap): per pixel
 * column (by `x(t)`), its lowest and highest point in time order; a gap is kept as a
 * [t, null] point. At most four points per column, whatever the series' length.
 */
export function minMaxColumns(points, x) {
  const out = [];
  let column = null;
  let low = null;
  let high = null;
  const flush = () => {
    if (low === null) return;
    if (low === high) out.push(low);
    else out.push(...(low[0] <= high[0] ? [low, high] : [high, low]));
    low = high = null;
  };
  for (const point of points) {
    if (point[1] === null) {
      flush();
      out.push(point);
      column = null;
      continue;
    }
    const c = Math.floor(x(point[0]));
    if (c !== column) {
      flush();
      column = c;
    }
    if (low === null || point[1] < low[1]) low = point;
    if (high === null || point[1] > high[1]) high = point;
  }
  flush();
  return out;
}

export class LineChart {
  /** `unit`: 's' for durations, '%' for shares, '' for plain numbers (with `label`). */
  constructor(canvas, { unit = '', label = '' } = {}) {
    this.canvas = canvas;
    this.unit = unit;
    this.label = label;
    this.series = new Map();
    this.styles = new Map();
    this.faults = [];
    this.end = 0;
    this.hoverX = null;
    canvas.addEventListener('pointermove', (event) => {
      this.hoverX = event.offsetX;
      this.draw();
    });
    canvas.addEventListener('pointerleave', () => {
      this.hoverX = null;
      this.draw();
    });
  }

  /** Each series' point nearest to time `t` (seconds): `[[name, t, value]]`, gaps skipped. */
  valuesAt(t) {
    const out = [];
    for (const [name, points] of this.series) {
      let lo = 0;
      let hi = points.length - 1;
      if (hi < 0) continue;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (points[mid][0] < t) lo = mid + 1;
        else hi = mid;
      }
      const candidates = [points[lo], points[lo - 1]].filter((p) => p && p[1] !== null);
      if (!candidates.length) continue;
      const nearest = candidates.reduce((a, b) => (Math.abs(a[0] - t) <= Math.abs(b[0] - t) ? a : b));
      out.push([name, nearest[0], nearest[1]]);
    }
    return out;
  }

  clear() {
    this.series.clear();
    this.faults = [];
    this.end = 0;
    this.draw();
  }

  /** Stretches the time axis to `t` seconds. */
  extend(t) {
    this.end = Math.max(this.end, t);
  }

  /**
   * Draws the named series with `dash` (a canvas line dash, e.g. [6, 4]) and line `width`,
   * so that a line lying on another still shows.
   */
  style(name, { dash = [], width = 1.6 } = {}) {
    this.styles.set(name, { dash, width });
  }

  /** Adds the point (t, value) to the named series (null values leave a gap). */
  add(name, t, value) {
    if (!this.series.has(name)) this.series.set(name, []);
    this.series.get(name).push([t, value]);
    this.end = Math.max(this.end, t);
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 400;
    const height = canvas.clientHeight || 180;
    if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
      canvas.width = width * ratio;
      canvas.height = height * ratio;
    }
    const g = canvas.getContext('2d');
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = '11px system-ui, sans-serif';
    const left = 58;
    const right = 18;
    const top = 8;
    const legendRows = Math.ceil(this.series.size / 4);
    const bottom = 22 + 14 * legendRows;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    let maxValue = 0;
    for (const points of this.series.values()) for (const [, v] of points) if (v !== null) maxValue = Math.max(maxValue, v);
    if (this.unit === '%') maxValue = Math.max(maxValue, 1);
    maxValue = maxValue > 0 ? maxValue * 1.08 : 1;
    const endT = Math.max(this.end, 1);
    const x = (t) => left + (t / endT) * plotW;
    const y = (v) => top + plotH - (v / maxValue) * plotH;
    // Fault windows first, under the lines: faults in red, load steps in blue. A label that
    // would run into the previous one moves down a row.
    const labelEnds = [];
    for (const fault of this.faults) {
      const x0 = x(fault.start_s);
      const x1 = x(fault.end_s ?? endT);
      const load = fault.label === 'load';
      const outage = fault.label === 'outage';
      g.fillStyle = load ? 'rgba(78, 121, 167, 0.10)' : outage ? 'rgba(120, 90, 160, 0.16)' : 'rgba(225, 87, 89, 0.13)';
      g.fillRect(x0, top, Math.max(1, x1 - x0), plotH);
      g.fillStyle = load ? '#2f5d8a' : outage ? '#6a4c93' : '#b03a3c';
      const label = load
        ? `load ${fault.detail.replace('arrival rates ', '')}`
        : outage
          ? `${fault.target}: no answers`
          : `${fault.label} ${fault.target}`;
      let row = 0;
      while (labelEnds[row] !== undefined && labelEnds[row] > x0) row += 1;
      labelEnds[row] = x0 + 3 + g.measureText(label).width + 6;
      g.fillText(label, x0 + 3, top + 11 + row * 12);
    }
    g.strokeStyle = themeColour('--grid', '#c9ced6');
    g.fillStyle = themeColour('--axis', '#4a5261');
    g.lineWidth = 1;
    const yStep = niceStep(maxValue, 4);
    for (let v = 0; v <= maxValue; v += yStep) {
      g.beginPath();
      g.moveTo(left, y(v));
      g.lineTo(left + plotW, y(v));
      g.globalAlpha = v === 0 ? 1 : 0.35;
      g.stroke();
      g.globalAlpha = 1;
      g.textAlign = 'right';
      g.fillText(formatValue(v, this.unit), left - 5, y(v) + 4);
    }
    const xStep = niceStep(endT, 6);
    g.textAlign = 'center';
    for (let t = 0; t <= endT + 1e-9; t += xStep) g.fillText(`${+t.toPrecision(4)} s`, x(t), top + plotH + 14);
    if (this.label) {
      g.save();
      g.translate(11, top + plotH / 2);
      g.rotate(-Math.PI / 2);
      g.fillText(this.label, 0, 0);
      g.restore();
    }
    let index = 0;
    g.textAlign = 'left';
    for (const [name, points] of this.series) {
      const colour = PALETTE[index % PALETTE.length];
      const style = this.styles.get(name) ?? { dash: [], width: 1.6 };
      g.strokeStyle = colour;
      g.lineWidth = style.width;
      g.setLineDash(style.dash);
      g.beginPath();
      let pen = false;
      // More points than pixels: the lowest and highest of each pixel column, so that a
      // spike between two kept points still shows.
      for (const [t, v] of minMaxColumns(points, x)) {
        if (v === null) {
          pen = false;
          continue;
        }
        if (pen) g.lineTo(x(t), y(v));
        else g.moveTo(x(t), y(v));
        pen = true;
      }
      g.stroke();
      g.setLineDash([]);
      const lx = left + (index % 4) * (plotW / 4);
      const ly = top + plotH + 30 + 14 * Math.floor(index / 4);
      g.fillStyle = colour;
      g.fillRect(lx, ly - 8, style.dash.length ? 4 : 10, 3);
      if (style.dash.length) g.fillRect(lx + 6, ly - 8, 4, 3);
      g.fillStyle = themeColour('--ink', '#2b3140');
      g.fillText(name, lx + 14, ly - 3);
      index += 1;
    }
    this.drawReadout(g, { left, top, plotW, plotH, endT });
    // What is drawn, for tests and assistive tools: each series' name, dash and point count,
    // and the shaded windows.
    this.canvas.dataset.series = JSON.stringify(
      [...this.series].map(([name, points]) => ({ name, dashed: (this.styles.get(name)?.dash ?? []).length > 0, points: points.length })),
    );
    this.canvas.dataset.marks = JSON.stringify(
      this.faults.map((f) => ({ label: f.label, target: f.target, start_s: f.start_s, end_s: f.end_s ?? null })),
    );
  }

  /** Under the pointer: a vertical line and each series' value at that time. */
  drawReadout(g, { left, top, plotW, plotH, endT }) {
    this.canvas.dataset.readout = '';
    if (this.hoverX === null || this.hoverX < left || this.hoverX > left + plotW || this.series.size === 0) return;
    const t = ((this.hoverX - left) / plotW) * endT;
    const values = this.valuesAt(t);
    if (!values.length) return;
    const lines = [`${+values[0][1].toPrecision(4)} s`, ...values.map(([name, , v]) => `${name}: ${formatValue(v, this.unit)}`)];
    this.canvas.dataset.readout = lines.join('\n');
    g.strokeStyle = themeColour('--axis', '#4a5261');
    g.globalAlpha = 0.6;
    g.beginPath();
    g.moveTo(this.hoverX, top);
    g.lineTo(this.hoverX, top + plotH);
    g.stroke();
    g.globalAlpha = 1;
    const width = Math.max(...lines.map((line) => g.measureText(line).width)) + 12;
    const height = 14 * lines.length + 6;
    const x = this.hoverX + 8 + width > left + plotW ? this.hoverX - 8 - width : this.hoverX + 8;
    g.fillStyle = themeColour('--bg', '#fff');
    g.globalAlpha = 0.92;
    g.fillRect(x, top + 4, width, height);
    g.globalAlpha = 1;
    g.strokeRect(x, top + 4, width, height);
    g.textAlign = 'left';
    g.fillStyle = themeColour('--ink', '#2b3140');
    lines.forEach((line, i) => g.fillText(line, x + 6, top + 18 + 14 * i));
  }
}
