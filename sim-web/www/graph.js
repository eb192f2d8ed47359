// The architecture drawing: the layered layout computed by sim-web, drawn as SVG boxes and
// arrows, with each node's live utilization, queue length and faults written on it. While
// editing, a box dragged onto another connects them (the design canvas).

const SVG = 'http://www.w3.org/2000/svg';
const BOX_W = 150;
const BOX_H = 74;
const COLUMN = 210;
const ROW = 98;
const MARGIN = 20;

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

export class Graph {
  /**
   * `onNodeClick(name, event, isWorkload)` for a click (or Enter) on a box; `onConnect(from,
   * to)` when a box is dragged onto another while `editable` is set.
   */
  constructor(svg, onNodeClick, onConnect = () => {}) {
    this.svg = svg;
    this.onNodeClick = onNodeClick;
    this.onConnect = onConnect;
    this.editable = true;
    this.boxes = new Map();
    this.drag = null;
    svg.addEventListener('pointermove', (event) => this.dragMove(event));
    svg.addEventListener('pointerup', (event) => this.dragEnd(event));
    svg.addEventListener('pointerleave', () => this.dragCancel());
  }

  /** The pointer's position in the drawing's coordinates. */
  point(event) {
    const matrix = this.svg.getScreenCTM();
    if (!matrix) return { x: 0, y: 0 };
    const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return { x: p.x, y: p.y };
  }

  dragStart(name, origin, event) {
    if (!this.editable || event.button !== 0) return;
    this.drag = { from: name, origin, start: { x: event.clientX, y: event.clientY }, line: null, moved: false };
  }

  dragMove(event) {
    const drag = this.drag;
    if (!drag) return;
    if (!drag.moved && Math.hypot(event.clientX - drag.start.x, event.clientY - drag.start.y) < 6) return;
    drag.moved = true;
    const to = this.point(event);
    if (!drag.line) {
      drag.line = element('line', { class: 'connecting', x1: drag.origin.x, y1: drag.origin.y }, this.svg);
    }
    drag.line.setAttribute('x2', to.x);
    drag.line.setAttribute('y2', to.y);
  }

  dragEnd(event) {
    const drag = this.drag;
    if (!drag) return;
    this.dragCancel();
    if (!drag.moved) return;
    // The click that follows a drag is not a click on the box.
    this.justDragged = true;
    setTimeout(() => (this.justDragged = false), 0);
    const target = document.elementFromPoint(event.clientX, event.clientY)?.closest('#graph g.vertex');
    const to = target?.dataset.name;
    if (to && to !== drag.from) this.onConnect(drag.from, to);
  }

  dragCancel() {
    if (this.drag?.line) this.drag.line.remove();
    this.drag = null;
  }

