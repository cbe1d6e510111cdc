//! `/metrics`: the switch's numbers in the Prometheus text exposition format (0.0.4).
//!
//! Hand-written atomics rather than the `metrics` crate's global recorder: a global
//! recorder is one per process, and tests (and a future multi-tenant node) run several
//! switches in one process whose numbers must not mix. Every series here belongs to one
//! [`Metrics`] value owned by one running switch; writers are lock-free (atomics) except
//! the HTTP request table, a short mutex taken once per HTTP request, never by calls.
//!
//! Who writes what: the core task ([`Metrics::call_started`], [`Metrics::call_ended`],
//! [`Metrics::set_active_calls`]), the store writer ([`Metrics::store_write`]), the HTTP
//! layer ([`Metrics::http_request`]). Registrations are read at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histograms (store writes, RTP jitter).
pub const STORE_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Calls started per second over the last minute: 60 one-second buckets.
#[derive(Debug)]
struct CallRate {
    seconds: [AtomicI64; 60],
    counts: [AtomicU64; 60],
}

impl CallRate {
    fn new() -> Self {
        CallRate {
            seconds: std::array::from_fn(|_| AtomicI64::new(i64::MIN)),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// One call started at `unix_s` (one writer: the core task).
    fn record(&self, unix_s: i64) {
        let i = unix_s.rem_euclid(60) as usize;
        if self.seconds[i].load(Relaxed) != unix_s {
            self.counts[i].store(0, Relaxed);
            self.seconds[i].store(unix_s, Relaxed);
        }
        self.counts[i].fetch_add(1, Relaxed);
    }

    /// Mean calls per second over the 60 seconds ending at `unix_s` (inclusive).
    fn per_second(&self, unix_s: i64) -> f64 {
        let total: u64 = (0..60)
            .filter(|&i| {
                let s = self.seconds[i].load(Relaxed);
                s > unix_s - 60 && s <= unix_s
            })
            .map(|i| self.counts[i].load(Relaxed))
            .sum();
        total as f64 / 60.0
    }
}

#[derive(Debug)]
struct Histogram {
    buckets: [AtomicU64; STORE_BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }

    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, le) in STORE_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us
            .fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }
}

/// One switch's metrics.
#[derive(Debug)]
pub struct Metrics {
    active_calls: AtomicU64,
    calls_total: AtomicU64,
    calls_ended_total: AtomicU64,
    rate: CallRate,
    store_write: Histogram,
    store_records: AtomicU64,
    store_failures: AtomicU64,
    /// Responses vouching for a call record sent before it was committed (the core task).
    sent_unrecorded: AtomicU64,
    rtp_packets_in: AtomicU64,
    rtp_packets_out: AtomicU64,
    rtp_lost: AtomicU64,
    rtp_reported_lost: AtomicU64,
    /// Interarrival jitter of ended calls' legs (RFC 3550 A.8), milliseconds.
    rtp_jitter: Histogram,
    /// (route template, method, status) → count.
    http: Mutex<BTreeMap<(String, String, u16), u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// What is read at scrape time rather than counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub registrations: u64,
    pub uptime_s: u64,
    /// The scrape time (unix seconds), for the call rate.
    pub now_unix_s: i64,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            active_calls: AtomicU64::new(0),
            calls_total: AtomicU64::new(0),
            calls_ended_total: AtomicU64::new(0),
            rate: CallRate::new(),
            store_write: Histogram::new(),
            store_records: AtomicU64::new(0),
            store_failures: AtomicU64::new(0),
            sent_unrecorded: AtomicU64::new(0),
            rtp_packets_in: AtomicU64::new(0),
            rtp_packets_out: AtomicU64::new(0),
            rtp_lost: AtomicU64::new(0),
            rtp_reported_lost: AtomicU64::new(0),
            rtp_jitter: Histogram::new(),
            http: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn call_started(&self, unix_ms: i64) {
        self.calls_total.fetch_add(1, Relaxed);
        self.rate.record(unix_ms.div_euclid(1000));
    }

    pub fn call_ended(&self) {
        self.calls_ended_total.fetch_add(1, Relaxed);
    }

    pub fn set_active_calls(&self, n: usize) {
        self.active_calls.store(n as u64, Relaxed);
    }

    /// One store transaction of `records` records took `took` (`ok` = committed).
    pub fn store_write(&self, took: Duration, records: usize, ok: bool) {
        self.store_write.observe(took);
        self.store_records.fetch_add(records as u64, Relaxed);
        if !ok {
            self.store_failures.fetch_add(1, Relaxed);
        }
    }

