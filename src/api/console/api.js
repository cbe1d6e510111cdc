// The console's only door to the switch: the REST API (Bearer token) and the WebSocket
// event stream (?token=), per the HTTP API contract (GET /api/v1/openapi.json).

const TOKEN_KEY = 'switchboard.token';

/** An error answer of the API: {"error":{"code","message","field"?}} with its HTTP status. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
  /** What a user reads: "unauthorized: missing or unknown API token (401)". */
  describe() {
    const f = this.field ? ` [${this.field}]` : '';
    return `${this.code}: ${this.message}${f} (${this.status})`;
  }
}

// The token lives for the browser tab only (sessionStorage), never in a URL we show.
export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(t) {
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  },
  whoami: null,
  onUnauthorized: () => {},
};

async function errorOf(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  const e = body && body.error;
  if (e && typeof e.message === 'string') return new ApiError(res.status, e.code || 'error', e.message, e.field);
  return new ApiError(res.status, 'http_' + res.status, res.statusText || 'request failed');
}

/**
 * Calls the API. opts: {method, json, body, contentType, token, as: 'json'|'text'|'blob'}.
 * Resolves with the parsed body (null for 204); rejects with ApiError.
 */
export async function api(path, opts = {}) {
  const headers = { Accept: opts.as === 'text' ? 'text/csv, text/plain, */*' : 'application/json' };
  const token = opts.token ?? session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.contentType) {
    headers['Content-Type'] = opts.contentType;
  }
  let res;
  try {
    res = await fetch(path, { method: opts.method || 'GET', headers, body, cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', `the switch did not answer (${e.message})`);
  }
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && opts.token === undefined) session.onUnauthorized(err);
    throw err;
  }
  if (res.status === 204) return null;
  if (opts.as === 'text') return res.text();
  if (opts.as === 'blob') return res.blob();
  return res.json();
}

/**
 * For endpoints that arrive with later issues: {available: false} on 404, else
 * {available: true, data} or {available: true, error}.
 */
export async function probe(path) {
  try {
    return { available: true, data: await api(path) };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { available: false };
    return { available: true, error: e };
  }
}

/** Builds a query string from the non-empty entries of an object. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}

/**
 * The live event stream with a polling fallback. onEvent(event) gets each JSON frame;
 * onMode('live' | 'polling', reason) says which one feeds the page. While not live it
 * reconnects with backoff (1 s doubling to 15 s); the page polls REST meanwhile.
 */
export class EventStream {
  constructor(topics, onEvent, onMode) {
    this.topics = topics;
    this.onEvent = onEvent;
    this.onMode = onMode;
    this.ws = null;
    this.stopped = false;
    this.backoff = 1000;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const q = new URLSearchParams({ topics: this.topics.join(','), token: session.token || '' });
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${location.host}/api/v1/events?${q}`);
    } catch (e) {
      this.fallback(`cannot open the event stream (${e.message})`);
      return;
    }
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.backoff = 1000;
      this.onMode('live');
    });
    ws.addEventListener('message', (m) => {
      let ev;
      try { ev = JSON.parse(m.data); } catch { return; }
      if (ev && typeof ev.type === 'string') this.onEvent(ev);
    });
    ws.addEventListener('close', (c) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.fallback(c.reason || `event stream closed (${c.code})`);
    });
  }

  fallback(reason) {
    if (this.stopped) return;
    this.onMode('polling', reason);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 15000);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000, 'page closed');
    }
  }
}
