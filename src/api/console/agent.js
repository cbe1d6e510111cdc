// Agent desktop, against the ACD and dialer routes (GET /api/v1/openapi.json, tag "acd"):
//   GET  /api/v1/agents                      → [{id, state, reason, time_in_state_s, …}] (an agent token: itself)
//   POST /api/v1/agents/{id}/state           {state: available|paused|logged_out, reason?} → 204
//   GET  /api/v1/agents/{id}/call            → {campaign_id, campaign_name, lead_id, call_id, phone, fields,
//                                               bridged_at_ms, ended, disposition_required, script,
//                                               dispositions: [code], disposition_effects: {code: effect}} | 404 none
//   POST /api/v1/agents/{id}/disposition     {code, note?, callback_at? (RFC 3339), dnc_global?}
//                                            → {lead_id, code, next, callback_at} | 422 naming code / callback_at
//   POST /api/v1/agents/{id}/preview/dial    → 202 (preview mode: call the offered lead, own phone first)
//   POST /api/v1/agents/{id}/preview/skip    → 204 (the lead goes back unattempted, the next is offered)
// The call's `state` is preview (offered: Dial / Skip buttons), dialing or connected.
// An agent token acts for its own agent (whoami.agent); a supervisor picks one. The screen pop
// is polled and reloaded on `agent` events.

import { api, probe, EventStream, ApiError } from './api.js';
import { h, field, panel, alertBox, fmtDuration } from './dom.js';

export const ENDPOINTS = {
  list: '/api/v1/agents',
  state: (id) => `/api/v1/agents/${encodeURIComponent(id)}/state`,
  call: (id) => `/api/v1/agents/${encodeURIComponent(id)}/call`,
  disposition: (id) => `/api/v1/agents/${encodeURIComponent(id)}/disposition`,
  previewDial: (id) => `/api/v1/agents/${encodeURIComponent(id)}/preview/dial`,
  previewSkip: (id) => `/api/v1/agents/${encodeURIComponent(id)}/preview/skip`,
};

const PAUSE_REASONS = ['Break', 'Lunch', 'Training', 'Meeting', 'Coaching', 'Other'];
const CALL_MS = 3000;
const AGENTS_MS = 10000;

