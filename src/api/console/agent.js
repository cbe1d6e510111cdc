// Agent desktop, laid out against the ACD/dialer endpoints that arrive with those issues
// (until the agent endpoint answers, the desktop is disabled under "not available yet"):
//   GET  /api/v1/agents                    → [{id, name, state, reason?, …}] (supervisor)
//   GET  /api/v1/agents/{id}               → {id, name, state, reason?, state_since?}
//   POST /api/v1/agents/{id}/state         {state: available|paused|logged_out, reason?}
//   GET  /api/v1/agents/{id}/call          → {caller, campaign?, lead?: {…}, script?} | 404 none
//   POST /api/v1/agents/{id}/disposition   {code, note?, callback_at?}
// An agent token acts for its own agent (whoami.agent); a supervisor picks one.

import { api, probe, EventStream, ApiError } from './api.js';
import { h, field, panel, notAvailable, alertBox, fmtDuration, since } from './dom.js';

export const ENDPOINTS = {
  list: '/api/v1/agents',
  one: (id) => `/api/v1/agents/${encodeURIComponent(id)}`,
  state: (id) => `/api/v1/agents/${encodeURIComponent(id)}/state`,
  call: (id) => `/api/v1/agents/${encodeURIComponent(id)}/call`,
  disposition: (id) => `/api/v1/agents/${encodeURIComponent(id)}/disposition`,
};

const PAUSE_REASONS = ['Break', 'Lunch', 'Training', 'Meeting', 'Coaching', 'Other'];
const DISPOSITIONS = [
  ['sale', 'Sale'], ['no_sale', 'No sale'], ['callback', 'Callback'],
  ['not_interested', 'Not interested'], ['wrong_number', 'Wrong number'], ['dnc', 'Do not call'],
];

function describe(e) { return e instanceof ApiError ? e.describe() : String(e); }