  /** Draws a layout `{vertices, arrows, layers}` from scratch. */
  draw(layout) {
    const svg = this.svg;
    svg.replaceChildren();
    this.boxes.clear();
    this.arrows = [];
    const rows = Math.max(1, ...layout.vertices.map((v) => v.row + 1));
    const width = MARGIN * 2 + (Math.max(1, layout.layers) - 1) * COLUMN + BOX_W;
    const height = MARGIN * 2 + (rows - 1) * ROW + BOX_H + 30;
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    // Shrinks to the panel's width, never grows past its natural size.
    svg.setAttribute('width', '100%');
    svg.style.maxWidth = `${width}px`;
    const defs = element('defs', {}, svg);
    const marker = element(
      'marker',
      { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto' },
      defs,
    );
    element('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#7a8699' }, marker);
    const at = (v) => ({ x: MARGIN + v.layer * COLUMN, y: MARGIN + v.row * ROW });
    const regionColour = new Map();
    const edges = element('g', { class: 'edges' }, svg);
    for (const arrow of layout.arrows) {
      const from = at(layout.vertices[arrow.from]);
      const to = at(layout.vertices[arrow.to]);
      let d;
      if (to.x > from.x) {
        const x1 = from.x + BOX_W;
        const y1 = from.y + BOX_H / 2;
        const y2 = to.y + BOX_H / 2;
        const bend = (to.x - x1) / 2;
        d = `M${x1},${y1} C${x1 + bend},${y1} ${to.x - bend},${y2} ${to.x},${y2}`;
      } else {
        // Back or same-layer edge: loop under the boxes.
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
    for (const vertex of layout.vertices) {
      const { x, y } = at(vertex);
      const group = element('g', { class: `vertex kind-${vertex.kind}`, transform: `translate(${x},${y})` }, svg);
      const isWorkload = vertex.node === null;
      const title = element('title', {}, group);
      const description = vertex.summary ? `${vertex.name}: ${vertex.summary}` : `${vertex.name} (${vertex.kind.replace(/_/g, ' ')})`;
      title.textContent = description;
      const rect = element('rect', { width: BOX_W, height: BOX_H, rx: vertex.kind === 'workload' ? 28 : 6 }, group);
      // The queue's fill, along the box's foot (log scale: 1, 10, 100, 1000 waiting).
      const queue = element('rect', { class: 'queue-fill', x: 0, y: BOX_H - 4, width: 0, height: 4 }, group);
      // Its region: a stripe of the region's colour on the left and its name (and zone) at
      // the top right.
      if (vertex.region) {
        if (!regionColour.has(vertex.region)) regionColour.set(vertex.region, REGION_COLOURS[regionColour.size % REGION_COLOURS.length]);
        element('rect', { class: 'region-stripe', x: 0, y: 0, width: 5, height: BOX_H, fill: regionColour.get(vertex.region) }, group);
        const regionTag = element('text', { x: 10, y: 45, class: 'region' }, group);
        regionTag.textContent = vertex.zone ? `${vertex.region} · ${vertex.zone}` : vertex.region;
      }
      // Its instances as dots (up to 12), filled while they serve.
      const dots = [];
      if (!isWorkload && vertex.instances > 1) {
        for (let i = 0; i < Math.min(vertex.instances, 12); i += 1) {
          dots.push(element('circle', { class: 'instance up', cx: 13 + i * 7, cy: BOX_H - 9, r: 2.4 }, group));
        }
      }
      const name = element('text', { x: 10, y: 17, class: 'name' }, group);
      name.textContent = vertex.name;
      const kind = element('text', { x: 10, y: 31, class: 'kind' }, group);
      kind.textContent = vertex.kind.replace(/_/g, ' ') + (vertex.host ? ` on ${vertex.host}` : '');
      const live = element('text', { x: 10, y: 60, class: 'live' }, group);
      group.dataset.name = vertex.name;
      if (isWorkload) group.dataset.workload = vertex.name;
      else group.dataset.node = vertex.name;
      // Every box is reachable by keyboard: Tab to it, Enter or Space to open it.
      group.setAttribute('tabindex', '0');
      group.setAttribute('role', 'button');
      group.setAttribute('aria-label', `${vertex.name}, ${vertex.kind.replace(/_/g, ' ')}`);
      group.addEventListener('click', (event) => {
        if (!this.justDragged) this.onNodeClick(vertex.name, event, isWorkload);
      });
      group.addEventListener('keydown', (event) => {
        if (event.key !== 'Enter' && event.key !== ' ') return;
        event.preventDefault();
        const box = group.getBoundingClientRect();
        const at = { clientX: box.left + box.width / 2, clientY: box.top + box.height / 2, stopPropagation() {} };
        this.onNodeClick(vertex.name, at, isWorkload);
      });
      group.addEventListener('pointerdown', (event) => this.dragStart(vertex.name, { x: x + BOX_W, y: y + BOX_H / 2 }, event));
      if (!isWorkload) this.boxes.set(vertex.node, { group, rect, live, queue, title, description, dots, name: vertex.name });
    }
  }

  /**
   * Writes one window's node views (in node order) and the faults in force on the boxes:
   * colour by utilization, the queue's fill, the figures in the tooltip, and each arrow as
   * thick as the traffic into its node (flowing while `animate` is set).
   */
  update(nodes, faultsByNode, animate = false) {
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
