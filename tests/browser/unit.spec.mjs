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
