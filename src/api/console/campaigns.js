// Campaign manager, against the campaign API (GET /api/v1/openapi.json, tag "campaigns"):
//   GET  /api/v1/campaigns              → [{id, name, state, dial_mode, trunk, counts: {ready, claimed,
//                                          dialing, done, dnc, total}, live: CampaignLive | null, …definition}]
//   POST /api/v1/campaigns  definition  → 201 {id, …} | 422 {error: {code, message, field}, errors: [{field, message}]}
//   POST /api/v1/campaigns/{id}/leads?name=&default_country=&phone_column=  (text/csv body)
//        → {list_id, rows, loaded, duplicates: [{line, phone, first_line, in_campaign}], duplicate_count,
//           errors: [{line, reason}], error_count}
//   POST /api/v1/campaigns/{id}/start | /pause | /stop → {id, state} | 409 "cannot go from X to Y"
//   GET  /api/v1/campaigns/{id}/stats   → {counts, outcomes: {busy, no_answer, …}, dispositions: {code: n}, live}
//   GET  /api/v1/campaigns/{id}/results.csv

import { api, query, ApiError } from './api.js';
import { h, field, panel, table, fillRows, alertBox } from './dom.js';

export const ENDPOINTS = {
  list: '/api/v1/campaigns',
  leads: (id) => `/api/v1/campaigns/${encodeURIComponent(id)}/leads`,
  action: (id, verb) => `/api/v1/campaigns/${encodeURIComponent(id)}/${verb}`,
  stats: (id) => `/api/v1/campaigns/${encodeURIComponent(id)}/stats`,
  results: (id) => `/api/v1/campaigns/${encodeURIComponent(id)}/results.csv`,
};

const STATS_MS = 2000;
const LIST_MS = 10000;

/** "08:30" → 510 (minutes after midnight); '' or junk → null. */
export function minutes(hhmm) {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm || '');
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** 0.0213 → "2.13 %"; null → "—". */
export function pct(x, digits = 2) {
  return x === null || x === undefined || Number.isNaN(Number(x)) ? '—' : `${(Number(x) * 100).toFixed(digits)} %`;
}

/**
 * The form's values → a campaign definition (dialer::campaign::Campaign's JSON). Empty
 * optional inputs are left out so the switch's defaults apply.
 */
export function toDefinition(v) {
  const body = { name: v.name, trunk: v.trunk, caller_id: v.caller_id, agents: { queue: v.queue }, dial_mode: v.dial_mode };
  if (v.abandon_target_pct !== '' && v.abandon_target_pct !== undefined) {
    body.abandon = { rate: Number(v.abandon_target_pct) / 100, regime: v.regime || 'us_ftc' };
  }
  if (v.ring_timeout_s !== '' && v.ring_timeout_s !== undefined) body.ring_timeout_s = Number(v.ring_timeout_s);
  const open = minutes(v.window_start);
  const close = minutes(v.window_end);
  if (open !== null && close !== null) body.window = { open_min: open, close_min: close };
  if (v.script) body.script = v.script;
  return body;
}

/** The fields a 422 names: "invalid campaign: name: …; ring_timeout_s: …" → ['name', 'ring_timeout_s']. */
export function fieldsOf(err) {
  if (!(err instanceof ApiError)) return [];
  const found = new Set(err.field ? [err.field] : []);
  const text = String(err.message).replace(/^invalid campaign: /, '');
  for (const part of text.split('; ')) {
    const m = /^([a-z_]+(?:\.[a-z_]+)*): /.exec(part);
    if (m) found.add(m[1]);
  }
  return [...found];
}

/** A campaign of GET /api/v1/campaigns as one flat row (tables, wallboard panels). */
export function campaignRow(c) {
  const live = c.live || null;
  const target = live ? live.abandon_target : c.abandon?.rate;
  return {
    id: c.id,
    name: c.name,
    state: c.state,
    dial_mode: c.dial_mode,
    leads: c.counts ? `${c.counts.ready} ready / ${c.counts.total}` : '—',
    abandon: live ? `${pct(live.abandon_rate)} (target ${pct(target, 1)})` : `— (target ${pct(target, 1)})`,
    dial_level: live ? Number(live.dial_level).toFixed(2) : '—',
    utilisation: live ? pct(live.talk_utilisation, 1) : '—',
    abandon_rate: live ? live.abandon_rate : null,
    abandon_target: target ?? null,
  };
}

