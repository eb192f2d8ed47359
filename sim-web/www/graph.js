// The architecture drawing: the layered layout computed by sim-web, drawn as SVG boxes and
// arrows, with each node's live utilization, queue length and faults written on it; regions
// and zones enclose their boxes; replicas, edges and partitions are drawn on their node.
// Boxes move by dragging (their places are kept), the handle on a box's right edge dragged
// onto another connects them, and the view pans (drag the background) and zooms.

const SVG = 'http://www.w3.org/2000/svg';
const BOX_W = 150;
const BOX_H = 74;
const COLUMN = 210;
const ROW = 108;
const MARGIN = 28;
/** How much one step of zoom magnifies. */
export const ZOOM_STEP = 1.25;
const MIN_SCALE = 0.7;

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

/** A colour per region, in the order regions first appear in the drawing. */
const REGION_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#e15759', '#9c755f'];

/** Green below 60 %, amber to 85 %, red above: how close a node is to saturation. */
export function utilizationColour(utilization) {
  if (utilization === null || utilization === undefined) return '#eef1f5';
  if (utilization < 0.6) return '#d9f2dc';
  if (utilization < 0.85) return '#fcefc7';
  return '#f9d0cc';
}

/** Whether boxes at `a` and `b` (top-left corners) overlap, with a small gap kept. */
function overlaps(a, b) {
  return Math.abs(a.x - b.x) < BOX_W + 8 && Math.abs(a.y - b.y) < BOX_H + 8;
}

/** The smallest rectangle around the boxes at `points`, grown by `pad` (and `top` above). */
function around(points, pad, top) {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x = Math.min(...xs) - pad;
  const y = Math.min(...ys) - top;
  return { x, y, width: Math.max(...xs) + BOX_W + pad - x, height: Math.max(...ys) + BOX_H + pad - y };
}

export class Graph {
  /**
   * `onNodeClick(name, event, isWorkload)` for a click (or Enter) on a box; `onConnect(from,
   * to)` when a box's handle is dragged onto another while `editable` is set; `onMove(places)`
   * when the user has moved a box (the places of the moved boxes, by name).
   */
  constructor(svg, onNodeClick, onConnect = () => {}, onMove = () => {}) {
    this.svg = svg;
    this.onNodeClick = onNodeClick;
    this.onConnect = onConnect;
    this.onMove = onMove;
    this.editable = true;
    this.boxes = new Map();
    /** Where the user put boxes, by name; the rest follow the computed layout. */
    this.places = new Map();
    /** Where each box was drawn last, by name. */
    this.drawn = new Map();
    /** The part of the drawing in view (the SVG's viewBox), or null to fit it all. */
    this.view = null;
    this.layout = null;
    this.lastUpdate = null;
    this.drag = null;
    svg.setAttribute('tabindex', '0');
    svg.setAttribute('aria-label', 'Architecture drawing: + and − zoom, 0 fits, arrow keys pan');
    svg.addEventListener('pointerdown', (event) => this.panStart(event));
    svg.addEventListener('pointermove', (event) => this.dragMove(event));
    svg.addEventListener('pointerup', (event) => this.dragEnd(event));
    svg.addEventListener('lostpointercapture', () => this.dragCancel());
    svg.addEventListener('wheel', (event) => this.wheel(event), { passive: false });
    svg.addEventListener('keydown', (event) => this.viewKey(event));
  }

  /** The pointer's position in the drawing's coordinates. */
  point(event) {
    const matrix = this.svg.getScreenCTM();
    if (!matrix) return { x: 0, y: 0 };
    const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return { x: p.x, y: p.y };
  }

  // --- Moving boxes, connecting them, panning --------------------------------------------

