// The web console in headless Chromium (playwright-core + Debian chromium), against a
// running switch started by tests/browser/run.sh, which passes:
//   BASE_URL, API_TOKEN (admin), CALL_SCRIPT (places one SIPp call: `CALL_SCRIPT HOLD_MS`),
//   ARTIFACTS (screenshots, the exported CSV), CHROMIUM, USER_DATA_DIR (fresh profile).
// The tests run in order and share one page: log in wrong, log in right, watch a real call
// on the wallboard (over the WebSocket stream, then with the stream blocked: polling), find
// it in Calls history and export it, run a campaign in the campaign manager (field errors, a
// list with a bad row, start, pause, results export) and see it on the wallboard, then the
// agent desktop (its dialer lead mocked: no dialer runs here).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const TOKEN = process.env.API_TOKEN;
const AGENT_TOKEN = process.env.AGENT_TOKEN;
const CALL_SCRIPT = process.env.CALL_SCRIPT;
const ART = process.env.ARTIFACTS || 'target/browser-artifacts';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const USER_DATA_DIR = process.env.USER_DATA_DIR;
if (!BASE || !TOKEN || !CALL_SCRIPT || !USER_DATA_DIR) {
  throw new Error('run me through tests/browser/run.sh (BASE_URL, API_TOKEN, CALL_SCRIPT, USER_DATA_DIR)');
}

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let context, page;
let blockEvents = false; // the event stream's route (installed by the polling test) closes it while true
const placed = []; // every call placed, stopped in after() so no SIPp outlives a failed test
const pageErrors = [];
const consoleErrors = [];

before(async () => {
  await mkdir(ART, { recursive: true });
  // launchPersistentContext passes --headless and --user-data-dir (a fresh directory) itself
  context = await chromium.launchPersistentContext(USER_DATA_DIR, {
    executablePath: CHROMIUM, headless: true, args: FLAGS,
    viewport: { width: 1280, height: 800 }, acceptDownloads: true,
  });
  context.setDefaultTimeout(10000);
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // the browser logs every non-2xx fetch; 401 (wrong token), 404 (later endpoints) and 422 (the bad search) are expected
    if (/Failed to load resource: the server responded with a status of (401|404|422)/.test(m.text())) return;
    consoleErrors.push(m.text());
  });
});

after(async () => {
  for (const c of placed) c.stop();
  if (context) await context.close();
});

const shot = (name) => page.screenshot({ path: path.join(ART, `${name}.png`), fullPage: true });
const activeCalls = () => page.getByRole('status', { name: 'Active calls' });

/** Polls fn until it returns true (Playwright's expect is not in playwright-core). */
async function until(what, fn, timeout = 10000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last === true) return; } catch (e) { last = e.message; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** Laid out for 1280×800: nothing wider than the window. */
async function fitsWidth(what) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(w <= 1280, `${what} is ${w} px wide at 1280×800`);
}

const text = async (locator) => (await locator.textContent())?.trim();

/**
 * Places one SIPp call (2001 → 2002, answered, held holdMs). The promise resolves with
 * the script's exit code and output; .stop() ends the script and its SIPps (its own
 * process group).
 */
function placeCall(holdMs) {
  const p = spawn(CALL_SCRIPT, [String(holdMs)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const done = new Promise((resolve) => p.on('close', (code) => resolve({ code, out })));
  done.stop = () => { try { process.kill(-p.pid, 'SIGTERM'); } catch { /* already gone */ } };
  placed.push(done);
  return done;
}

/** Is an API endpoint there yet (not 404)? Decides what the later pages must show. */
async function exists(apiPath) {
  const r = await fetch(BASE + apiPath, { headers: { Authorization: `Bearer ${TOKEN}` } });
  return r.status !== 404;
}

async function checkLaterPanel(name, apiPath, container) {
  if (await exists(apiPath)) {
    await until(`${name} data`, async () => (await container.getByRole('table').count()) > 0);
  } else {
    await until(`${name} "not available yet"`,
      async () => (await container.getByText(/not available yet/).count()) > 0);
  }
}

test('the console is served at / and loads without errors', async () => {
  const res = await page.goto(BASE + '/');
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'] || '', /script-src 'self'/);
  await page.getByLabel('API token').waitFor();
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).isVisible(), false);
});