/** A meter of the abandon rate against its target (the target marks "high"). */
export function abandonMeter(rate, target) {
  const t = target || 0.03;
  return h('meter', { min: 0, max: t * 2, low: t * 0.66, high: t, optimum: 0, value: rate ?? 0,
    'aria-label': `Abandon rate ${pct(rate)} against the target ${pct(t, 1)}` });
}

export const ROW_COLUMNS = [
  { key: 'name', label: 'Name' }, { key: 'state', label: 'State' }, { key: 'dial_mode', label: 'Dial mode' },
  { key: 'leads', label: 'Leads' }, { key: 'abandon', label: 'Abandon rate' },
  { key: 'dial_level', label: 'Dial level' }, { key: 'utilisation', label: 'Utilisation' },
];

// Which form input shows the error of an API field.
const FIELD_INPUT = {
  name: 'name', trunk: 'trunk', caller_id: 'caller_id', agents: 'queue', dial_mode: 'dial_mode',
  'abandon.rate': 'abandon_target_pct', abandon: 'abandon_target_pct', ring_timeout_s: 'ring_timeout_s',
  window: 'window_start', script: 'script',
};

function describe(e) { return e instanceof ApiError ? e.describe() : String(e); }

function statTile(label, id) {
  const value = h('output', { class: 'tile-value', 'aria-labelledby': id }, '—');
  return { el: h('div', { class: 'tile' }, h('span', { id, class: 'tile-label' }, label), value), value };
}