  /** A press on a box: moves it, or from its handle (`connect`) draws a connection. */
  boxPress(name, event, connect) {
    if (event.button !== 0) return;
    event.stopPropagation();
    const at = this.drawn.get(name);
    if (connect && !this.editable) return;
    this.drag = {
      // A fitted view is fitted again once the box is dropped.
      refit: this.view === null,
      mode: connect ? 'connect' : 'move',
      from: name,
      origin: { x: at.x + BOX_W, y: at.y + BOX_H / 2 },
      grab: this.point(event),
      at: { ...at },
      start: { x: event.clientX, y: event.clientY },
      line: null,
      moved: false,
    };
  }

  /** A press on the background: pans the view. */
  panStart(event) {
    if (event.button !== 0 || this.drag || !this.current) return;
    this.drag = { mode: 'pan', start: { x: event.clientX, y: event.clientY }, view: { ...this.current }, moved: false };
  }

  dragMove(event) {
    const drag = this.drag;
    if (!drag) return;
    if (!drag.moved) {
      if (Math.hypot(event.clientX - drag.start.x, event.clientY - drag.start.y) < 5) return;
      drag.moved = true;
      // From here on the drawing follows the pointer even outside it (a press without a
      // move stays a click on the box). The view holds still while a box moves.
      this.svg.setPointerCapture(event.pointerId);
      if (drag.mode === 'move') this.view = { ...this.current };
    }
    if (drag.mode === 'pan') {
      // Screen pixels to drawing units, as drawn when the pan began.
      drag.scale ??= 1 / (this.svg.getScreenCTM()?.a || 1);
      const scale = drag.scale;
      this.setView({
        ...drag.view,
        x: drag.view.x - (event.clientX - drag.start.x) * scale,
        y: drag.view.y - (event.clientY - drag.start.y) * scale,
      });
      return;
    }
    const to = this.point(event);
    if (drag.mode === 'move') {
      this.places.set(drag.from, { x: Math.round(drag.at.x + to.x - drag.grab.x), y: Math.round(drag.at.y + to.y - drag.grab.y) });
      this.render();
      return;
    }
    if (!drag.line) {
      drag.line = element('line', { class: 'connecting', x1: drag.origin.x, y1: drag.origin.y }, this.svg);
    }
    drag.line.setAttribute('x2', to.x);
    drag.line.setAttribute('y2', to.y);
  }

  dragEnd(event) {
    const drag = this.drag;
    if (!drag) return;
    this.drag = null;
    if (drag.line) drag.line.remove();
    if (this.svg.hasPointerCapture(event.pointerId)) this.svg.releasePointerCapture(event.pointerId);
    if (!drag.moved) return;
    // The click that follows a drag is not a click on the box.
    this.justDragged = true;
    setTimeout(() => (this.justDragged = false), 0);
    if (drag.mode === 'move') {
      if (drag.refit) {
        this.view = null;
        this.render();
      }
      this.onMove(this.placesObject());
    } else if (drag.mode === 'connect') {
      const target = document.elementFromPoint(event.clientX, event.clientY)?.closest('#graph g.vertex');
      const to = target?.dataset.name;
      if (to && to !== drag.from) this.onConnect(drag.from, to);
    }
  }

  dragCancel() {
    if (this.drag?.line) this.drag.line.remove();
    this.drag = null;
  }

