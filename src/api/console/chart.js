// A live step chart on <canvas>, drawn by hand: one series over a sliding window (the
// wallboard's active calls over the last 5 minutes). No library, no network.

export class LiveChart {
  /**
   * canvas: the element (given role=img; its aria-label is kept up to date).
   * opts: {windowMs = 300000, label = 'value', color}
   */
  constructor(canvas, opts = {}) {
    this.canvas = canvas;
    this.windowMs = opts.windowMs || 300000;
    this.label = opts.label || 'value';
    this.color = opts.color || '#2f6fde';
    this.points = []; // [t_ms, value], t ascending
    canvas.setAttribute('role', 'img');
    this.describe();
  }

  /** Adds a sample at time t (ms); a repeat of the last value only moves the line on. */
  push(t, v) {
    const last = this.points[this.points.length - 1];
    if (last && t < last[0]) return;
    this.points.push([t, v]);
    // keep one point older than the window so the line starts at the left edge
    const cut = t - this.windowMs;
    while (this.points.length > 2 && this.points[1][0] <= cut) this.points.shift();
    if (this.points.length > 5000) this.points.splice(0, this.points.length - 5000);
  }

  /** The value at the end of the series. */
  latest() {
    const last = this.points[this.points.length - 1];
    return last ? last[1] : null;
  }

  max(now) {
    const from = now - this.windowMs;
    let m = 0;
    for (const [t, v] of this.points) if (t >= from || t === this.points[0][0]) m = Math.max(m, v);
    return m;
  }

  describe(now = Date.now()) {
    const cur = this.latest();
    this.canvas.setAttribute('aria-label', cur === null
      ? `${this.label} over the last ${this.windowMs / 60000} minutes: no data yet`
      : `${this.label} over the last ${this.windowMs / 60000} minutes: now ${cur}, peak ${this.max(now)}`);
    this.canvas.dataset.latest = cur === null ? '' : String(cur);
  }

  draw(now = Date.now()) {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(200, c.clientWidth), hgt = Math.max(100, c.clientHeight);
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hgt * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hgt * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);
    const pad = { l: 36, r: 10, t: 10, b: 22 };
    const pw = w - pad.l - pad.r, ph = hgt - pad.t - pad.b;
    const top = niceMax(this.max(now));
    const x = (t) => pad.l + ((t - (now - this.windowMs)) / this.windowMs) * pw;
    const y = (v) => pad.t + ph - (v / top) * ph;

    // grid and axes
    const style = getComputedStyle(c);
    g.font = `11px ${style.fontFamily || 'sans-serif'}`;
    g.fillStyle = '#66707a';
    g.strokeStyle = '#e3e7eb';
    g.lineWidth = 1;
    const steps = Math.min(top, 4);
    for (let i = 0; i <= steps; i++) {
      const v = (top / steps) * i;
      const yy = Math.round(y(v)) + 0.5;
      g.beginPath(); g.moveTo(pad.l, yy); g.lineTo(pad.l + pw, yy); g.stroke();
      g.textAlign = 'right'; g.textBaseline = 'middle';
      g.fillText(String(Math.round(v * 10) / 10), pad.l - 6, yy);
    }
    const minutes = this.windowMs / 60000;
    g.textAlign = 'center'; g.textBaseline = 'top';
    for (let m = 0; m <= minutes; m++) {
      const xx = pad.l + (m / minutes) * pw;
      g.fillText(m === minutes ? 'now' : `-${minutes - m}m`, xx, pad.t + ph + 6);
    }

    // the series as steps, clipped to the plot area
    const pts = this.points;
    if (!pts.length) { this.describe(now); return; }
    g.save();
    g.beginPath(); g.rect(pad.l, pad.t, pw, ph); g.clip();
    g.beginPath();
    g.moveTo(x(pts[0][0]), y(pts[0][1]));
    for (let i = 1; i < pts.length; i++) {
      g.lineTo(x(pts[i][0]), y(pts[i - 1][1]));
      g.lineTo(x(pts[i][0]), y(pts[i][1]));
    }
    g.lineTo(x(now), y(pts[pts.length - 1][1]));
    g.strokeStyle = this.color;
    g.lineWidth = 2;
    g.stroke();
    g.lineTo(x(now), y(0));
    g.lineTo(x(pts[0][0]), y(0));
    g.closePath();
    g.globalAlpha = 0.12;
    g.fillStyle = this.color;
    g.fill();
    g.restore();
    this.describe(now);
  }
}

/** The smallest of 1, 2, 5, 10, 20, 50, … at or above v (at least 1). */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