    /// The switch's count of responses (a BYE's 200, an answer) sent without their call
    /// record committed: the store failed or took longer than the switch's record wait.
    pub fn set_sent_unrecorded(&self, n: u64) {
        self.sent_unrecorded.store(n, Relaxed);
    }

    /// A relayed call ended: add its sides' RTP counters from its CDR (so packets of calls
    /// in progress are not in the totals yet).
    pub fn rtp_call_ended(&self, media: &[crate::store::CdrMedia]) {
        for side in media {
            self.rtp_packets_in.fetch_add(side.packets_in, Relaxed);
            self.rtp_packets_out.fetch_add(side.packets_out, Relaxed);
            self.rtp_lost.fetch_add(side.lost, Relaxed);
            self.rtp_reported_lost
                .fetch_add(side.reported_lost.unwrap_or(0), Relaxed);
            if side.packets_in > 0 {
                self.rtp_jitter
                    .observe(Duration::from_micros(side.jitter_us));
            }
        }
    }

    /// One HTTP request answered; `route` is the matched template (`/api/v1/calls/{id}`),
    /// never the raw path (ids would make the series unbounded).
    pub fn http_request(&self, route: &str, method: &str, status: u16) {
        if let Ok(mut map) = self.http.lock() {
            *map.entry((route.to_string(), method.to_string(), status))
                .or_insert(0) += 1;
        }
    }

    pub fn active_calls(&self) -> u64 {
        self.active_calls.load(Relaxed)
    }

    pub fn calls_total(&self) -> u64 {
        self.calls_total.load(Relaxed)
    }

    /// Calls started per second, averaged over the minute ending at `now_unix_s`.
    pub fn cps_1m(&self, now_unix_s: i64) -> f64 {
        self.rate.per_second(now_unix_s)
    }

    /// The text exposition format.
    pub fn render(&self, g: Gauges) -> String {
        let mut out = String::with_capacity(4096);
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "switchboard_active_calls",
            "gauge",
            "Calls in progress.",
            self.active_calls().to_string(),
        );
        metric(
            "switchboard_calls_total",
            "counter",
            "Calls started since start-up.",
            self.calls_total().to_string(),
        );
        metric(
            "switchboard_calls_ended_total",
            "counter",
            "Calls ended since start-up.",
            self.calls_ended_total.load(Relaxed).to_string(),
        );
        metric(
            "switchboard_calls_per_second_1m",
            "gauge",
            "Calls started per second, mean over the last minute.",
            format!("{:.4}", self.cps_1m(g.now_unix_s)),
        );
        metric(
            "switchboard_registrations",
            "gauge",
            "Registered contact bindings.",
            g.registrations.to_string(),
        );
        metric(
            "switchboard_uptime_seconds",
            "gauge",
            "Seconds since the switch started.",
            g.uptime_s.to_string(),
        );
        metric(
            "switchboard_store_records_total",
            "counter",
            "Call records (starts and CDRs) written to the store.",
            self.store_records.load(Relaxed).to_string(),
        );
        metric(
            "switchboard_store_write_failures_total",
            "counter",
            "Store transactions that failed (their records are retried one by one).",
            self.store_failures.load(Relaxed).to_string(),
        );
        metric(
            "switchboard_responses_sent_unrecorded_total",
            "counter",
            "Answers and BYE 200s sent before the store confirmed their call record (store failed or slower than 2 s).",
            self.sent_unrecorded.load(Relaxed).to_string(),
        );
        for (name, help, value) in [
            ("switchboard_rtp_packets_received_total", "RTP packets received from phones (ended calls).", &self.rtp_packets_in),
            ("switchboard_rtp_packets_sent_total", "RTP packets sent to phones (ended calls).", &self.rtp_packets_out),
            ("switchboard_rtp_packets_lost_total", "RTP packets lost on the way to the relay, from sequence numbers (RFC 3550 A.3; ended calls).", &self.rtp_lost),
            ("switchboard_rtp_packets_reported_lost_total", "RTP packets the phones reported lost on the way from the relay, from their last RTCP report (RFC 3550 6.4.1; ended calls).", &self.rtp_reported_lost),
        ] {
            metric(name, "counter", help, value.load(Relaxed).to_string());
        }
        histogram(
            &mut out,
            "switchboard_store_write_seconds",
            "Time to commit one batch of call records.",
            &self.store_write,
        );
        histogram(
            &mut out,
            "switchboard_rtp_jitter_seconds",
            "Interarrival jitter per leg at the end of each relayed call (RFC 3550 A.8).",
            &self.rtp_jitter,
        );
        let name = "switchboard_http_requests_total";
        let _ = writeln!(
            out,
            "# HELP {name} HTTP requests answered, by route, method and status.\n# TYPE {name} counter"
        );
        if let Ok(map) = self.http.lock() {
            for ((route, method, status), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                    escape(route),
                    escape(method)
                );
            }
        }
        out
    }
}

