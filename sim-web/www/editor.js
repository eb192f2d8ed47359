// The topology editor: a textarea over a highlighted copy of its text (RON syntax colours),
// with the line of the current error marked.

const TOKEN = new RegExp(
  [
    String.raw`(?<comment>//[^\n]*|/\*[\s\S]*?(?:\*/|$))`,
    String.raw`(?<string>"(?:[^"\\\n]|\\.)*"?)`,
    String.raw`(?<number>-?\b\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?\b)`,
    String.raw`(?<field>\b[a-z_][A-Za-z0-9_]*(?=\s*:))`,
    String.raw`(?<type>\b[A-Z][A-Za-z0-9_]*)`,
    String.raw`(?<keyword>\b(?:true|false|None|Some)\b)`,
  ].join('|'),
  'g',
);

function escapeHtml(text) {
  return text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]);
}

/** RON text as HTML with a span per token class. */
export function highlightRon(text) {
  let html = '';
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    html += escapeHtml(text.slice(last, match.index));
    const kind = Object.keys(match.groups).find((k) => match.groups[k] !== undefined);
    html += `<span class="tok-${kind}">${escapeHtml(match[0])}</span>`;
    last = match.index + match[0].length;
  }
  return html + escapeHtml(text.slice(last));
}

/** Wires the textarea and its highlighted backdrop; returns a handle for the app. */
export function createEditor(textarea, backdrop, onChange) {
  let errorLines = [];
  const render = () => {
    const lines = highlightRon(textarea.value).split('\n');
    backdrop.innerHTML =
      lines
        .map((line, i) => (errorLines.includes(i + 1) ? `<span class="error-line">${line || ' '}</span>` : line))
        .join('\n') + '\n';
    backdrop.scrollTop = textarea.scrollTop;
    backdrop.scrollLeft = textarea.scrollLeft;
  };
  let timer = null;
  textarea.addEventListener('input', () => {
    render();
    clearTimeout(timer);
    timer = setTimeout(() => onChange(textarea.value), 120);
  });
  textarea.addEventListener('scroll', () => {
    backdrop.scrollTop = textarea.scrollTop;
    backdrop.scrollLeft = textarea.scrollLeft;
  });
  // Tab indents; after Escape, Tab (or Shift+Tab) leaves the editor as anywhere else, so
  // the keyboard is never trapped in it.
  let tabLeaves = false;
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      tabLeaves = true;
      return;
    }
    if (event.key === 'Tab' && !tabLeaves) {
      event.preventDefault();
      textarea.setRangeText('    ', textarea.selectionStart, textarea.selectionEnd, 'end');
      textarea.dispatchEvent(new Event('input'));
    }
    tabLeaves = false;
  });
  textarea.addEventListener('blur', () => (tabLeaves = false));
  return {
    get text() {
      return textarea.value;
    },
    set text(value) {
      textarea.value = value;
      render();
      onChange(value);
    },
    /** Marks the 1-based lines that have errors (none: an empty list). */
    markError(lines) {
      errorLines = lines;
      render();
    },
    /** Puts the caret at a 1-based line and column and scrolls it into view. */
    goTo(line, column) {
      const lines = textarea.value.split('\n');
      const offset = lines.slice(0, line - 1).reduce((sum, l) => sum + l.length + 1, 0) + Math.max(column - 1, 0);
      textarea.focus();
      textarea.setSelectionRange(offset, offset);
      const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
      textarea.scrollTop = Math.max(0, (line - 4) * lineHeight);
      textarea.dispatchEvent(new Event('scroll'));
    },
  };
}
