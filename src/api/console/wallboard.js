// Supervisor wallboard: headline tiles (GET /api/v1/stats), the live calls table fed by
// the WebSocket event stream (call.started / call.answered / call.ended) and re-seeded
// from GET /api/v1/calls, polling both every 2 s while the stream is down, a chart of
// active calls over the last 5 minutes, and queue / agent / campaign panels that say
// "not available yet" while their endpoints answer 404. Campaign panels (GET
// /api/v1/campaigns) show each campaign's live abandon rate against its target (a meter),
// dial level and utilisation, refreshed every 10 s; below them, per running campaign,
// charts of talk utilisation, dial level and abandon rate over the last 5 minutes, fed by
// the `campaign.stats` events the dialer sends every second.

import { api, probe, EventStream, ApiError } from './api.js';
import { h, panel, table, fillRows, columnsFor, notAvailable, alertBox, fmtTime, fmtDuration, since } from './dom.js';
import { LiveChart } from './chart.js';
import { campaignRow, abandonMeter, ROW_COLUMNS } from './campaigns.js';

const POLL_MS = 2000;        // REST polling while the event stream is down
const STATS_LIVE_MS = 5000;  // stats refresh while live (cps and registrations have no events)
const PANELS_MS = 10000;
const RENDER_MS = 150;       // live table: at most one rebuild per this many ms
const MAX_ROWS = 200;        // live table: rows shown (the longest-running calls)

const LATER = [
  { path: '/api/v1/queues', title: 'Queues', what: 'Queues',
    preferred: ['name', 'waiting', 'longest_wait_s', 'service_level', 'agents_available', 'answered', 'abandoned'] },
  { path: '/api/v1/agents', title: 'Agents', what: 'Agents',
    preferred: ['id', 'name', 'state', 'reason', 'time_in_state_s', 'queues'] },
  { path: '/api/v1/campaigns', title: 'Campaign panels', what: 'Campaigns', rows: (list) => list.map(campaignRow),
    columns: ROW_COLUMNS.filter((c) => c.key !== 'dial_mode').map((c) => (c.key === 'abandon'
      ? { ...c, fmt: (v, r) => h('span', { class: 'abandon' }, abandonMeter(r.abandon_rate, r.abandon_target), ' ', v) }
      : c)) },
];

function tile(label, id) {
  const value = h('output', { class: 'tile-value', 'aria-labelledby': id }, '—');
  return { el: h('div', { class: 'tile' }, h('span', { id, class: 'tile-label' }, label), value), value };
}

