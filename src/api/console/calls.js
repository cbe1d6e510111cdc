// Calls history: a CDR search form (GET /api/v1/cdrs) with the results table and a CSV
// export link for the same query (GET /api/v1/cdrs.csv, fetched with the token in the
// Authorization header and saved as a file, so the token never lands in a URL).

import { api, query, ApiError } from './api.js';
import { h, field, table, fillRows, alertBox, fmtTime } from './dom.js';

const COLUMNS = [
  { key: 'started_at', label: 'Started', fmt: fmtTime },
  { key: 'caller', label: 'Caller' },
  { key: 'callee', label: 'Callee' },
  { key: 'status', label: 'Status' },
  { key: 'sip_status', label: 'SIP status' },
  { key: 'billable_s', label: 'Billable (s)', fmt: (v) => (v === undefined ? '—' : Number(v).toFixed(1)) },
  { key: 'hangup_side', label: 'Hung up by' },
  { key: 'cause', label: 'Cause' },
];

function isoOrEmpty(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

export function mount(main, ctx) {
  const inputs = {
    since: h('input', { type: 'datetime-local', name: 'since', step: 1 }),
    until: h('input', { type: 'datetime-local', name: 'until', step: 1 }),
    caller: h('input', { type: 'text', name: 'caller', autocomplete: 'off' }),
    callee: h('input', { type: 'text', name: 'callee', autocomplete: 'off' }),
    status: h('select', { name: 'status' },
      h('option', { value: '' }, 'Any'), h('option', { value: 'answered' }, 'Answered'),
      h('option', { value: 'cancelled' }, 'Cancelled'), h('option', { value: 'failed' }, 'Failed')),
    limit: h('input', { type: 'number', name: 'limit', min: 1, max: 1000, value: 100 }),
  };
  const search = h('button', { type: 'submit' }, 'Search');
  const exportLink = h('a', { class: 'button', href: '/api/v1/cdrs.csv', download: 'cdrs.csv' }, 'Export CSV');
  const out = h('div', { class: 'result' });
  const summary = h('p', { class: 'muted', role: 'status', 'aria-label': 'Search result' });
  const results = table('Call records', COLUMNS, [], 'No calls match');
  const tbody = results.querySelector('tbody');

  const form = h('form', { class: 'search', 'aria-label': 'Search calls' },
    field('Since', inputs.since), field('Until', inputs.until),
    field('Caller', inputs.caller), field('Callee', inputs.callee),
    field('Status', inputs.status), field('Limit', inputs.limit),
    h('div', { class: 'actions' }, search, exportLink));

  main.replaceChildren(h('h1', {}, 'Calls history'), form, out, summary, results);

  if (ctx.whoami.role === 'agent') {
    out.append(alertBox('Calls history needs the supervisor role.'));
  }

  function params() {
    return {
      since: isoOrEmpty(inputs.since.value),
      until: isoOrEmpty(inputs.until.value),
      caller: inputs.caller.value.trim(),
      callee: inputs.callee.value.trim(),
      status: inputs.status.value,
      limit: inputs.limit.value,
    };
  }

  function syncLink() {
    exportLink.href = '/api/v1/cdrs.csv' + query(params());
  }

  function markInvalid(fieldName) {
    for (const [k, el] of Object.entries(inputs)) {
      if (k === fieldName) el.setAttribute('aria-invalid', 'true'); else el.removeAttribute('aria-invalid');
    }
  }

  let stopped = false;
  async function run() {
    out.replaceChildren();
    markInvalid(null);
    search.disabled = true;
    try {
      const rows = await api('/api/v1/cdrs' + query(params()));
      if (stopped) return;
      fillRows(tbody, COLUMNS, rows, 'No calls match');
      summary.textContent = `${rows.length} call${rows.length === 1 ? '' : 's'}`;
    } catch (e) {
      if (stopped) return;
      out.append(alertBox(e instanceof ApiError ? e.describe() : String(e)));
      if (e instanceof ApiError && e.field) markInvalid(e.field);
      summary.textContent = '';
    } finally {
      search.disabled = false;
    }
  }

  form.addEventListener('input', syncLink);
  form.addEventListener('submit', (e) => { e.preventDefault(); syncLink(); run(); });
  exportLink.addEventListener('click', async (e) => {
    e.preventDefault();
    out.replaceChildren();
    try {
      const blob = await api(exportLink.getAttribute('href'), { as: 'blob' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: 'cdrs.csv', hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      out.append(alertBox(err instanceof ApiError ? err.describe() : String(err)));
    }
  });

  syncLink();
  if (ctx.whoami.role !== 'agent') run();
  return () => { stopped = true; };
}
