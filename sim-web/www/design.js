// The design canvas: edits made through sim_core::design in the editor's text, with undo and
// redo; the inspector of one box (its fields as written, each editable, connect and delete);
// and the canvas's controls (new design, add, zoom, tidy).

import {
  design_templates,
  design_empty,
  design_add_node,
  design_add_workload,
  design_connect,
  design_remove,
  design_fields,
  design_set_field,
} from './pkg/sim_web.js';
import { ZOOM_STEP } from './graph.js';

const $ = (id) => document.getElementById(id);

/**
 * The canvas of the page `page`: `{ app, editor, graph, setStatus, stop, keepWork, menuNode }`
 * (`menuNode()` is the box whose menu is open). Returns `edit(edit, done)` (a canvas edit:
 * `edit(text)` gives the new text, or throws why it cannot be made), `openInspector(name,
 * isWorkload)` and `setUp()`, which wires the controls.
 */
export function createDesign(page) {
  const { app, editor, graph, setStatus, stop, keepWork } = page;
  const designHistory = { past: [], future: [] };
  let inspected = null; // {name, isWorkload}

  function updateHistoryButtons() {
    $('undo').disabled = designHistory.past.length === 0;
    $('redo').disabled = designHistory.future.length === 0;
  }

  /** Puts a new text in the editor (checked and drawn at once) and keeps it. */
  function replaceText(text) {
    if (app.run) stop();
    $('example').value = '';
    editor.text = text;
    keepWork();
    updateHistoryButtons();
    renderInspector();
  }

  /** A canvas edit: `edit(text)` gives the new text, or throws why it cannot be made. */
  function designEdit(edit, done) {
    let next;
    try {
      next = edit(editor.text);
    } catch (message) {
      setStatus(`cannot: ${message}`);
      if (!$('inspector').hidden) {
        $('inspector-problem').textContent = String(message);
        $('inspector-problem').hidden = false;
      }
      return false;
    }
    designHistory.past.push(editor.text);
    if (designHistory.past.length > 200) designHistory.past.shift();
    designHistory.future = [];
    replaceText(next);
    if (done) setStatus(done);
    return true;
  }

  function undo() {
    if (!designHistory.past.length) return;
    designHistory.future.push(editor.text);
    replaceText(designHistory.past.pop());
    setStatus('undone');
  }

  function redo() {
    if (!designHistory.future.length) return;
    designHistory.past.push(editor.text);
    replaceText(designHistory.future.pop());
    setStatus('redone');
  }

  function openInspector(name, isWorkload) {
    inspected = { name, isWorkload };
    $('node-menu').hidden = true;
    renderInspector();
    $('inspector').scrollIntoView({ block: 'nearest' });
  }

  function closeInspector() {
    inspected = null;
    renderInspector();
  }

  /** The inspector of the box being edited: its fields as written, each editable. */
  function renderInspector() {
    const panel = $('inspector');
    $('inspector-problem').hidden = true;
    if (!inspected) {
      panel.hidden = true;
      return;
    }
    const { name, isWorkload } = inspected;
    const vertices = app.layout ? app.layout.vertices : [];
    if (!vertices.some((v) => v.name === name && (v.node === null) === isWorkload)) {
      inspected = null; // deleted, or the text no longer reads
      panel.hidden = true;
      return;
    }
    $('inspector-title').textContent = `${isWorkload ? 'workload' : vertices.find((v) => v.name === name).kind.replace(/_/g, ' ')} ${name}`;
    const table = $('inspector-fields');
    table.replaceChildren();
    if (!isWorkload) {
      for (const [field, value] of JSON.parse(design_fields(editor.text, name))) {
        const row = table.insertRow();
        row.insertCell().textContent = field;
        const input = document.createElement('input');
        input.value = value;
        input.dataset.field = field;
        input.setAttribute('aria-label', `${name} ${field}`);
        input.addEventListener('change', () =>
          designEdit((text) => design_set_field(text, name, field, input.value), `${name}: ${field} set to ${input.value}`),
        );
        row.insertCell().appendChild(input);
      }
    }
    $('new-field').closest('.menu-row').hidden = isWorkload;
    const targets = $('connect-to');
    targets.replaceChildren();
    for (const vertex of vertices) {
      if (vertex.node === null || vertex.name === name) continue;
      const option = document.createElement('option');
      option.value = vertex.name;
      option.textContent = vertex.name;
      targets.appendChild(option);
    }
    $('connect').disabled = targets.options.length === 0;
    panel.hidden = false;
  }

  function setUp() {
    for (const [kind] of JSON.parse(design_templates())) {
      const option = document.createElement('option');
      option.value = kind;
      option.textContent = kind === 'service_ps' ? 'service (processor sharing)' : kind.replace(/_/g, ' ');
      $('add-kind').appendChild(option);
    }
    $('new-design').addEventListener('click', () => {
      designEdit(() => design_empty(), 'a new design: add a workload and components');
      graph.tidy();
    });
    $('zoom-in').addEventListener('click', () => graph.zoom(ZOOM_STEP));
    $('zoom-out').addEventListener('click', () => graph.zoom(1 / ZOOM_STEP));
    $('zoom-fit').addEventListener('click', () => graph.fit());
    $('tidy').addEventListener('click', () => {
      graph.tidy();
      setStatus('laid out again: boxes in columns from the clients to the data stores');
    });
    $('add-node').addEventListener('click', () => {
      let added = null;
      designEdit((text) => {
        const result = JSON.parse(design_add_node(text, $('add-kind').value));
        added = result.name;
        return result.text;
      }) && setStatus(`added ${added}: drag a box onto it, or it onto another, to connect`);
    });
    $('add-workload').addEventListener('click', () => {
      // Sends to the first node without callers, if there is one.
      const vertices = app.layout ? app.layout.vertices : [];
      const called = new Set((app.layout ? app.layout.arrows : []).map((a) => a.to));
      const entry = vertices.find((v, index) => v.node !== null && !called.has(index));
      let added = null;
      designEdit((text) => {
        const result = JSON.parse(design_add_workload(text, entry ? entry.name : ''));
        added = result.name;
        return result.text;
      }) && setStatus(`added workload ${added}${entry ? ` sending to ${entry.name}` : ''}`);
    });
    $('undo').addEventListener('click', undo);
    $('redo').addEventListener('click', redo);
    $('menu-edit').addEventListener('click', () => page.menuNode() && openInspector(page.menuNode(), false));
    $('close-inspector').addEventListener('click', closeInspector);
    $('connect').addEventListener('click', () => {
      const { name } = inspected;
      const to = $('connect-to').value;
      designEdit((text) => design_connect(text, name, to), `connected ${name} → ${to}`);
    });
    $('add-field').addEventListener('click', () => {
      const { name } = inspected;
      const field = $('new-field').value;
      designEdit((text) => design_set_field(text, name, field, $('new-value').value), `${name}: ${field} set`);
    });
    $('delete-node').addEventListener('click', () => {
      const { name } = inspected;
      if (designEdit((text) => design_remove(text, name), `deleted ${name}`)) closeInspector();
    });
    document.addEventListener('keydown', (event) => {
      const inText = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
      if (inText || !(event.ctrlKey || event.metaKey)) return;
      if (event.key === 'z' && !event.shiftKey) {
        event.preventDefault();
        undo();
      } else if (event.key === 'y' || (event.key === 'z' && event.shiftKey)) {
        event.preventDefault();
        redo();
      }
    });
  }

  return { edit: designEdit, openInspector, setUp };
}