export function mount(main) {
  const banner = h('div', { class: 'banner' });

  // ---- campaigns list + start/pause/stop ----------------------------------------------
  const listTable = table('Campaigns', ROW_COLUMNS, [], 'No campaigns');
  const pick = h('select', { name: 'campaign' });
  const actionsOut = h('div', { class: 'result' });
  const actionButtons = ['start', 'pause', 'stop'].map((verb) => {
    const b = h('button', { type: 'button', class: verb === 'stop' ? 'danger' : verb === 'pause' ? 'warn' : '' }, verb[0].toUpperCase() + verb.slice(1));
    b.addEventListener('click', async () => {
      actionsOut.replaceChildren();
      if (!pick.value) return;
      try {
        const r = await api(ENDPOINTS.action(pick.value, verb), { method: 'POST' });
        actionsOut.append(h('p', { role: 'status' }, `Campaign ${pick.selectedOptions[0]?.textContent}: ${r.state}`));
        await refresh();
        loadStats();
      } catch (e) { actionsOut.append(alertBox(describe(e))); }
    });
    return b;
  });
  const exportLink = h('a', { class: 'button', href: '#', download: 'results.csv' }, 'Export results (CSV)');
  const controls = h('fieldset', { class: 'controls' }, h('legend', {}, 'Run a campaign'),
    field('Campaign', pick), h('div', { class: 'actions' }, actionButtons, exportLink), actionsOut);

  // ---- live stats of the picked campaign ----------------------------------------------
  const tiles = {
    state: statTile('State', 'cs-state'),
    abandon: statTile('Abandon rate', 'cs-abandon'),
    target: statTile('Abandon target', 'cs-target'),
    dial: statTile('Dial level', 'cs-dial'),
    util: statTile('Utilisation', 'cs-util'),
    lines: statTile('Lines in flight', 'cs-lines'),
  };
  let meter = abandonMeter(0, 0.03);
  const idle = h('p', { class: 'muted' });
  const countCols = ['ready', 'claimed', 'dialing', 'done', 'dnc', 'total'].map((k) => ({ key: k, label: k }));
  const countsTable = table('Leads', countCols, [], 'No leads');
  const outcomeCols = ['busy', 'no_answer', 'machine', 'congestion', 'answered', 'dropped', 'invalid', 'interrupted']
    .map((k) => ({ key: k, label: k.replace(/_/g, ' ') }));
  const outcomesTable = table('Attempts by outcome', outcomeCols, [], 'No attempts');
  const dispoTable = table('Dispositions', [{ key: 'code', label: 'Code' }, { key: 'n', label: 'Count' }], [], 'No dispositions');
  const statsBox = h('div', { class: 'campaign-stats' },
    h('div', { class: 'tiles' }, Object.values(tiles).map((t) => t.el)), meter, idle,
    countsTable, outcomesTable, dispoTable);

  // ---- create -------------------------------------------------------------------------
  const c = {
    name: h('input', { name: 'name', required: true }),
    trunk: h('input', { name: 'trunk', required: true }),
    caller_id: h('input', { name: 'caller_id', required: true, placeholder: '+14155550100' }),
    queue: h('input', { name: 'queue', required: true }),
    dial_mode: h('select', { name: 'dial_mode' }, ['preview', 'progressive', 'predictive'].map((m) => h('option', { value: m }, m))),
    regime: h('select', { name: 'regime' }, [['us_ftc', 'US FTC (30 days)'], ['uk_ofcom', 'UK Ofcom (24 h)']].map(([v, l]) => h('option', { value: v }, l))),
    abandon_target_pct: h('input', { name: 'abandon_target_pct', type: 'number', min: 0.1, max: 3, step: 0.1, value: 3 }),
    ring_timeout_s: h('input', { name: 'ring_timeout_s', type: 'number', min: 15, max: 120, value: 20 }),
    window_start: h('input', { name: 'window_start', type: 'time', value: '08:00' }),
    window_end: h('input', { name: 'window_end', type: 'time', value: '21:00' }),
    script: h('textarea', { name: 'script', rows: 3 }),
  };
  const createOut = h('div', { class: 'result' });
  const createForm = h('form', { 'aria-label': 'Create campaign' },
    h('fieldset', {}, h('legend', {}, 'Create campaign'),
      h('div', { class: 'form-grid' },
        field('Name', c.name), field('Trunk', c.trunk), field('Caller ID', c.caller_id), field('Queue', c.queue),
        field('Dial mode', c.dial_mode), field('Abandon regime', c.regime), field('Abandon target (%)', c.abandon_target_pct),
        field('Ring timeout (s)', c.ring_timeout_s), field('Calling window from', c.window_start),
        field('Calling window to', c.window_end)),
      field('Agent script', c.script),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create campaign')), createOut));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    createOut.replaceChildren();
    for (const el of Object.values(c)) el.removeAttribute('aria-invalid');
    const values = Object.fromEntries(Object.entries(c).map(([k, el]) => [k, el.value.trim()]));
    try {
      const made = await api(ENDPOINTS.list, { method: 'POST', json: toDefinition(values) });
      createOut.append(h('p', { role: 'status' }, `Created campaign ${made.name} (${made.state})`));
      await refresh();
      pick.value = made.id;
      up.campaign.value = made.id;
      loadStats();
    } catch (err) {
      createOut.append(alertBox(describe(err)));
      for (const f of fieldsOf(err)) {
        const input = c[FIELD_INPUT[f] ?? FIELD_INPUT[f.split('.')[0]]];
        if (input) input.setAttribute('aria-invalid', 'true');
      }
    }
  });

  // ---- list upload --------------------------------------------------------------------
  const up = {
    campaign: h('select', { name: 'campaign' }),
    file: h('input', { name: 'file', type: 'file', accept: '.csv,text/csv', required: true }),
    name: h('input', { name: 'list_name', placeholder: 'e.g. spring-week-1' }),
    phone_column: h('input', { name: 'phone_column', value: 'phone' }),
    default_country: h('input', { name: 'default_country', value: 'US', maxlength: 2, size: 2 }),
  };
  const uploadOut = h('div', { class: 'result' });
  const errCols = [{ key: 'line', label: 'Line' }, { key: 'reason', label: 'Reason' }];
  const rowErrors = table('Row errors', errCols, [], 'No row errors');
  const dupCols = [{ key: 'line', label: 'Line' }, { key: 'phone', label: 'Number' },
    { key: 'first', label: 'First seen', fmt: (_, r) => (r.in_campaign ? 'in the campaign' : `line ${r.first_line}`) }];
  const duplicates = table('Duplicates', dupCols, [], 'No duplicates');
  const uploadForm = h('form', { 'aria-label': 'Upload leads' },
    h('fieldset', {}, h('legend', {}, 'Upload a lead list (CSV)'),
      field('Campaign', up.campaign), field('Lead list (CSV)', up.file), field('List name', up.name),
      h('div', { class: 'form-grid' }, field('Phone column', up.phone_column), field('Default country', up.default_country)),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Upload')), uploadOut, rowErrors, duplicates));
  uploadForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    uploadOut.replaceChildren();
    fillRows(rowErrors.querySelector('tbody'), errCols, [], 'No row errors');
    fillRows(duplicates.querySelector('tbody'), dupCols, [], 'No duplicates');
    const f = up.file.files[0];
    if (!f || !up.campaign.value) return;
    try {
      const q = query({ name: up.name.value.trim() || f.name, phone_column: up.phone_column.value.trim(), default_country: up.default_country.value.trim() });
      // the File itself is the body: the browser streams it, the switch streams it into the store
      const r = await api(ENDPOINTS.leads(up.campaign.value) + q, { method: 'POST', body: f, contentType: 'text/csv' });
      uploadOut.append(h('p', { role: 'status' },
        `Loaded ${r.loaded} of ${r.rows} row(s): ${r.error_count} row error(s), ${r.duplicate_count} duplicate(s)`));
      fillRows(rowErrors.querySelector('tbody'), errCols, r.errors || [], 'No row errors');
      fillRows(duplicates.querySelector('tbody'), dupCols, r.duplicates || [], 'No duplicates');
      refresh();
      loadStats();
    } catch (err) { uploadOut.append(alertBox(describe(err))); }
  });

  main.replaceChildren(
    h('h1', {}, 'Campaigns'), banner,
    panel('Campaign list', listTable, controls),
    panel('Live statistics', statsBox),
    h('div', { class: 'grid2' }, panel('New campaign', createForm), panel('Lead lists', uploadForm)));

  let stopped = false;
  let rows = [];

  async function refresh() {
    try {
      const data = await api(ENDPOINTS.list);
      if (stopped) return;
      banner.replaceChildren();
      rows = Array.isArray(data) ? data : [];
      fillRows(listTable.querySelector('tbody'), ROW_COLUMNS, rows.map(campaignRow), 'No campaigns');
      for (const sel of [pick, up.campaign]) {
        const keep = sel.value;
        sel.replaceChildren(...rows.map((x) => h('option', { value: x.id }, x.name)));
        if (keep && rows.some((x) => x.id === keep)) sel.value = keep;
      }
      syncExport();
    } catch (e) { if (!stopped) banner.replaceChildren(alertBox(describe(e))); }
  }

  function syncExport() {
    const one = rows.find((x) => x.id === pick.value);
    exportLink.setAttribute('href', one ? ENDPOINTS.results(one.id) : '#');
    exportLink.setAttribute('download', one ? `${one.name}-results.csv` : 'results.csv');
  }

  async function loadStats() {
    const id = pick.value;
    if (!id) return;
    try {
      const s = await api(ENDPOINTS.stats(id));
      if (stopped || id !== pick.value) return;
      const one = rows.find((x) => x.id === id);
      const live = s.live;
      const target = live ? live.abandon_target : one?.abandon?.rate;
      tiles.state.value.textContent = one ? one.state : '—';
      tiles.abandon.value.textContent = live ? pct(live.abandon_rate) : '—';
      tiles.target.value.textContent = pct(target, 1);
      tiles.dial.value.textContent = live ? Number(live.dial_level).toFixed(2) : '—';
      tiles.util.value.textContent = live ? pct(live.talk_utilisation, 1) : '—';
      tiles.lines.value.textContent = live ? String(live.lines_in_flight) : '—';
      const next = abandonMeter(live ? live.abandon_rate : 0, target);
      meter.replaceWith(next);
      meter = next;
      idle.textContent = live
        ? (live.idle_reason ? `Not dialling: ${live.idle_reason}` : `Dialling: ${live.agents_ready} agent(s) ready, ${live.agents_in_call} in a call`)
        : (one?.state === 'running' ? 'Running: no live figures from the dialer yet.' : `Not dialling: the campaign is ${one?.state ?? 'unknown'}.`);
      fillRows(countsTable.querySelector('tbody'), countCols, [s.counts], 'No leads');
      fillRows(outcomesTable.querySelector('tbody'), outcomeCols, [s.outcomes], 'No attempts');
      fillRows(dispoTable.querySelector('tbody'), [{ key: 'code' }, { key: 'n' }],
        Object.entries(s.dispositions || {}).map(([code, n]) => ({ code, n })), 'No dispositions');
    } catch (e) { if (!stopped) idle.replaceChildren(alertBox(describe(e))); }
  }

  pick.addEventListener('change', () => { syncExport(); loadStats(); });
  exportLink.addEventListener('click', async (e) => {
    e.preventDefault();
    actionsOut.replaceChildren();
    const one = rows.find((x) => x.id === pick.value);
    if (!one) return;
    try {
      const blob = await api(ENDPOINTS.results(one.id), { as: 'blob' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `${one.name}-results.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) { actionsOut.append(alertBox(describe(err))); }
  });

  refresh().then(loadStats);
  const timers = [setInterval(refresh, LIST_MS), setInterval(loadStats, STATS_MS)];
  return () => { stopped = true; for (const t of timers) clearInterval(t); };
}