test('a wrong token shows the API error and stays on the login page', async () => {
  await page.getByLabel('API token').fill('wrong-token-0123456789');
  await page.getByRole('button', { name: 'Log in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const msg = await text(alert);
  assert.match(msg, /unauthorized/);
  assert.match(msg, /missing or unknown API token/);
  assert.match(msg, /401/);
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).isVisible(), false);
  await shot('01-login-wrong-token');
});

test('the right token opens the wallboard with a live event stream', async () => {
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Wallboard', level: 1 }).waitFor();
  const nav = page.getByRole('navigation', { name: 'Main' });
  assert.equal(await nav.getByRole('link', { name: 'Wallboard' }).getAttribute('aria-current'), 'page');
  assert.match(await text(page.locator('#who')), /browser test \(admin\)/);
  await until('the live feed', async () => /^Live: WebSocket/.test(await text(page.getByRole('status', { name: 'Live feed' }))));
  await until('active calls 0', async () => (await text(activeCalls())) === '0');
  await until('registrations tile', async () => /^\d+$/.test(await text(page.getByRole('status', { name: 'Registrations' }))));
  await checkLaterPanel('queues', '/api/v1/queues', page.getByRole('region', { name: 'Queues' }));
  await checkLaterPanel('agents', '/api/v1/agents', page.getByRole('region', { name: 'Agents' }));
  await checkLaterPanel('campaigns', '/api/v1/campaigns', page.getByRole('region', { name: 'Campaign panels' }));
  await fitsWidth('the wallboard');
  await shot('02-wallboard');
});

test('a SIPp call shows up live on the wallboard (WebSocket) and goes away when it ends', async () => {
  const call = placeCall(6000);
  await until('active calls 1', async () => (await text(activeCalls())) === '1', 15000);
  const row = page.getByRole('table', { name: 'Live calls' }).getByRole('row').filter({ hasText: '2002' });
  await until('the live call row', async () => (await row.count()) === 1);
  assert.match(await text(row), /2001/);
  await until('the chart at 1', async () => (await page.locator('#active-chart').getAttribute('data-latest')) === '1');
  assert.match(await page.locator('#active-chart').getAttribute('aria-label'), /now 1/);
  // it came over the stream: the feed never fell back to polling
  assert.match(await text(page.getByRole('status', { name: 'Live feed' })), /^Live: WebSocket/);
  await shot('03-wallboard-call');
  const r = await call;
  assert.equal(r.code, 0, `SIPp call failed: ${r.out}`);
  await until('active calls back to 0', async () => (await text(activeCalls())) === '0', 10000);
  assert.equal(await row.count(), 0);
  await until('calls since start ≥ 1', async () => Number(await text(page.getByRole('status', { name: 'Calls since start' }))) >= 1);
  // 2002 registered for the call: the stats tile counts it
  await until('registrations ≥ 1', async () => Number(await text(page.getByRole('status', { name: 'Registrations' }))) >= 1, 10000);
});

test('without the WebSocket the wallboard falls back to polling and still sees the call', async () => {
  blockEvents = true;
  await page.routeWebSocket(/\/api\/v1\/events/, (ws) => {
    if (blockEvents) ws.close({ code: 1011, reason: 'blocked by test' }); else ws.connectToServer();
  });
  await page.reload();
  await page.getByRole('heading', { name: 'Wallboard', level: 1 }).waitFor();
  await until('the polling feed', async () => /^Polling/.test(await text(page.getByRole('status', { name: 'Live feed' }))));
  const call = placeCall(5000);
  await until('active calls 1 (polling)', async () => (await text(activeCalls())) === '1', 15000);
  await until('the polled call row', async () => (await page.getByRole('table', { name: 'Live calls' }).getByRole('row').filter({ hasText: '2002' }).count()) === 1);
  await shot('04-wallboard-polling');
  const r = await call;
  assert.equal(r.code, 0, `SIPp call failed: ${r.out}`);
  await until('active calls back to 0 (polling)', async () => (await text(activeCalls())) === '0', 10000);
  blockEvents = false;
  // the stream comes back by itself (reconnect with backoff) and the page goes live again
  await until('live again', async () => /^Live: WebSocket/.test(await text(page.getByRole('status', { name: 'Live feed' }))), 20000);
});