/** "not_interested" → "Not interested"; "do_not_call" → "Do not call". */
export function codeLabel(code) {
  const s = String(code).replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The disposition request for a code and the form's note, callback time and DNC box. */
export function dispositionBody(code, { note = '', callbackAt = '', dncGlobal = false } = {}) {
  const body = { code };
  if (note.trim()) body.note = note.trim();
  if (callbackAt) body.callback_at = new Date(callbackAt).toISOString();
  if (dncGlobal) body.dnc_global = true;
  return body;
}

function describe(e) { return e instanceof ApiError ? e.describe() : String(e); }

export function mount(main, ctx) {
  const own = ctx.whoami.agent;
  const banner = h('div', { class: 'banner' });
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
  const dncGlobal = h('input', { name: 'dnc_global', type: 'checkbox' });
  const dispOut = h('div', { class: 'result' });
  const dispButtons = h('div', { class: 'actions wrap', role: 'group', 'aria-label': 'Disposition codes' },
    h('p', { class: 'muted' }, 'Disposition buttons appear with a call.'));
  const dispBox = h('fieldset', {}, h('legend', {}, 'Disposition'),
    dispButtons, field('Note', note), field('Callback at', callbackAt),
    h('label', { class: 'check' }, dncGlobal, ' Also add the number to the global do-not-call list'), dispOut);

  main.replaceChildren(h('h1', {}, 'Agent desktop'), banner,
    h('div', { class: 'grid2' },
      panel('State', stateBox),
      panel('Screen pop', pop, h('h3', {}, 'Script'), script)),
    panel('Wrap-up', dispBox));

  const agentId = () => own || pick.value;
  let stopped = false;
  let call = null;     // the current GET /call answer, or null
  let codesKey = '';   // the codes the buttons were built for

  async function setState(state) {
    stateOut.replaceChildren();
    if (!agentId()) return;
    try {
      await api(ENDPOINTS.state(agentId()), { method: 'POST', json: state === 'paused' ? { state, reason: reason.value } : { state } });
      await loadAgents();
    } catch (e) { stateOut.append(alertBox(describe(e))); }
  }

  async function dispose(code) {
    dispOut.replaceChildren();
    if (!agentId() || !call) return;
    const effect = call.disposition_effects?.[code];
    if (effect === 'callback' && !callbackAt.value) {
      dispOut.append(alertBox('A callback needs a time (Callback at).'));
      return;
    }
    try {
      const r = await api(ENDPOINTS.disposition(agentId()), {
        method: 'POST',
        json: dispositionBody(code, { note: note.value, callbackAt: callbackAt.value, dncGlobal: dncGlobal.checked }),
      });
      dispOut.append(h('p', { role: 'status' }, `Disposition saved: ${code}${r.callback_at ? ` (callback ${new Date(r.callback_at).toLocaleString()})` : ''}`));
      note.value = '';
      callbackAt.value = '';
      dncGlobal.checked = false;
      loadCall();
    } catch (e) { dispOut.append(alertBox(describe(e))); }
  }

  function renderButtons(codes) {
    const key = codes.join('|');
    if (key === codesKey) return;
    codesKey = key;
    if (!codes.length) {
      dispButtons.replaceChildren(h('p', { class: 'muted' }, 'Disposition buttons appear with a call.'));
      return;
    }
    dispButtons.replaceChildren(...codes.map((code) => {
      const b = h('button', { type: 'button', class: code === 'do_not_call' ? 'danger' : '' }, codeLabel(code));
      b.addEventListener('click', () => dispose(code));
      return b;
    }));
  }

  async function preview(which) {
    dispOut.replaceChildren();
    if (!agentId()) return;
    try {
      await api(which === 'dial' ? ENDPOINTS.previewDial(agentId()) : ENDPOINTS.previewSkip(agentId()), { method: 'POST' });
      loadCall();
    } catch (e) { pop.append(alertBox(describe(e))); }
  }

  function previewButtons() {
    const dial = h('button', { type: 'button' }, 'Dial');
    dial.addEventListener('click', () => preview('dial'));
    const skip = h('button', { type: 'button', class: 'warn' }, 'Skip');
    skip.addEventListener('click', () => preview('skip'));
    return h('div', { class: 'actions', role: 'group', 'aria-label': 'Preview' }, dial, skip);
  }

  function renderPop(c) {
    call = c;
    if (!c) {
      pop.replaceChildren(h('p', { class: 'muted' }, 'No current call'));
      script.replaceChildren(h('p', { class: 'muted' }, 'The campaign script appears here during a call.'));
      renderButtons([]);
      return;
    }
    const fields = c.fields && typeof c.fields === 'object' ? c.fields : {};
    const status = c.state === 'preview'
      ? h('p', { class: 'notice' }, 'Preview: read the lead, then Dial (your phone rings first) or Skip')
      : c.state === 'dialing'
        ? h('p', { class: 'muted' }, 'Dialling: answer your phone, then the lead is called')
        : h('p', { class: c.ended ? 'notice' : 'muted' }, c.ended
          ? `Call ended${c.disposition_required ? ': a disposition is required before the next call' : ''}`
          : `On the call for ${fmtDuration((Date.now() - c.bridged_at_ms) / 1000)}`);
    pop.replaceChildren(
      h('p', { class: 'pop-head' }, `${c.phone} · ${c.campaign_name}`),
      status,
      ...(c.state === 'preview' ? [previewButtons()] : []),
      h('dl', {}, Object.entries(fields).flatMap(([k, v]) => [h('dt', {}, k.replace(/_/g, ' ')), h('dd', {}, String(v))])));
    script.replaceChildren(c.script ? h('p', {}, c.script) : h('p', { class: 'muted' }, 'No script for this campaign.'));
    // No disposition before the offered lead was called.
    renderButtons(c.state === 'preview' || !Array.isArray(c.dispositions) ? [] : c.dispositions);
  }

  async function loadCall() {
    if (!agentId()) return;
    const r = await probe(ENDPOINTS.call(agentId()));
    if (stopped) return;
    renderPop(r.available && !r.error ? r.data : null);
  }

  async function loadAgents() {
    try {
      const list = await api(ENDPOINTS.list);
      if (stopped) return;
      banner.replaceChildren();
      const rows = Array.isArray(list) ? list : [];
      if (!own) {
        const keep = pick.value;
        pick.replaceChildren(...rows.map((a) => h('option', { value: a.id }, a.id)));
        if (keep && rows.some((a) => a.id === keep)) pick.value = keep;
      }
      const me = rows.find((a) => a.id === agentId());
      stateValue.textContent = me
        ? `${me.state}${me.reason ? ' (' + me.reason + ')' : ''} for ${fmtDuration(me.time_in_state_s)}`
        : 'not an agent of any queue';
    } catch (e) {
      if (stopped) return;
      stateValue.textContent = '—';
      banner.replaceChildren(e instanceof ApiError && e.status === 404
        ? h('p', { class: 'notice', role: 'status' }, 'No ACD queues are configured on this switch.')
        : alertBox(describe(e)));
    }
  }

  pick.addEventListener('change', () => { loadAgents(); loadCall(); });
  const stream = new EventStream(['agent'], (ev) => {
    const d = ev.data || {};
    if (!d.agent || d.agent === agentId()) { loadAgents(); loadCall(); }
  }, () => {});
  loadAgents().then(() => { loadCall(); if (!stopped) stream.start(); });
  const timers = [setInterval(loadCall, CALL_MS), setInterval(loadAgents, AGENTS_MS)];
  return () => { stopped = true; for (const t of timers) clearInterval(t); stream.stop(); };
}