export function mount(main, ctx) {
  const canListCalls = ctx.whoami.role !== 'agent';
  const tiles = {
    active: tile('Active calls', 't-active'),
    cps: tile('Calls/s (1 min)', 't-cps'),
    registrations: tile('Registrations', 't-reg'),
    total: tile('Calls since start', 't-total'),
    uptime: tile('Uptime', 't-uptime'),
  };
  const feed = h('p', { class: 'feed', role: 'status', 'aria-label': 'Live feed' }, 'Connecting…');
  const errors = h('div', { class: 'errors' });
  const canvas = h('canvas', { class: 'chart', id: 'active-chart' });
  const chart = new LiveChart(canvas, { label: 'Active calls', windowMs: 5 * 60 * 1000 });

  const columns = [
    { key: 'caller', label: 'Caller' },
    { key: 'callee', label: 'Callee' },
    { key: 'state', label: 'State' },
    { key: 'started_at', label: 'Started', fmt: fmtTime },
    { key: 'duration', label: 'Duration', fmt: (_, r) => fmtDuration(since(r.answered_at || r.started_at)) },
    { key: 'actions', label: 'Actions', fmt: (_, r) => hangupButton(r) },
  ];
  const callsTable = table('Live calls', columns, [], 'No calls in progress');
  const tbody = callsTable.querySelector('tbody');

  const laterPanels = LATER.map((l) => {
    const body = h('div', { class: 'panel-body' }, h('p', { class: 'muted' }, 'Loading…'));
    return { ...l, body, el: panel(l.title, body) };
  });

  // Live campaign charts: one card per campaign that sends `campaign.stats`.
  const campaignCharts = new Map(); // campaign id → {utilisation, dial, abandon}
  const campaignCards = h('div', { class: 'grid3 campaign-charts', 'aria-label': 'Campaigns live' });
  function campaignChart(id, label, unit) {
    const c = h('canvas', { class: 'chart small', 'data-campaign': id, 'data-series': unit });
    return { canvas: c, caption: h('p', { class: 'muted' }, label), chart: new LiveChart(c, { label, windowMs: 5 * 60 * 1000 }) };
  }
  function onCampaignStats(d) {
    let cc = campaignCharts.get(d.campaign_id);
    if (!cc) {
      cc = {
        utilisation: campaignChart(d.campaign_id, 'Talk utilisation %', 'utilisation'),
        dial: campaignChart(d.campaign_id, 'Dial level', 'dial_level'),
        abandon: campaignChart(d.campaign_id, `Abandon rate % (target ${(100 * (d.abandon_target || 0)).toFixed(1)})`, 'abandon'),
      };
      campaignCharts.set(d.campaign_id, cc);
      campaignCards.append(panel(`Campaign ${d.campaign_id}`,
        h('div', {}, Object.values(cc).flatMap((s) => [s.caption, s.canvas]))));
    }
    const now = Date.now();
    cc.utilisation.chart.push(now, Math.round(1000 * (d.talk_utilisation || 0)) / 10);
    cc.dial.chart.push(now, Math.round(100 * (d.dial_level || 0)) / 100);
    cc.abandon.chart.push(now, Math.round(1000 * (d.abandon_rate || 0)) / 10);
    for (const s of Object.values(cc)) s.chart.draw(now);
  }

  main.replaceChildren(
    h('h1', {}, 'Wallboard'),
    h('div', { class: 'tiles' }, Object.values(tiles).map((t) => t.el)),
    feed, errors,
    h('div', { class: 'grid2' },
      panel('Active calls, last 5 minutes', canvas),
      panel('Calls in progress', canListCalls ? callsTable : h('p', { class: 'muted' }, 'Listing calls needs the supervisor role.'))),
    h('div', { class: 'grid3' }, laterPanels.map((p) => p.el)),
    campaignCards);

  // ---- state --------------------------------------------------------------------------
  const calls = new Map();   // id → call
  const ended = new Map();   // id → time ended (a snapshot must not resurrect it)
  let seeded = false;
  let active = null;
  let mode = 'connecting';
  const timers = [];
  let stopped = false;

  function setActive(n) {
    active = n;
    tiles.active.value.textContent = String(n);
    chart.push(Date.now(), n);
    chart.draw();
  }

  function showError(where, err) {
    errors.replaceChildren(alertBox(`${where}: ${err instanceof ApiError ? err.describe() : err}`));
  }

  // At hundreds of calls per second, events arrive faster than a table should be rebuilt:
  // render at most every RENDER_MS, and only the MAX_ROWS longest-running calls.
  let renderPending = null;
  function renderCalls() {
    if (renderPending) return;
    renderPending = setTimeout(() => {
      renderPending = null;
      if (stopped) return;
      const rows = [...calls.values()].sort((a, b) => String(a.started_at).localeCompare(String(b.started_at)));
      fillRows(tbody, columns, rows.slice(0, MAX_ROWS), 'No calls in progress');
      if (rows.length > MAX_ROWS) {
        tbody.append(h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, `… and ${rows.length - MAX_ROWS} more calls`)));
      }
      if (seeded) setActive(calls.size);
    }, RENDER_MS);
  }

  /** Forgets ended calls after a minute (they only guard against stale snapshots). */
  function pruneEnded() {
    const cutoff = Date.now() - 60000;
    for (const [id, t] of ended) if (t < cutoff) ended.delete(id); else break;
  }

  function hangupButton(r) {
    const b = h('button', { type: 'button', class: 'small danger', 'aria-label': `Hang up call ${r.caller} to ${r.callee}` }, 'Hang up');
    b.addEventListener('click', async () => {
      b.disabled = true;
      try { await api(`/api/v1/calls/${encodeURIComponent(r.id)}`, { method: 'DELETE' }); } catch (e) { showError('Hang up', e); b.disabled = false; }
    });
    return b;
  }

  async function loadStats() {
    try {
      const s = await api('/api/v1/stats');
      if (stopped) return;
      // while the live table is authoritative, the tile follows it; else the stats
      if (!(seeded && mode === 'live')) setActive(s.active_calls);
      tiles.cps.value.textContent = Number(s.cps_1m).toFixed(2);
      tiles.registrations.value.textContent = String(s.registrations);
      tiles.total.value.textContent = String(s.calls_total);
      tiles.uptime.value.textContent = fmtDuration(s.uptime_s);
      errors.replaceChildren();
    } catch (e) { if (!stopped) showError('Stats', e); }
  }

  async function loadCalls() {
    if (!canListCalls) return;
    try {
      const list = await api('/api/v1/calls');
      if (stopped) return;
      pruneEnded();
      calls.clear();
      for (const c of list) if (!ended.has(c.id)) calls.set(c.id, c);
      seeded = true;
      renderCalls();
    } catch (e) { if (!stopped) showError('Live calls', e); }
  }

  function onEvent(ev) {
    const d = ev.data || {};
    if (ev.type === 'campaign.stats' && d.campaign_id) { onCampaignStats(d); return; }
    if (ev.topic !== 'call' || !d.id) return;
    if (ev.type === 'call.ended') {
      calls.delete(d.id);
      ended.set(d.id, Date.now());
    } else if (!ended.has(d.id)) {
      calls.set(d.id, { ...calls.get(d.id), ...d });
    }
    if (canListCalls) renderCalls();
    clearTimeout(statsSoon);
    statsSoon = setTimeout(loadStats, 300);
  }
  let statsSoon = null;

  function onMode(m, reason) {
    mode = m;
    feed.dataset.mode = m;
    feed.textContent = m === 'live'
      ? 'Live: WebSocket event stream'
      : `Polling every ${POLL_MS / 1000} s (${reason || 'event stream unavailable'})`;
    if (m === 'live') { loadCalls(); loadStats(); }
  }

  const stream = new EventStream(['call', 'campaign'], onEvent, onMode);
  stream.start();

  // polling fallback, and the slower refresh of what has no events
  let lastStats = 0;
  timers.push(setInterval(() => {
    const now = Date.now();
    if (mode !== 'live') { loadCalls(); loadStats(); lastStats = now; } else if (now - lastStats >= STATS_LIVE_MS) { loadStats(); lastStats = now; }
  }, POLL_MS));
  // the chart moves on every second; durations tick
  timers.push(setInterval(() => {
    pruneEnded();
    if (active !== null) chart.push(Date.now(), active);
    chart.draw();
    for (const row of tbody.querySelectorAll('tr[data-id]')) {
      const c = calls.get(row.dataset.id);
      const cell = row.children[4];
      if (c && cell) cell.textContent = fmtDuration(since(c.answered_at || c.started_at));
    }
  }, 1000));

  async function loadPanels() {
    for (const p of laterPanels) {
      if (!canListCalls && p.path !== '/api/v1/agents') {
        // supervisor data: an agent token would only get 403
        p.body.replaceChildren(h('p', { class: 'muted' }, `${p.what} need the supervisor role.`));
        continue;
      }
      const r = await probe(p.path);
      if (stopped) return;
      p.el.dataset.available = String(r.available);
      if (!r.available) { p.body.replaceChildren(notAvailable(p.what)); continue; }
      if (r.error) { p.body.replaceChildren(alertBox(r.error.describe ? r.error.describe() : String(r.error))); continue; }
      const list = Array.isArray(r.data) ? r.data : (r.data && Array.isArray(r.data.items) ? r.data.items : []);
      const rows = p.rows ? p.rows(list) : list;
      p.body.replaceChildren(table(p.title, p.columns || columnsFor(rows, p.preferred), rows, `No ${p.what.toLowerCase()}`));
    }
  }
  loadStats();
  loadCalls();
  loadPanels();
  timers.push(setInterval(loadPanels, PANELS_MS));
  chart.draw();

  return () => {
    stopped = true;
    stream.stop();
    clearTimeout(statsSoon);
    clearTimeout(renderPending);
    for (const t of timers) clearInterval(t);
  };
}