test('a busy switch: the live table shows the 200 longest calls and counts the rest (mocked)', async () => {
  const many = Array.from({ length: 250 }, (_, i) => ({
    id: `busy-${i}`, caller: `1${String(i).padStart(3, '0')}`, callee: '2002', state: 'answered',
    started_at: new Date(Date.now() - (250 - i) * 1000).toISOString(), answered_at: null,
  }));
  blockEvents = true;
  await mock('GET', '/api/v1/calls', { json: many });
  await mock('GET', '/api/v1/stats', { json: { active_calls: 250, calls_total: 900, registrations: 1, uptime_s: 60, cps_1m: 4.5 } });
  await page.reload();
  await until('active calls 250', async () => (await text(activeCalls())) === '250');
  const table = page.getByRole('table', { name: 'Live calls' });
  await until('200 rows and a remainder', async () => (await table.getByRole('button', { name: /^Hang up call/ }).count()) === 200);
  await table.getByText('… and 50 more calls').waitFor();
  // the oldest call first
  assert.match(await text(table.getByRole('row').nth(1)), /^1000\s*2002/);
  await page.unrouteAll({ behavior: 'wait' });
  blockEvents = false;
  await page.reload();
  await until('live again', async () => /^Live: WebSocket/.test(await text(page.getByRole('status', { name: 'Live feed' }))), 20000);
  await until('active calls 0 again', async () => (await text(activeCalls())) === '0');
});

test('the calls appear in Calls history and export as CSV', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calls history' }).click();
  await page.getByRole('heading', { name: 'Calls history', level: 1 }).waitFor();
  await page.getByLabel('Callee').fill('2002');
  await page.getByLabel('Status').selectOption('answered');
  await page.getByRole('button', { name: 'Search' }).click();
  const rows = page.getByRole('table', { name: 'Call records' }).getByRole('row').filter({ hasText: '2002' });
  await until('two answered calls to 2002', async () => (await rows.count()) === 2);
  assert.match(await text(rows.first()), /2001.*2002.*answered.*200/s);
  assert.match(await text(page.getByRole('status', { name: 'Search result' })), /^2 calls$/);
  await fitsWidth('calls history');
  await shot('05-calls-history');

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export CSV' }).click(),
  ]);
  const file = path.join(ART, 'cdrs.csv');
  await download.saveAs(file);
  const csv = (await readFile(file, 'utf8')).trim().split(/\r?\n/);
  assert.match(csv[0], /caller/);
  assert.equal(csv.length, 3, `header + 2 calls, got:\n${csv.join('\n')}`);
  assert.ok(csv.slice(1).every((l) => l.includes('2001') && l.includes('2002')), csv.join('\n'));
  // the token never went into the link
  assert.doesNotMatch(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href'), /token/);
});

test('a bad search value shows the field the API names', async () => {
  await page.getByLabel('Caller').fill('');
  // the browser's own validation stops limit=0; the API's check is the one under test
  await page.locator('form[aria-label="Search calls"]').evaluate((f) => { f.noValidate = true; });
  await page.getByLabel('Limit').fill('0');
  await page.getByRole('button', { name: 'Search' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await text(alert), /limit/);
  assert.match(await text(alert), /\((400|422)\)/);
  assert.equal(await page.getByLabel('Limit').getAttribute('aria-invalid'), 'true');
});

test('a supervisor hangs up a live call from the wallboard', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Wallboard' }).click();
  await until('the live feed', async () => /^Live: WebSocket/.test(await text(page.getByRole('status', { name: 'Live feed' }))));
  const call = placeCall(30000);
  try {
    await until('active calls 1', async () => (await text(activeCalls())) === '1', 15000);
    await page.getByRole('button', { name: 'Hang up call 2001 to 2002' }).click();
    await until('active calls 0 after hang-up', async () => (await text(activeCalls())) === '0', 10000);
    // the caller's SIPp gets our BYE in the middle of its pause: it fails, as it should
    const r = await Promise.race([call, new Promise((res) => setTimeout(() => res(null), 15000))]);
    assert.ok(r === null || r.code !== 0, 'the caller finished its call normally: the hang-up did nothing');
  } finally {
    call.stop();
    await call;
  }
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Calls history' }).click();
  await page.getByLabel('Callee').fill('2002');
  await page.getByRole('button', { name: 'Search' }).click();
  const rows = page.getByRole('table', { name: 'Call records' }).getByRole('row').filter({ hasText: 'admin_hangup' });
  await until('the hung-up call in history', async () => (await rows.count()) === 1);
});

