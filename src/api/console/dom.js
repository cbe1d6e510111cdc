// Small DOM helpers shared by the pages: element building (text only, never innerHTML
// from data), tables, "not available yet" panels and formatting.

/** h('div', {class: 'x', 'aria-label': 'y'}, child, 'text', ...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let fieldSeq = 0;

/**
 * A labelled form field: <label>Text <input …></label>. The control is also named by the
 * text alone (aria-labelledby): a label that wraps a <select> otherwise takes the selected
 * option's text into the name ("Agent 2002"), which changes as the options load.
 */
export function field(label, input) {
  const id = `field-${++fieldSeq}`;
  if (input instanceof Element && !input.hasAttribute('aria-labelledby')) input.setAttribute('aria-labelledby', id);
  return h('label', { class: 'field' }, h('span', { id }, label), input);
}

/** A section with a heading; the region is named by its heading for assistive tech. */
export function panel(title, ...children) {
  const id = 'p-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section', { class: 'panel', 'aria-labelledby': id },
    h('h2', { id }, title), ...children);
}

/** The notice shown where an endpoint does not exist yet (404). */
export function notAvailable(what) {
  return h('p', { class: 'notice', role: 'status' }, `${what}: not available yet`);
}

/** An error notice (role=alert, so it is announced and testable). */
export function alertBox(message) {
  return h('p', { class: 'error', role: 'alert' }, message);
}

/**
 * A table of rows. columns: [{key, label, fmt?}]. caption names the table (role=table
 * with that accessible name).
 */
export function table(caption, columns, rows, empty = 'None') {
  const t = h('table', {},
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)))));
  const body = h('tbody');
  fillRows(body, columns, rows, empty);
  t.append(body);
  return t;
}

export function fillRows(tbody, columns, rows, empty = 'None') {
  tbody.replaceChildren();
  if (!rows.length) {
    tbody.append(h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty)));
    return;
  }
  for (const r of rows) {
    tbody.append(h('tr', r.id ? { 'data-id': r.id } : {},
      columns.map((c) => h('td', {}, fmtCell(c, r)))));
  }
}

function fmtCell(c, r) {
  const v = r[c.key];
  if (c.fmt) return c.fmt(v, r);
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Columns for rows of unknown shape: every key of the first rows, preferred keys first. */
export function columnsFor(rows, preferred = []) {
  const keys = new Set(preferred.filter((k) => rows.some((r) => k in r)));
  for (const r of rows.slice(0, 20)) for (const k of Object.keys(r)) keys.add(k);
  return [...keys].map((k) => ({ key: k, label: k.replace(/_/g, ' ') }));
}

/** "2026-11-24T08:00:01.000Z" → local "08:00:01" (today) or date and time. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

/** Seconds → "1:05" or "1:02:03". */
export function fmtDuration(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '—';
  s = Math.max(0, Math.round(s));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

/** Seconds since an RFC 3339 instant. */
export function since(iso, now = Date.now()) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : (now - t) / 1000;
}