fn histogram(out: &mut String, name: &str, help: &str, h: &Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (i, le) in STORE_BUCKETS.iter().enumerate() {
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"{le}\"}} {}",
            h.buckets[i].load(Relaxed)
        );
    }
    let count = h.count.load(Relaxed);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(
        out,
        "{name}_sum {}",
        h.sum_us.load(Relaxed) as f64 / 1_000_000.0
    );
    let _ = writeln!(out, "{name}_count {count}");
}

/// Label value escaping (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_rate_counts_the_last_minute_only() {
        let m = Metrics::new();
        for _ in 0..30 {
            m.call_started(1_000_000);
        }
        for _ in 0..30 {
            m.call_started(1_030_500);
        }
        assert_eq!(m.cps_1m(1_030), 1.0);
        // 60 s after the first burst, only the second one counts.
        assert_eq!(m.cps_1m(1_060), 0.5);
        assert_eq!(m.cps_1m(1_100), 0.0);
        // A bucket reused a minute later starts from zero.
        m.call_started(1_060_000);
        assert_eq!(m.cps_1m(1_060), 31.0 / 60.0);
        assert_eq!(m.calls_total(), 61);
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new();
        m.store_write(Duration::from_micros(300), 2, true);
        m.store_write(Duration::from_millis(30), 1, false);
        m.store_write(Duration::from_secs(10), 1, true);
        let text = m.render(Gauges::default());
        assert!(text.contains("switchboard_store_write_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("switchboard_store_write_seconds_bucket{le=\"0.05\"} 2\n"));
        assert!(text.contains("switchboard_store_write_seconds_bucket{le=\"2.5\"} 2\n"));
        assert!(text.contains("switchboard_store_write_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("switchboard_store_write_seconds_count 3\n"));
        assert!(text.contains("switchboard_store_records_total 4\n"));
        assert!(text.contains("switchboard_store_write_failures_total 1\n"));
    }

    #[test]
    fn rtp_counters_add_up_both_sides_of_ended_calls() {
        use crate::store::{CdrMedia, LegRole};
        let m = Metrics::new();
        let side = |role, packets_in, packets_out, lost, jitter_us| CdrMedia {
            role,
            packets_in,
            bytes_in: 0,
            packets_out,
            bytes_out: 0,
            rtcp_in: 0,
            lost,
            jitter_us,
            reported_lost: Some(lost + 1),
            reported_jitter_us: None,
        };
        let media = [
            side(LegRole::A, 100, 50, 3, 4_000),
            side(LegRole::B, 50, 97, 0, 0),
        ];
        m.rtp_call_ended(&media);
        m.rtp_call_ended(&media);
        m.rtp_call_ended(&[]);
        let text = m.render(Gauges::default());
        assert!(text.contains("switchboard_rtp_packets_received_total 300\n"));
        assert!(text.contains("switchboard_rtp_packets_sent_total 294\n"));
        assert!(text.contains("switchboard_rtp_packets_lost_total 6\n"));
        assert!(text.contains("switchboard_rtp_packets_reported_lost_total 10\n"));
        assert!(text.contains("switchboard_rtp_jitter_seconds_bucket{le=\"0.0025\"} 2\n"));
        assert!(text.contains("switchboard_rtp_jitter_seconds_bucket{le=\"0.005\"} 4\n"));
        assert!(text.contains("switchboard_rtp_jitter_seconds_count 4\n"));
    }

    #[test]
    fn http_requests_are_labelled_by_route_method_and_status() {
        let m = Metrics::new();
        m.http_request("/api/v1/calls/{id}", "DELETE", 404);
        m.http_request("/api/v1/calls/{id}", "DELETE", 404);
        m.http_request("/x\"y", "GET", 200);
        let text = m.render(Gauges::default());
        assert!(text.contains(
            "switchboard_http_requests_total{route=\"/api/v1/calls/{id}\",method=\"DELETE\",status=\"404\"} 2\n"
        ));
        assert!(text.contains("route=\"/x\\\"y\""));
    }
}