test('campaign manager: create with field errors, upload a list with a bad row, start, pause, export', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Campaigns' }).click();
  await page.getByRole('heading', { name: 'Campaigns', level: 1 }).waitFor();
  for (const name of ['Create campaign', 'Upload leads']) await page.getByRole('form', { name }).waitFor();
  assert.equal(await page.getByText(/not available yet/).count(), 0);

  // A bad definition: the API names every field at fault and the form marks them.
  const create = page.getByRole('form', { name: 'Create campaign' });
  await create.getByLabel('Name', { exact: true }).fill('Spring');
  await create.getByLabel('Trunk').fill('carrier');
  await create.getByLabel('Caller ID').fill('not a number');
  await create.getByLabel('Queue').fill('sales');
  await create.getByLabel('Dial mode').selectOption('predictive');
  await page.locator('form[aria-label="Create campaign"]').evaluate((f) => { f.noValidate = true; });
  await create.getByLabel('Ring timeout (s)').fill('10');
  await create.getByRole('button', { name: 'Create campaign' }).click();
  const alert = create.getByRole('alert');
  await alert.waitFor();
  assert.match(await text(alert), /caller_id: .*ring_timeout_s: 10 s is outside 15–120 s.*\(422\)/);
  assert.equal(await create.getByLabel('Caller ID').getAttribute('aria-invalid'), 'true');
  assert.equal(await create.getByLabel('Ring timeout (s)').getAttribute('aria-invalid'), 'true');
  assert.equal(await create.getByLabel('Trunk').getAttribute('aria-invalid'), null);
  await shot('06-campaign-field-errors');

  // Fixed: created as a draft.
  await create.getByLabel('Caller ID').fill('+14155550100');
  await create.getByLabel('Ring timeout (s)').fill('20');
  await create.getByLabel('Agent script').fill('Hello, this is Spring calling.');
  await create.getByRole('button', { name: 'Create campaign' }).click();
  await create.getByText('Created campaign Spring (draft)').waitFor();
  const row = page.getByRole('table', { name: 'Campaigns' }).getByRole('row').filter({ hasText: 'Spring' });
  await until('the campaign row', async () => /draft/.test(await text(row)));

  // A list with a bad row on line 3: reported by line, the good rows load.
  const csv = 'phone,name,city\n+12125550100,Ann,New York\nnot-a-number,Bob,Boston\n(415) 555-0101,Cy,San Francisco\n+12125550100,Ann again,New York\n';
  const upload = page.getByRole('form', { name: 'Upload leads' });
  await upload.getByLabel('Lead list (CSV)').setInputFiles({ name: 'spring.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await upload.getByRole('button', { name: 'Upload' }).click();
  await upload.getByText('Loaded 2 of 4 row(s): 1 row error(s), 1 duplicate(s)').waitFor();
  const errRow = page.getByRole('table', { name: 'Row errors' }).getByRole('row').nth(1);
  assert.match(await text(errRow), /^3\s*\S/);
  const dup = page.getByRole('table', { name: 'Duplicates' }).getByRole('row').filter({ hasText: '+12125550100' });
  assert.match(await text(dup), /^5\s*\+12125550100\s*line 2$/);
  await until('2 ready leads', async () => /2 ready \/ 2/.test(await text(row)));
  await shot('07-campaign-upload-errors');

  // Start: the state shows running; pause: paused.
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.getByText('Campaign Spring: running').waitFor();
  await until('running in the list', async () => /running/.test(await text(row)));
  await until('the State tile', async () => (await text(page.getByRole('status', { name: 'State', exact: true }))) === 'running');
  assert.match(await text(page.getByRole('status', { name: 'Abandon target', exact: true })), /^3\.0 %$/);
  await shot('08-campaign-running');
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByText('Campaign Spring: paused').waitFor();
  await until('paused in the list', async () => /paused/.test(await text(row)));

  // The results export: one row per lead, the list's columns after the fixed ones.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export results (CSV)' }).click(),
  ]);
  const file = path.join(ART, 'campaign-results.csv');
  await download.saveAs(file);
  const lines = (await readFile(file, 'utf8')).trim().split(/\r?\n/);
  assert.match(lines[0], /^lead_id,phone,status,attempts,last_outcome,disposition,.*,city,name$/);
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('+14155550101') && l.includes('San Francisco')), lines.join('\n'));
  await fitsWidth('the campaign manager');
  await shot('09-campaign-paused');
});

