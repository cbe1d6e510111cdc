// Campaign manager, laid out against the dialer endpoints that arrive with the campaign
// issue (until GET /api/v1/campaigns answers, every form is disabled under a "not
// available yet" notice):
//   GET  /api/v1/campaigns                      → [{id, name, state, …}]
//   POST /api/v1/campaigns  {name, trunk, caller_id, queue, dial_mode, abandon_target_pct,
//                            ring_timeout_s, window_start, window_end}
//   POST /api/v1/campaigns/{id}/leads?phone_column=&default_country=  (text/csv body)
//        → {loaded, duplicates?, errors: [{line, reason}]}
//   POST /api/v1/campaigns/{id}/start | /pause | /stop

import { api, probe, query, ApiError } from './api.js';
import { h, field, panel, table, fillRows, columnsFor, notAvailable, alertBox } from './dom.js';

export const ENDPOINTS = {
  list: '/api/v1/campaigns',
  leads: (id) => `/api/v1/campaigns/${encodeURIComponent(id)}/leads`,
  action: (id, verb) => `/api/v1/campaigns/${encodeURIComponent(id)}/${verb}`,
};

function describe(e) { return e instanceof ApiError ? e.describe() : String(e); }

export function mount(main) {
  const banner = h('div', { class: 'banner' }, h('p', { class: 'muted' }, 'Checking the campaign API…'));

  // ---- campaigns list + start/pause/stop ----------------------------------------------
  const listBox = h('div', {}, table('Campaigns', [{ key: 'name', label: 'Name' }], [], 'No campaigns'));
  const pick = h('select', { name: 'campaign' });
  const actionsOut = h('div', { class: 'result' });
  const actionButtons = ['start', 'pause', 'stop'].map((verb) => {
    const b = h('button', { type: 'button', class: verb === 'stop' ? 'danger' : '' }, verb[0].toUpperCase() + verb.slice(1));
    b.addEventListener('click', async () => {
      actionsOut.replaceChildren();
      if (!pick.value) return;
      try {
        await api(ENDPOINTS.action(pick.value, verb), { method: 'POST' });
        actionsOut.append(h('p', { role: 'status' }, `Campaign ${pick.selectedOptions[0]?.textContent}: ${verb} sent`));
        refresh();
      } catch (e) { actionsOut.append(alertBox(describe(e))); }
    });
    return b;
  });
  const controls = h('fieldset', { class: 'controls' }, h('legend', {}, 'Run a campaign'),
    field('Campaign', pick), h('div', { class: 'actions' }, actionButtons), actionsOut);

  // ---- create -------------------------------------------------------------------------
  const c = {
    name: h('input', { name: 'name', required: true }),
    trunk: h('input', { name: 'trunk' }),
    caller_id: h('input', { name: 'caller_id' }),
    queue: h('input', { name: 'queue' }),
    dial_mode: h('select', { name: 'dial_mode' }, ['preview', 'progressive', 'predictive'].map((m) => h('option', { value: m }, m))),
    abandon_target_pct: h('input', { name: 'abandon_target_pct', type: 'number', min: 0, max: 100, step: 0.1, value: 3 }),
    ring_timeout_s: h('input', { name: 'ring_timeout_s', type: 'number', min: 15, max: 120, value: 20 }),
    window_start: h('input', { name: 'window_start', type: 'time', value: '08:00' }),
    window_end: h('input', { name: 'window_end', type: 'time', value: '21:00' }),
  };
  const createOut = h('div', { class: 'result' });
  const createForm = h('form', { 'aria-label': 'Create campaign' },
    h('fieldset', {}, h('legend', {}, 'Create campaign'),
      field('Name', c.name), field('Trunk', c.trunk), field('Caller ID', c.caller_id), field('Queue', c.queue),
      field('Dial mode', c.dial_mode), field('Abandon target (%)', c.abandon_target_pct),
      field('Ring timeout (s)', c.ring_timeout_s), field('Calling window from', c.window_start),
      field('Calling window to', c.window_end),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create campaign')), createOut));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    createOut.replaceChildren();
    for (const el of Object.values(c)) el.removeAttribute('aria-invalid');
    const body = {};
    for (const [k, el] of Object.entries(c)) {
      if (el.value === '') continue;
      body[k] = el.type === 'number' ? Number(el.value) : el.value;
    }
    try {
      const made = await api(ENDPOINTS.list, { method: 'POST', json: body });
      createOut.append(h('p', { role: 'status' }, `Created campaign ${made?.name ?? body.name}`));
      refresh();
    } catch (err) {
      createOut.append(alertBox(describe(err)));
      if (err instanceof ApiError && c[err.field]) c[err.field].setAttribute('aria-invalid', 'true');
    }
  });

  // ---- list upload --------------------------------------------------------------------
  const up = {
    campaign: h('select', { name: 'campaign' }),
    file: h('input', { name: 'file', type: 'file', accept: '.csv,text/csv', required: true }),
    phone_column: h('input', { name: 'phone_column', value: 'phone' }),
    default_country: h('input', { name: 'default_country', value: 'US', maxlength: 2, size: 2 }),
  };
  const uploadOut = h('div', { class: 'result' });
  const rowErrors = table('Row errors', [{ key: 'line', label: 'Line' }, { key: 'reason', label: 'Reason' }], [], 'No row errors');
  const uploadForm = h('form', { 'aria-label': 'Upload leads' },
    h('fieldset', {}, h('legend', {}, 'Upload a lead list (CSV)'),
      field('Campaign', up.campaign), field('Lead list (CSV)', up.file),
      field('Phone column', up.phone_column), field('Default country', up.default_country),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Upload')), uploadOut, rowErrors));
  uploadForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    uploadOut.replaceChildren();
    fillRows(rowErrors.querySelector('tbody'), [{ key: 'line' }, { key: 'reason' }], [], 'No row errors');
    const f = up.file.files[0];
    if (!f || !up.campaign.value) return;
    try {
      const q = query({ phone_column: up.phone_column.value, default_country: up.default_country.value });
      const r = await api(ENDPOINTS.leads(up.campaign.value) + q, { method: 'POST', body: await f.text(), contentType: 'text/csv' });
      const errs = (r && r.errors) || [];
      uploadOut.append(h('p', { role: 'status' },
        `Loaded ${r?.loaded ?? 0} lead(s), ${errs.length} row error(s)${r?.duplicates ? `, ${r.duplicates} duplicate(s)` : ''}`));
      fillRows(rowErrors.querySelector('tbody'), [{ key: 'line' }, { key: 'reason' }], errs, 'No row errors');
    } catch (err) { uploadOut.append(alertBox(describe(err))); }
  });

  const forms = [controls, createForm.firstChild, uploadForm.firstChild];
  main.replaceChildren(
    h('h1', {}, 'Campaigns'), banner,
    panel('Campaign list', listBox, controls),
    h('div', { class: 'grid2' }, panel('New campaign', createForm), panel('Lead lists', uploadForm)));

  let stopped = false;
  async function refresh() {
    const r = await probe(ENDPOINTS.list);
    if (stopped) return;
    for (const f of forms) f.disabled = !r.available || !!r.error;
    if (!r.available) {
      banner.replaceChildren(notAvailable('Campaign manager'));
      return;
    }
    if (r.error) { banner.replaceChildren(alertBox(describe(r.error))); return; }
    banner.replaceChildren();
    const rows = Array.isArray(r.data) ? r.data : [];
    listBox.replaceChildren(table('Campaigns', columnsFor(rows, ['name', 'state', 'dial_mode', 'leads', 'abandon_rate', 'abandon_target_pct']), rows, 'No campaigns'));
    for (const sel of [pick, up.campaign]) {
      const keep = sel.value;
      sel.replaceChildren(...rows.map((x) => h('option', { value: x.id ?? x.name }, x.name ?? x.id)));
      if (keep) sel.value = keep;
    }
  }
  for (const f of forms) f.disabled = true;
  refresh();
  const timer = setInterval(refresh, 10000);
  return () => { stopped = true; clearInterval(timer); };
}