  /** Arrow keys on a box move it (by 10, with Shift by 50). */
  moveByKey(name, event) {
    const step = event.shiftKey ? 50 : 10;
    const delta = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] }[event.key];
    if (!delta) return false;
    const at = this.drawn.get(name);
    this.places.set(name, { x: at.x + delta[0], y: at.y + delta[1] });
    this.render();
    this.svg.querySelector(`g.vertex[data-name="${CSS.escape(name)}"]`)?.focus();
    this.onMove(this.placesObject());
    return true;
  }

  /** The user's places, as a plain object for storage. */
  placesObject() {
    return Object.fromEntries(this.places);
  }

  /** Takes places kept from an earlier visit (names not in the drawing are ignored). */
  setPlaces(places) {
    this.places = new Map(Object.entries(places ?? {}).filter(([, p]) => Number.isFinite(p?.x) && Number.isFinite(p?.y)));
  }

  /** Forgets the user's places and fits the view: the computed layout again. */
  tidy() {
    this.places.clear();
    this.view = null;
    this.render();
    this.onMove({});
  }

  // --- The view: zoom and pan ------------------------------------------------------------

  setView(view) {
    this.view = view;
    this.current = view;
    this.svg.dataset.view = [view.x, view.y, view.width, view.height].map((v) => Math.round(v)).join(' ');
    this.svg.setAttribute('viewBox', `${view.x} ${view.y} ${view.width} ${view.height}`);
    this.svg.dataset.zoom = (this.fitted.width / view.width).toFixed(3);
  }

  /** Zooms by `factor` (above 1: closer) around the drawing's point `at` (default: centre). */
  zoom(factor, at) {
    const view = this.current;
    if (!view) return;
    const zoom = this.fitted.width / view.width;
    const clamped = Math.min(4, Math.max(0.25, zoom * factor)) / zoom;
    const centre = at ?? { x: view.x + view.width / 2, y: view.y + view.height / 2 };
    const width = view.width / clamped;
    const height = view.height / clamped;
    this.setView({
      x: centre.x - ((centre.x - view.x) * width) / view.width,
      y: centre.y - ((centre.y - view.y) * height) / view.height,
      width,
      height,
    });
  }

  /** Fits the whole drawing in view, however small that makes it. */
  fit() {
    if (this.fitted) this.setView({ ...this.fitted });
  }

  wheel(event) {
    // Ctrl (or a trackpad's pinch) with the wheel zooms; the wheel alone scrolls the page.
    if (!event.ctrlKey && !event.metaKey) return;
    event.preventDefault();
    this.zoom(event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, this.point(event));
  }

  viewKey(event) {
    if (event.target !== this.svg) return;
    const view = this.current;
    const pan = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] }[event.key];
    if (event.key === '+' || event.key === '=') this.zoom(ZOOM_STEP);
    else if (event.key === '-') this.zoom(1 / ZOOM_STEP);
    else if (event.key === '0') this.fit();
    else if (pan && view) this.setView({ ...view, x: view.x + pan[0] * view.width * 0.1, y: view.y + pan[1] * view.height * 0.1 });
    else return;
    event.preventDefault();
  }

  // --- Drawing ---------------------------------------------------------------------------

  /** Draws a layout `{vertices, arrows, layers}` (keeping the user's places and view). */
  draw(layout) {
    this.layout = layout;
    this.render();
  }

  /** Where each vertex goes: the user's place, else its computed one, moved down off others. */
  placeVertices(layout) {
    const placed = new Map();
    const taken = [];
    for (const v of layout.vertices) {
      const kept = this.places.get(v.name);
      if (kept) {
        placed.set(v.name, kept);
        taken.push(kept);
      }
    }
    for (const v of layout.vertices) {
      if (placed.has(v.name)) continue;
      const at = { x: MARGIN + v.layer * COLUMN, y: MARGIN + v.row * ROW };
      while (taken.some((other) => overlaps(at, other))) at.y += ROW;
      placed.set(v.name, at);
      taken.push(at);
    }
    return placed;
  }

  render() {
    const layout = this.layout;
    const svg = this.svg;
    svg.replaceChildren();
    this.boxes.clear();
    this.arrows = [];
    if (!layout) return;
    const placed = this.placeVertices(layout);
    this.drawn = placed;
    const all = [...placed.values()];
    const bounds = all.length ? around(all, MARGIN, MARGIN) : { x: 0, y: 0, width: 300, height: 120 };
    bounds.height += 16; // captions under the lowest boxes
    this.fitted = bounds;
    // The whole drawing, shrunk to the panel's width but never grown past its natural size;
    // unless that would draw it below 70% (12 px names at least 8.4 px): then the panel
    // shows its top-left part at 70%, to pan across or zoom out of.
    svg.setAttribute('width', '100%');
    const panel = svg.parentElement?.clientWidth || bounds.width;
    let start = bounds;
    if (panel / bounds.width >= MIN_SCALE) {
      svg.style.maxWidth = `${Math.max(bounds.width, 360)}px`;
      svg.style.height = '';
    } else {
      const height = Math.min(bounds.height * MIN_SCALE, 440);
      svg.style.maxWidth = '';
      svg.style.height = `${Math.round(height)}px`;
      start = { x: bounds.x, y: bounds.y, width: panel / MIN_SCALE, height: height / MIN_SCALE };
    }
    if (this.view) {
      // The user's zoom and pan stay as they are.
      this.setView(this.view);
    } else {
      this.setView(start);
      this.view = null;
    }
    const defs = element('defs', {}, svg);
    const marker = element(
      'marker',
      { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto' },
      defs,
    );
    element('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#7a8699' }, marker);
    this.drawGroups(layout, placed);
    const edges = element('g', { class: 'edges' }, svg);
    for (const arrow of layout.arrows) {
      const from = placed.get(layout.vertices[arrow.from].name);
      const to = placed.get(layout.vertices[arrow.to].name);
      let d;
      if (to.x >= from.x + BOX_W + 12) {
        const x1 = from.x + BOX_W;
        const y1 = from.y + BOX_H / 2;
        const y2 = to.y + BOX_H / 2;
        const bend = (to.x - x1) / 2;
        d = `M${x1},${y1} C${x1 + bend},${y1} ${to.x - bend},${y2} ${to.x},${y2}`;
      } else {
        // Back or same-column edge: loop under the boxes.
        const x1 = from.x + BOX_W / 2;
        const y1 = from.y + BOX_H;
        const x2 = to.x + BOX_W / 2 + 12;
        const y2 = to.y + BOX_H;
        const low = Math.max(y1, y2) + 26;
        d = `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2}`;
      }
      const path = element('path', { d, class: `edge edge-${arrow.kind}`, 'marker-end': 'url(#arrow)' }, edges);
      this.arrows.push({ path, to: layout.vertices[arrow.to].node });
    }
    for (const vertex of layout.vertices) this.drawVertex(vertex, placed.get(vertex.name));
    if (this.lastUpdate) this.update(...this.lastUpdate);
  }

  /** Each region as a tinted shape around its boxes, each zone as a dashed one inside it. */
  drawGroups(layout, placed) {
    const layer = element('g', { class: 'groups' }, this.svg);
    this.regionColour = new Map();
    const regions = [];
    for (const v of layout.vertices) if (v.region && !regions.includes(v.region)) regions.push(v.region);
    for (const [index, region] of regions.entries()) {
      const colour = REGION_COLOURS[index % REGION_COLOURS.length];
      this.regionColour.set(region, colour);
      const members = layout.vertices.filter((v) => v.region === region);
      const box = around(members.map((v) => placed.get(v.name)), 14, 24);
      const group = element('g', { class: 'region-group', 'data-region': region }, layer);
      element('rect', { ...box, rx: 10, fill: colour, 'fill-opacity': 0.07, stroke: colour, 'stroke-opacity': 0.55 }, group);
      const label = element('text', { x: box.x + 8, y: box.y + 14, class: 'group-label', style: `fill: ${colour}` }, group);
      label.textContent = `region ${region}`;
      const zones = [];
      for (const v of members) if (v.zone && !zones.includes(v.zone)) zones.push(v.zone);
      for (const zone of zones) {
        const inZone = members.filter((v) => v.zone === zone).map((v) => placed.get(v.name));
        const zoneBox = around(inZone, 7, 18);
        const zoneGroup = element('g', { class: 'zone-group', 'data-zone': zone, 'data-region': region }, layer);
        element('rect', { ...zoneBox, rx: 7, fill: 'none', stroke: colour, 'stroke-dasharray': '4 3', 'stroke-opacity': 0.7 }, zoneGroup);
        const zoneLabel = element('text', { x: zoneBox.x + zoneBox.width - 6, y: zoneBox.y + 12, class: 'group-label zone', style: `fill: ${colour}`, 'text-anchor': 'end' }, zoneGroup);
        zoneLabel.textContent = `zone ${zone}`;
      }
    }
  }

  drawVertex(vertex, { x, y }) {
    const group = element('g', { class: `vertex kind-${vertex.kind}`, transform: `translate(${x},${y})` }, this.svg);
    const isWorkload = vertex.node === null;
    const parts = vertex.parts;
    // Replicas and edges: a stack of cards behind the box, one per further part (up to 3).
    if (parts && parts.kind !== 'partitions') {
      for (let i = Math.min(parts.count - 1, 3); i >= 1; i -= 1) {
        element('path', { class: 'card', d: `M${4 * i},${-4 * i} h${BOX_W} v${BOX_H} h-${BOX_W} z` }, group);
      }
    }
    const title = element('title', {}, group);
    const description =
      (vertex.summary ? `${vertex.name}: ${vertex.summary}` : `${vertex.name} (${vertex.kind.replace(/_/g, ' ')})`) +
      (parts ? `\n${parts.caption}` : '');
    title.textContent = description;
    const rect = element('rect', { width: BOX_W, height: BOX_H, rx: vertex.kind === 'workload' ? 28 : 6 }, group);
    // The queue's fill, along the box's foot (log scale: 1, 10, 100, 1000 waiting).
    const queue = element('rect', { class: 'queue-fill', x: 0, y: BOX_H - 4, width: 0, height: 4 }, group);
    // Its region: a stripe of the region's colour on the left and its name (and zone).
    if (vertex.region) {
      const colour = this.regionColour.get(vertex.region);
      element('rect', { class: 'region-stripe', x: 0, y: 0, width: 5, height: BOX_H, fill: colour }, group);
      const regionTag = element('text', { x: 10, y: 45, class: 'region' }, group);
      regionTag.textContent = vertex.zone ? `${vertex.region} · ${vertex.zone}` : vertex.region;
    }
    // A log's partitions: a strip of cells along the foot (up to 16).
    if (parts?.kind === 'partitions') {
      const cells = Math.min(parts.count, 16);
      const width = (BOX_W - 20) / cells;
      for (let i = 0; i < cells; i += 1) {
        element('rect', { class: 'partition', x: 10 + i * width, y: BOX_H - 14, width: Math.max(1, width - 1.5), height: 7 }, group);
      }
    }
    // Its instances as dots (up to 12), filled while they serve; a database's primary first,
    // drawn larger.
    const dots = [];
    if (!isWorkload && vertex.instances > 1) {
      for (let i = 0; i < Math.min(vertex.instances, 12); i += 1) {
        const primary = parts?.kind === 'replicas' && i === 0;
        dots.push(element('circle', { class: `instance up${primary ? ' primary' : ''}`, cx: 13 + i * 7 + (i > 0 && parts?.kind === 'replicas' ? 2 : 0), cy: BOX_H - 9, r: primary ? 3.4 : 2.4 }, group));
      }
    }
    if (parts) {
      const caption = element('text', { x: 0, y: BOX_H + 13, class: 'parts' }, group);
      caption.textContent = parts.caption;
    }
    const name = element('text', { x: 10, y: 17, class: 'name' }, group);
    name.textContent = vertex.name;
    const kind = element('text', { x: 10, y: 31, class: 'kind' }, group);
    kind.textContent = vertex.kind.replace(/_/g, ' ') + (vertex.host ? ` on ${vertex.host}` : '');
    const live = element('text', { x: 10, y: 60, class: 'live' }, group);
    // The handle to drag onto another box to connect them.
    const handle = element('circle', { class: 'port', cx: BOX_W, cy: BOX_H / 2, r: 6 }, group);
    element('title', {}, handle).textContent = `drag onto another box to connect ${vertex.name} to it`;
    handle.addEventListener('pointerdown', (event) => this.boxPress(vertex.name, event, true));
    group.dataset.name = vertex.name;
    if (isWorkload) group.dataset.workload = vertex.name;
    else group.dataset.node = vertex.name;
    // Every box is reachable by keyboard: Tab to it, Enter or Space to open it, arrows to move it.
    group.setAttribute('tabindex', '0');
    group.setAttribute('role', 'button');
    group.setAttribute('aria-label', `${vertex.name}, ${vertex.kind.replace(/_/g, ' ')}${parts ? `, ${parts.caption}` : ''}`);
    group.addEventListener('click', (event) => {
      if (!this.justDragged) this.onNodeClick(vertex.name, event, isWorkload);
    });
    group.addEventListener('keydown', (event) => {
      if (this.moveByKey(vertex.name, event)) {
        event.preventDefault();
        event.stopPropagation();
        return;
      }
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      const box = group.getBoundingClientRect();
      const at = { clientX: box.left + box.width / 2, clientY: box.top + box.height / 2, stopPropagation() {} };
      this.onNodeClick(vertex.name, at, isWorkload);
    });
    group.addEventListener('pointerdown', (event) => this.boxPress(vertex.name, event, false));
    if (!isWorkload) this.boxes.set(vertex.node, { group, rect, live, queue, title, description, dots, name: vertex.name });
  }

  /**
   * Writes one window's node views (in node order) and the faults in force on the boxes:
   * colour by utilization, the queue's fill, the figures in the tooltip, and each arrow as
   * thick as the traffic into its node (flowing while `animate` is set).
   */
  update(nodes, faultsByNode, animate = false) {
    this.lastUpdate = [nodes, faultsByNode, animate];
    const throughputs = nodes ? nodes.map((view) => view?.throughput_per_s ?? 0) : [];
    const busiest = Math.max(0, ...throughputs);
    for (const { path, to } of this.arrows ?? []) {
      const share = busiest > 0 && to !== null ? (throughputs[to] ?? 0) / busiest : null;
      path.style.strokeWidth = share === null ? '' : `${(1.2 + 3.6 * Math.sqrt(share)).toFixed(2)}px`;
      path.classList.toggle('flowing', animate && share !== null && share > 0);
    }
    for (const [index, box] of this.boxes) {
      const view = nodes ? nodes[index] : null;
      const faults = faultsByNode.get(box.name) || [];
      box.queue.setAttribute('width', view ? (BOX_W * Math.min(1, Math.log10(1 + view.queue_length) / 3)).toFixed(1) : 0);
      // Instances not serving (crashed, out of rotation) are hollow.
      box.dots.forEach((dot, i) => dot.classList.toggle('up', !view || i < view.instances));
      box.title.textContent = view
        ? `${box.description}\nnow: ${view.utilization === null ? '' : `${Math.round(view.utilization * 100)}% busy, `}` +
          `${view.queue_length.toFixed(1)} waiting, ${view.throughput_per_s.toFixed(1)} answers/s, ` +
          `${view.errors} errors, ${view.instances} instance${view.instances === 1 ? '' : 's'} serving` +
          (faults.length ? `; ${faults.join(', ')}` : '')
        : box.description;
      if (!view) {
        box.live.textContent = faults.length ? faults.join(', ') : '';
        // An inline style: the stylesheet's fill for boxes would win over an attribute.
        box.rect.style.fill = utilizationColour(null);
      } else {
        const parts = [];
        if (view.utilization !== null) parts.push(`${Math.round(view.utilization * 100)}% busy`);
        parts.push(`q ${view.queue_length < 10 ? view.queue_length.toFixed(1) : Math.round(view.queue_length)}`);
        if (faults.length) parts.push(faults.join(', ').toUpperCase());
        box.live.textContent = parts.join(' · ');
        box.rect.style.fill = utilizationColour(view.utilization);
      }
      box.group.classList.toggle('faulty', faults.length > 0);
    }
  }
}