test('the wallboard shows the campaign panel from the API', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Wallboard' }).click();
  const panel = page.getByRole('region', { name: 'Campaign panels' });
  const row = panel.getByRole('row').filter({ hasText: 'Spring' });
  await until('the Spring panel row', async () => (await row.count()) === 1);
  assert.match(await text(row), /paused/);
  assert.match(await text(row), /target 3\.0 %/);
  await panel.locator('meter').first().waitFor();

  // Running again: the dialer's per-second campaign.stats feed the live charts.
  const auth = { authorization: `Bearer ${TOKEN}` };
  const list = await (await fetch(`${BASE}/api/v1/campaigns`, { headers: auth })).json();
  const spring = list.find((c) => c.name === 'Spring');
  const act = async (verb) => {
    const r = await fetch(`${BASE}/api/v1/campaigns/${spring.id}/${verb}`, { method: 'POST', headers: auth });
    assert.equal(r.status, 200, `${verb}: ${await r.text()}`);
  };
  await act('start');
  try {
    const chart = page.locator(`canvas[data-campaign="${spring.id}"][data-series="utilisation"]`);
    await until('the live utilisation chart', async () => (await chart.count()) === 1
      && (await chart.getAttribute('data-latest')) !== '');
    assert.match(await chart.getAttribute('aria-label'), /Talk utilisation % over the last 5 minutes: now/);
    await shot('10-wallboard-campaign-charts');
  } finally {
    await act('pause');
  }
});

test('the agent desktop is laid out against the real switch', async () => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agent desktop' }).click();
  await page.getByRole('heading', { name: 'Agent desktop', level: 1 }).waitFor();
  for (const b of ['Available', 'Pause']) await page.getByRole('button', { name: b, exact: true }).waitFor();
  await page.getByLabel('Pause reason').waitFor();
  await page.getByRole('region', { name: 'Screen pop' }).getByText('No current call').waitFor();
  await page.getByText('Disposition buttons appear with a call.').waitFor();
  await fitsWidth('the agent desktop');
  await shot('10-agent-desktop');
});

// ---- the pages laid out for later endpoints, against the API shapes they expect ----------
// (mocked with page.route: these hold the console to the shapes documented at the top of
// campaigns.js / agent.js until the real endpoints land; then they run against the switch)

/** Serves JSON for one API path (exact, query ignored); records the requests it saw. */
async function mock(method, apiPath, reply) {
  const seen = [];
  const re = new RegExp('^' + BASE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + apiPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '(\\?.*)?$');
  await page.route(re, async (route) => {
    const req = route.request();
    if (req.method() !== method) return route.fallback();
    seen.push({ url: req.url(), body: req.postData(), type: req.headers()['content-type'], auth: req.headers().authorization });
    const r = typeof reply === 'function' ? reply(req, seen.length) : reply;
    await route.fulfill({ status: r.status || 200, contentType: 'application/json', body: JSON.stringify(r.json ?? {}) });
  });
  return seen;
}

test('wallboard panels show queues, agents and campaigns once those endpoints answer (mocked)', async () => {
  await mock('GET', '/api/v1/queues', { json: [{ name: 'sales', waiting: 3, longest_wait_s: 42, service_level: 0.87 }] });
  await mock('GET', '/api/v1/agents', { json: [{ id: '2002', name: 'Bob', state: 'available', time_in_state_s: 12 }] });
  await mock('GET', '/api/v1/campaigns', { json: [{ id: 'c1', name: 'Spring', state: 'running', dial_mode: 'predictive',
    abandon: { rate: 0.03, regime: 'us_ftc' }, counts: { ready: 5, claimed: 0, dialing: 1, done: 3, dnc: 0, total: 9 },
    live: { campaign_id: 'c1', dial_level: 1.4, abandon_rate: 0.021, abandon_target: 0.03, talk_utilisation: 0.8, lines_in_flight: 2 } }] });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Wallboard' }).click();
  const queues = page.getByRole('region', { name: 'Queues' });
  await until('the queue row', async () => (await queues.getByRole('row').filter({ hasText: 'sales' }).count()) === 1);
  assert.match(await text(queues.getByRole('row').filter({ hasText: 'sales' })), /sales\s*3\s*42\s*0\.87/);
  await until('the agent row', async () => (await page.getByRole('region', { name: 'Agents' }).getByRole('row').filter({ hasText: 'Bob' }).count()) === 1);
  assert.match(await text(page.getByRole('region', { name: 'Agents' }).getByRole('row').filter({ hasText: 'Bob' })), /available/);
  const spring = page.getByRole('region', { name: 'Campaign panels' }).getByRole('row').filter({ hasText: 'Spring' });
  await until('the campaign row', async () => (await spring.count()) === 1);
  assert.match(await text(spring), /Spring\s*running\s*5 ready \/ 9\s*2\.10 % \(target 3\.0 %\)\s*1\.40\s*80\.0 %/);
  assert.equal(await page.getByText(/not available yet/).count(), 0);
  await shot('11-wallboard-panels-mocked');
  await page.unrouteAll({ behavior: 'wait' });
});

