// The console's pure helpers under plain node (no browser, no switch):
//   node --test tests/browser/unit.spec.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { niceMax } from '../../src/api/console/chart.js';
import { fmtDuration, since, columnsFor } from '../../src/api/console/dom.js';
import { query, ApiError } from '../../src/api/console/api.js';

test('chart scale tops are 1, 2, 5 × 10^n at or above the peak', () => {
  assert.equal(niceMax(0), 1);
  assert.equal(niceMax(-3), 1);
  assert.equal(niceMax(NaN), 1);
  assert.equal(niceMax(1), 1);
  assert.equal(niceMax(1.5), 2);
  assert.equal(niceMax(3), 5);
  assert.equal(niceMax(7), 10);
  assert.equal(niceMax(10), 10);
  assert.equal(niceMax(11), 20);
  assert.equal(niceMax(480), 500);
  assert.equal(niceMax(501), 1000);
});

test('durations read m:ss below an hour and h:mm:ss above', () => {
  assert.equal(fmtDuration(0), '0:00');
  assert.equal(fmtDuration(65), '1:05');
  assert.equal(fmtDuration(3599.6), '1:00:00');
  assert.equal(fmtDuration(3723), '1:02:03');
  assert.equal(fmtDuration(-4), '0:00');
  assert.equal(fmtDuration(null), '—');
  assert.equal(fmtDuration(undefined), '—');
});

test('since() is seconds from an RFC 3339 instant, null for garbage', () => {
  const now = Date.parse('2026-11-24T08:00:10.000Z');
  assert.equal(since('2026-11-24T08:00:00.000Z', now), 10);
  assert.equal(since('not a time', now), null);
});

test('tables of unknown rows put preferred keys first and keep every other key', () => {
  const cols = columnsFor([{ z: 1, name: 'q1', waiting: 2 }, { extra: true, name: 'q2' }], ['name', 'waiting', 'absent']);
  assert.deepEqual(cols.map((c) => c.key), ['name', 'waiting', 'z', 'extra']);
  assert.equal(cols[0].label, 'name');
  assert.deepEqual(columnsFor([], ['name']), []);
});

test('query strings drop empty values and encode the rest', () => {
  assert.equal(query({}), '');
  assert.equal(query({ caller: '', callee: '2002', limit: 100, status: null }), '?callee=2002&limit=100');
  assert.equal(query({ since: '2026-11-24T08:00:00.000Z' }), '?since=2026-11-24T08%3A00%3A00.000Z');
});

test('API errors read as code: message [field] (status)', () => {
  assert.equal(new ApiError(401, 'unauthorized', 'missing or unknown API token').describe(),
    'unauthorized: missing or unknown API token (401)');
  assert.equal(new ApiError(422, 'unprocessable', 'limit: must be 1-1000', 'limit').describe(),
    'unprocessable: limit: must be 1-1000 [limit] (422)');
});

import { toDefinition, minutes, fieldsOf, campaignRow, pct } from '../../src/api/console/campaigns.js';
import { codeLabel, dispositionBody } from '../../src/api/console/agent.js';

test('the create form becomes a campaign definition with the API field names', () => {
  assert.equal(minutes('08:30'), 510);
  assert.equal(minutes('21:00'), 1260);
  assert.equal(minutes(''), null);
  assert.deepEqual(toDefinition({
    name: 'Spring', trunk: 'carrier', caller_id: '+14155550100', queue: 'sales', dial_mode: 'predictive',
    regime: 'uk_ofcom', abandon_target_pct: '2.5', ring_timeout_s: '25', window_start: '09:00', window_end: '20:30', script: 'Hi',
  }), {
    name: 'Spring', trunk: 'carrier', caller_id: '+14155550100', agents: { queue: 'sales' }, dial_mode: 'predictive',
    abandon: { rate: 0.025, regime: 'uk_ofcom' }, ring_timeout_s: 25, window: { open_min: 540, close_min: 1230 }, script: 'Hi',
  });
  const minimal = toDefinition({ name: 'x', trunk: 't', caller_id: '+1', queue: 'q', dial_mode: 'preview', abandon_target_pct: '', ring_timeout_s: '', window_start: '', window_end: '', script: '' });
  assert.deepEqual(Object.keys(minimal), ['name', 'trunk', 'caller_id', 'agents', 'dial_mode']);
});

test('a 422 names every field at fault', () => {
  const e = new ApiError(422, 'unprocessable', 'invalid campaign: name: must not be empty; abandon.rate: 0.05 must be above 0; ring_timeout_s: 10 s is outside 15–120 s', 'name');
  assert.deepEqual(fieldsOf(e), ['name', 'abandon.rate', 'ring_timeout_s']);
  assert.deepEqual(fieldsOf(new Error('x')), []);
});

test('campaign rows show live figures against the target, or dashes when not running', () => {
  const running = campaignRow({ id: 'c', name: 'Spring', state: 'running', dial_mode: 'predictive', counts: { ready: 5, total: 9 },
    abandon: { rate: 0.03 }, live: { abandon_rate: 0.0213, abandon_target: 0.03, dial_level: 1.4, talk_utilisation: 0.8123 } });
  assert.equal(running.abandon, '2.13 % (target 3.0 %)');
  assert.equal(running.dial_level, '1.40');
  assert.equal(running.utilisation, '81.2 %');
  assert.equal(running.leads, '5 ready / 9');
  const draft = campaignRow({ id: 'd', name: 'Autumn', state: 'draft', abandon: { rate: 0.02 }, live: null });
  assert.equal(draft.abandon, '— (target 2.0 %)');
  assert.equal(draft.dial_level, '—');
  assert.equal(pct(null), '—');
});

test('disposition requests carry only what the agent gave', () => {
  assert.equal(codeLabel('not_interested'), 'Not interested');
  assert.deepEqual(dispositionBody('sale', { note: '  ' }), { code: 'sale' });
  assert.deepEqual(dispositionBody('do_not_call', { note: 'angry', dncGlobal: true }), { code: 'do_not_call', note: 'angry', dnc_global: true });
  const cb = dispositionBody('callback', { callbackAt: '2030-01-02T03:04' });
  assert.equal(cb.code, 'callback');
  assert.equal(new Date(cb.callback_at).getTime(), new Date('2030-01-02T03:04').getTime());
});