export function mount(main, ctx) {
  const own = ctx.whoami.agent;
  const banner = h('div', { class: 'banner' }, h('p', { class: 'muted' }, 'Checking the agent API…'));
  const pick = h('select', { name: 'agent' });
  const stateValue = h('output', { class: 'tile-value', 'aria-labelledby': 'a-state' }, '—');
  const stateOut = h('div', { class: 'result' });

  const reason = h('select', { name: 'reason' }, PAUSE_REASONS.map((r) => h('option', { value: r.toLowerCase() }, r)));
  const stateButtons = [
    ['available', 'Available'], ['paused', 'Pause'], ['logged_out', 'Log out of queues'],
  ].map(([state, label]) => {
    const b = h('button', { type: 'button', class: state === 'paused' ? 'warn' : '' }, label);
    b.addEventListener('click', () => setState(state));
    return b;
  });
  const stateBox = h('fieldset', {}, h('legend', {}, 'My state'),
    own ? h('p', {}, `Agent ${own}`) : field('Agent', pick),
    h('div', { class: 'tile' }, h('span', { id: 'a-state', class: 'tile-label' }, 'Agent state'), stateValue),
    field('Pause reason', reason),
    h('div', { class: 'actions' }, stateButtons), stateOut);

  const pop = h('div', { class: 'screen-pop', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'No current call'));
  const script = h('div', { class: 'script' }, h('p', { class: 'muted' }, 'The campaign script appears here during a call.'));

  const note = h('textarea', { name: 'note', rows: 3 });
  const callbackAt = h('input', { name: 'callback_at', type: 'datetime-local' });
  const dispOut = h('div', { class: 'result' });
  const dispButtons = DISPOSITIONS.map(([code, label]) => {
    const b = h('button', { type: 'button' }, label);
    b.addEventListener('click', () => dispose(code));
    return b;
  });
  const dispBox = h('fieldset', {}, h('legend', {}, 'Disposition'),
    h('div', { class: 'actions wrap' }, dispButtons),
    field('Note', note), field('Callback at', callbackAt), dispOut);

  main.replaceChildren(h('h1', {}, 'Agent desktop'), banner,
    h('div', { class: 'grid2' },
      panel('State', stateBox),
      panel('Screen pop', pop, h('h3', {}, 'Script'), script)),
    panel('Wrap-up', dispBox));

  const forms = [stateBox, dispBox];
  const agentId = () => own || pick.value;
  let stopped = false;

  async function setState(state) {
    stateOut.replaceChildren();
    if (!agentId()) return;
    try {
      await api(ENDPOINTS.state(agentId()), { method: 'POST', json: state === 'paused' ? { state, reason: reason.value } : { state } });
      await loadAgent();
    } catch (e) { stateOut.append(alertBox(describe(e))); }
  }

  async function dispose(code) {
    dispOut.replaceChildren();
    if (!agentId()) return;
    const body = { code };
    if (note.value.trim()) body.note = note.value.trim();
    if (callbackAt.value) body.callback_at = new Date(callbackAt.value).toISOString();
    else if (code === 'callback') { dispOut.append(alertBox('A callback needs a time (Callback at).')); return; }
    try {
      await api(ENDPOINTS.disposition(agentId()), { method: 'POST', json: body });
      dispOut.append(h('p', { role: 'status' }, `Disposition saved: ${code}`));
      note.value = '';
      callbackAt.value = '';
    } catch (e) { dispOut.append(alertBox(describe(e))); }
  }

  function renderPop(call) {
    if (!call) {
      pop.replaceChildren(h('p', { class: 'muted' }, 'No current call'));
      return;
    }
    const lead = call.lead && typeof call.lead === 'object' ? call.lead : {};
    pop.replaceChildren(
      h('p', { class: 'pop-head' }, `${call.caller ?? ''}${call.campaign ? ' · ' + call.campaign : ''}`),
      h('dl', {}, Object.entries(lead).flatMap(([k, v]) => [h('dt', {}, k.replace(/_/g, ' ')), h('dd', {}, String(v))])));
    script.replaceChildren(call.script ? h('p', {}, call.script) : h('p', { class: 'muted' }, 'No script for this campaign.'));
  }

  async function loadAgent() {
    if (!agentId()) return;
    try {
      const a = await api(ENDPOINTS.one(agentId()));
      if (stopped) return;
      const t = a.state_since ? ` for ${fmtDuration(since(a.state_since))}` : '';
      stateValue.textContent = `${a.state}${a.reason ? ' (' + a.reason + ')' : ''}${t}`;
    } catch (e) { if (!stopped) stateOut.replaceChildren(alertBox(describe(e))); }
    const c = await probe(ENDPOINTS.call(agentId()));
    if (!stopped) renderPop(c.available && !c.error ? c.data : null);
  }

  async function init() {
    const r = await probe(own ? ENDPOINTS.one(own) : ENDPOINTS.list);
    if (stopped) return;
    const ok = r.available && !r.error;
    for (const f of forms) f.disabled = !ok;
    if (!r.available) { banner.replaceChildren(notAvailable('Agent desktop')); return false; }
    if (r.error) { banner.replaceChildren(alertBox(describe(r.error))); return false; }
    banner.replaceChildren();
    if (!own) {
      const rows = Array.isArray(r.data) ? r.data : [];
      const keep = pick.value;
      pick.replaceChildren(...rows.map((a) => h('option', { value: a.id }, a.name ? `${a.name} (${a.id})` : a.id)));
      if (keep) pick.value = keep;
    }
    await loadAgent();
    return true;
  }

  pick.addEventListener('change', loadAgent);
  for (const f of forms) f.disabled = true;
  const stream = new EventStream(['agent'], (ev) => {
    const d = ev.data || {};
    if (!d.agent || d.agent === agentId()) loadAgent();
  }, () => {});
  init().then((ok) => { if (ok && !stopped) stream.start(); });
  const timer = setInterval(() => { if (!stopped) init(); }, 10000);
  return () => { stopped = true; clearInterval(timer); stream.stop(); };
}