test('agent desktop: state, pause reason, screen pop, script, disposition codes (call mocked)', async () => {
  // No dialer runs in this switch, so the agent's lead and the ACD are mocked with the API's shapes.
  let state = { id: '2002', endpoint: '2002', state: 'available', reason: null, time_in_state_s: 12, reachable: true, calls: 0, missed: 0, talk_s: 0, wrap_s: 0, pause_s: 0 };
  await mock('GET', '/api/v1/agents', () => ({ json: [state] }));
  await mock('GET', '/api/v1/agents/2002/call', { json: {
    campaign_id: 'c1', campaign_name: 'Spring', lead_id: 'L1', call_id: 'K1', phone: '+15551230001',
    fields: { name: 'Ann', city: 'Boston' }, bridged_at_ms: Date.now() - 65000, ended: false, disposition_required: true,
    script: 'Hello Ann, this is Spring calling.',
    dispositions: ['sale', 'not_interested', 'callback', 'do_not_call'],
    disposition_effects: { sale: 'done', not_interested: 'done', callback: 'callback', do_not_call: 'do_not_call' },
  } });
  const changes = await mock('POST', '/api/v1/agents/2002/state', (req) => {
    const b = JSON.parse(req.postData());
    state = { ...state, state: b.state, reason: b.reason ?? null };
    return { json: state }; // the switch answers 204; the page reads nothing from it
  });
  const dispositions = await mock('POST', '/api/v1/agents/2002/disposition', (req) => {
    const b = JSON.parse(req.postData());
    return { json: { lead_id: 'L1', campaign_id: 'c1', code: b.code, next: b.code === 'callback' ? 'callback' : 'done', callback_at: b.callback_at ?? null } };
  });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agent desktop' }).click();
  // the agent list loads first (as on a slow machine): the select's options must not change its name
  await until('the agent option', async () => (await page.locator('select[name=agent] option[value="2002"]').count()) === 1);
  await page.getByLabel('Agent', { exact: true }).selectOption('2002');
  await until('state available', async () => /^available/.test(await text(page.getByRole('status', { name: 'Agent state' }))));
  const pop = page.getByRole('region', { name: 'Screen pop' });
  await pop.getByText('Boston').waitFor();
  assert.match(await text(pop), /\+15551230001 · Spring/);
  assert.match(await text(pop), /Hello Ann, this is Spring calling\./);
  const codes = page.getByRole('group', { name: 'Disposition codes' });
  await until('four code buttons', async () => (await codes.getByRole('button').count()) === 4);
  assert.deepEqual(await codes.getByRole('button').allTextContents(), ['Sale', 'Not interested', 'Callback', 'Do not call']);

  await page.getByLabel('Pause reason').selectOption('lunch');
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await until('state paused (lunch)', async () => /^paused \(lunch\)/.test(await text(page.getByRole('status', { name: 'Agent state' }))));
  assert.deepEqual(JSON.parse(changes[0].body), { state: 'paused', reason: 'lunch' });

  await codes.getByRole('button', { name: 'Callback', exact: true }).click();
  await page.getByRole('alert').filter({ hasText: 'A callback needs a time' }).waitFor();
  assert.equal(dispositions.length, 0);
  await page.getByLabel('Callback at').fill('2030-01-02T10:30');
  await codes.getByRole('button', { name: 'Callback', exact: true }).click();
  await page.getByText(/^Disposition saved: callback/).waitFor();
  const cb = JSON.parse(dispositions[0].body);
  assert.equal(cb.code, 'callback');
  assert.equal(new Date(cb.callback_at).getTime(), new Date('2030-01-02T10:30').getTime());

  await page.getByLabel('Note').fill('wants the blue one');
  await page.getByLabel(/global do-not-call/).check();
  await codes.getByRole('button', { name: 'Sale', exact: true }).click();
  await page.getByText('Disposition saved: sale').waitFor();
  assert.deepEqual(JSON.parse(dispositions[1].body), { code: 'sale', note: 'wants the blue one', dnc_global: true });
  await shot('12-agent-desktop-mocked');
  await page.unrouteAll({ behavior: 'wait' });
});

test('agent desktop: a preview lead shows Dial and Skip and no disposition codes (call mocked)', async () => {
  const state = { id: '2002', endpoint: '2002', state: 'paused', reason: 'preview', time_in_state_s: 3, reachable: true, calls: 0, missed: 0, talk_s: 0, wrap_s: 0, pause_s: 0 };
  await mock('GET', '/api/v1/agents', { json: [state] });
  let offer = 'L7';
  await mock('GET', '/api/v1/agents/2002/call', () => ({ json: {
    campaign_id: 'c1', campaign_name: 'Spring', lead_id: offer, call_id: '', phone: offer === 'L7' ? '+15551230007' : '+15551230008',
    state: 'preview', fields: { name: offer === 'L7' ? 'Gus' : 'Hal' }, bridged_at_ms: Date.now(), ended: false, disposition_required: true,
    script: 'Hello, this is Spring calling.', dispositions: ['sale'], disposition_effects: { sale: 'done' },
  } }));
  const skips = await mock('POST', '/api/v1/agents/2002/preview/skip', () => { offer = 'L8'; return { status: 204 }; });
  const dials = await mock('POST', '/api/v1/agents/2002/preview/dial', { status: 202, json: {} });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Wallboard' }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Agent desktop' }).click();
  // the agent list loads first (as on a slow machine): the select's options must not change its name
  await until('the agent option', async () => (await page.locator('select[name=agent] option[value="2002"]').count()) === 1);
  await page.getByLabel('Agent', { exact: true }).selectOption('2002');
  const pop = page.getByRole('region', { name: 'Screen pop' });
  await pop.getByText('Gus').waitFor();
  assert.match(await text(pop), /Preview: read the lead/);
  const buttons = pop.getByRole('group', { name: 'Preview' });
  assert.deepEqual(await buttons.getByRole('button').allTextContents(), ['Dial', 'Skip']);
  assert.equal(await page.getByRole('group', { name: 'Disposition codes' }).getByRole('button').count(), 0, 'no disposition before the call');
  await buttons.getByRole('button', { name: 'Skip', exact: true }).click();
  await pop.getByText('Hal').waitFor();
  assert.equal(skips.length, 1);
  await pop.getByRole('group', { name: 'Preview' }).getByRole('button', { name: 'Dial', exact: true }).click();
  await until('the dial request', async () => dials.length === 1);
  await shot('12b-agent-desktop-preview-mocked');
  await page.unrouteAll({ behavior: 'wait' });
});

test('log out returns to the login page and forgets the token', async () => {
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
  await page.getByLabel('API token').waitFor();
  await page.reload();
  await page.getByLabel('API token').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('switchboard.token')), null);
});

test('a token that stops working ends the session with the API error', async () => {
  await page.getByLabel('API token').fill(TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out', exact: true }).waitFor();
  await page.evaluate(() => sessionStorage.setItem('switchboard.token', 'revoked-token-0123456789'));
  await page.reload();
  await page.getByLabel('API token').waitFor();
  assert.match(await text(page.getByRole('alert')), /^Session ended: unauthorized: .*\(401\)$/);
});

test('an agent token lands on the agent desktop and sees no supervisor data', async () => {
  await page.goto(BASE + '/');
  await page.getByLabel('API token').fill(AGENT_TOKEN);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Agent desktop', level: 1 }).waitFor();
  assert.match(page.url(), /#\/agent$/);
  assert.match(await text(page.locator('#who')), /browser agent \(agent, agent 2002\)/);
  assert.equal(await page.getByLabel('Agent', { exact: true }).count(), 0, 'an agent cannot pick another agent');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Wallboard' }).click();
  await page.getByText('Listing calls needs the supervisor role.').waitFor();
  await until('stats for an agent', async () => /^\d+$/.test(await text(activeCalls())));
  await shot('13-wallboard-agent');
  await page.getByRole('button', { name: 'Log out', exact: true }).click();
});

test('no script errors and no CSP violations on any page', () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(consoleErrors, []);
});
