//! A port of VICIdial's adaptive predictive methods (astguiclient 2.14,
//! `bin/AST_VDadapt.pl` build 230309-1009 and `bin/AST_VDauto_dial.pl`), as read in
//! `research/dialer.md` §1.3–§1.5:
//!
//! * every 1 s, `count_agents_lines`: sample READY(+DONE) agents, LIVE calls waiting
//!   and all logged-in agents; keep the last 15 samples;
//! * every 60 s, `calculate_drops`: today's calls, answers (`human_answered`: agent
//!   dispositions of people *plus* DROPs) and drops; calls and drops in the last minute;
//! * every 15 s, `calculate_dial_level`: the multiplicative update on
//!   `(ready_avg − waiting_avg + dl_diff_target) / total_avg` with asymmetric intensity,
//!   clamp to `[1, adaptive_maximum_level]`, the 1-minute 50 % drop rule, and — once
//!   more than 50 calls were placed today — the HARD_LIMIT / AVERAGE / TAPERED drop
//!   rule (TAPERED with the raw HHMM subtraction quirk);
//! * every 2.5 s, `AST_VDauto_dial.pl` places `round(level × (READY+INCALL)) − existing`.

use std::collections::VecDeque;

use super::ratio::{vicidial_make, PLACEMENT_PERIOD};
use super::{Pacer, Trigger};
use crate::dialer::floor::{Floor, Observation};
use crate::dialer::Millis;

const SAMPLE_PERIOD: Millis = Millis(1_000);
const LEVEL_PERIOD: Millis = Millis(15_000);
const DROPS_PERIOD: Millis = Millis(60_000);
const MINUTE: Millis = Millis(60_000);
const SAMPLES: usize = 15;

/// `vicidial_campaigns.dial_method` (adaptive ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdaptMethod {
    HardLimit,
    Tapered,
    Average,
}

/// The `adaptive_*` campaign settings.
#[derive(Clone, Debug, PartialEq)]
pub struct AdaptParams {
    pub method: AdaptMethod,
    /// `adaptive_dl_diff_target` (negative keeps agents waiting).
    pub dl_diff_target: f64,
    /// `adaptive_intensity`, −40…+40.
    pub intensity: f64,
    /// `adaptive_maximum_level`.
    pub maximum_level: f64,
    /// `adaptive_dropped_percentage`.
    pub dropped_percentage: f64,
    /// `adaptive_latest_server_time`, HHMM.
    pub latest_server_time: i64,
}

impl AdaptParams {
    /// Schema defaults: dl_diff 0, intensity 0, max 3.0, 3 %, 2100.
    pub fn defaults(method: AdaptMethod) -> Self {
        AdaptParams {
            method,
            dl_diff_target: 0.0,
            intensity: 0.0,
            maximum_level: 3.0,
            dropped_percentage: 3.0,
            latest_server_time: 2100,
        }
    }

    pub fn label(&self) -> String {
        let m = match self.method {
            AdaptMethod::HardLimit => "vicidial-hard-limit",
            AdaptMethod::Tapered => "vicidial-tapered",
            AdaptMethod::Average => "vicidial-average",
        };
        format!(
            "{m}:dl_diff={},intensity={},latest={}",
            self.dl_diff_target, self.intensity, self.latest_server_time
        )
    }
}

/// `calculate_drops` output.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DropStats {
    pub calls_today: u64,
    pub answers_today: u64,
    pub drops_today: u64,
    pub calls_1min: u64,
    pub drops_1min: u64,
}

/// VICIdial ADAPT_* pacer.
#[derive(Clone, Debug)]
pub struct VicidialAdapt {
    p: AdaptParams,
    level: f64,
    samples: VecDeque<(f64, f64, f64)>,
    drops: DropStats,
    dial_times: VecDeque<Millis>,
    drop_times: VecDeque<Millis>,
    next_sample: Option<Millis>,
    next_level: Millis,
    next_drops: Millis,
    next_place: Millis,
}

impl VicidialAdapt {
    pub fn new(p: AdaptParams) -> Self {
        VicidialAdapt {
            p,
            level: 1.0,
            samples: VecDeque::with_capacity(SAMPLES),
            drops: DropStats::default(),
            dial_times: VecDeque::new(),
            drop_times: VecDeque::new(),
            next_sample: None,
            next_level: Millis(0),
            next_drops: Millis(0),
            next_place: Millis(0),
        }
    }

    /// The current `auto_dial_level`.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// One `count_agents_lines` sample.
    pub fn sample(&mut self, ready: f64, waiting: f64, total: f64) {
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back((ready, waiting, total));
    }

    pub fn set_drop_stats(&mut self, d: DropStats) {
        self.drops = d;
    }

    /// `calculate_dial_level` at wall-clock `now_hhmm`; returns the new level.
    pub fn update_level(&mut self, now_hhmm: i64) -> f64 {
        let n = self.samples.len();
        if n == 0 {
            return self.level;
        }
        let avg =
            |f: fn(&(f64, f64, f64)) -> f64| self.samples.iter().map(f).sum::<f64>() / n as f64;
        let (ready, waiting, total) = (avg(|s| s.0), avg(|s| s.1), avg(|s| s.2));
        let diff = ready - waiting + self.p.dl_diff_target;
        let mul = if total != 0.0 && diff != 0.0 {
            diff / total
        } else {
            0.0
        };
        let pct = 100.0 * mul;
        let i = self.p.intensity / 100.0;
        let pct_i = if pct < 0.0 {
            pct * (i - 1.0).abs()
        } else {
            pct * (i + 1.0)
        };
        let mut level = self.level * (1.0 + pct_i / 100.0);
        level = level.min(self.p.maximum_level).max(1.0);
        let d = self.drops;
        if d.calls_1min > 20 && d.drops_1min as f64 / d.calls_1min as f64 > 0.5 {
            level /= 2.0;
        }
        let drop_pct = if d.answers_today == 0 {
            0.0
        } else {
            100.0 * d.drops_today as f64 / d.answers_today as f64
        };
        if d.calls_today > 50 && drop_pct > self.p.dropped_percentage {
            level = match self.p.method {
                AdaptMethod::HardLimit => 1.0,
                AdaptMethod::Average => level / 2.0,
                AdaptMethod::Tapered => {
                    // raw HHMM subtraction, as in the Perl: 2100 − 1659 = 441 "hours"
                    let hours_left = self.p.latest_server_time - now_hhmm;
                    if hours_left < 0 {
                        1.0
                    } else {
                        level * (hours_left as f64 / 1000.0).min(1.0)
                    }
                }
            };
        }
        self.level = level.max(1.0);
        self.level
    }

    fn refresh_drops(&mut self, now: Millis, floor: &Floor) {
        let cut = now.saturating_sub(MINUTE);
        while self.dial_times.front().is_some_and(|t| *t < cut) {
            self.dial_times.pop_front();
        }
        while self.drop_times.front().is_some_and(|t| *t < cut) {
            self.drop_times.pop_front();
        }
        let t = floor.totals;
        self.drops = DropStats {
            calls_today: t.dials,
            answers_today: t.agent_humans + t.drops,
            drops_today: t.drops,
            calls_1min: self.dial_times.len() as u64,
            drops_1min: self.drop_times.len() as u64,
        };
    }
}

impl Pacer for VicidialAdapt {
    fn observe(&mut self, now: Millis, obs: &Observation, _floor: &Floor) {
        match obs {
            Observation::Dialed { .. } => self.dial_times.push_back(now),
            Observation::Dropped { .. } => self.drop_times.push_back(now),
            _ => {}
        }
    }

    fn calls_to_place(&mut self, now: Millis, floor: &Floor, trigger: Trigger) -> u32 {
        if trigger != Trigger::Tick {
            return 0;
        }
        let next_sample = *self.next_sample.get_or_insert_with(|| {
            self.next_level = now + LEVEL_PERIOD;
            self.next_drops = now;
            self.next_place = now;
            now
        });
        if now >= next_sample {
            self.sample(
                f64::from(floor.ready()),
                f64::from(floor.waiting()),
                f64::from(floor.logged_in()),
            );
            self.next_sample = Some(next_sample + SAMPLE_PERIOD);
        }
        if now >= self.next_drops {
            self.refresh_drops(now, floor);
            self.next_drops = self.next_drops + DROPS_PERIOD;
        }
        if now >= self.next_level {
            self.update_level(now.hhmm());
            self.next_level = self.next_level + LEVEL_PERIOD;
        }
        if now < self.next_place {
            return 0;
        }
        self.next_place = self.next_place + PLACEMENT_PERIOD;
        vicidial_make(self.level, floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(v: &mut VicidialAdapt, ready: f64, waiting: f64, total: f64) {
        for _ in 0..SAMPLES {
            v.sample(ready, waiting, total);
        }
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    /// Golden trace: levels computed by hand from the §1.4 formula.
    #[test]
    fn golden_level_sequence() {
        let mut p = AdaptParams::defaults(AdaptMethod::Tapered);
        p.intensity = 20.0;
        let mut v = VicidialAdapt::new(p);
        // 1: mul = 5/10 → 50 % × 1.2 = 60 % → 1.6
        feed(&mut v, 5.0, 0.0, 10.0);
        close(v.update_level(1000), 1.6);
        // 2: mul = (2−1)/10 → 10 % × 1.2 = 12 % → 1.792
        feed(&mut v, 2.0, 1.0, 10.0);
        close(v.update_level(1000), 1.792);
        // 3: mul = −4/10 → −40 % × |0.2−1| = −32 % → 1.21856
        feed(&mut v, 0.0, 4.0, 10.0);
        close(v.update_level(1000), 1.218_56);
        // 4: mul = 1 → 120 % → 2.680832
        feed(&mut v, 10.0, 0.0, 10.0);
        close(v.update_level(1000), 2.680_832);
        // 5: 5.8978… clamped to adaptive_maximum_level 3.0
        close(v.update_level(1000), 3.0);
        // 6: 50 calls today at 10 % drops: the guard needs > 50 calls → no cut
        v.set_drop_stats(DropStats {
            calls_today: 50,
            answers_today: 40,
            drops_today: 4,
            ..Default::default()
        });
        close(v.update_level(1530), 3.0);
        // 7: 60 calls, 10 % > 3 %: TAPERED at 15:30 → (2100−1530)/1000 = 0.57 → 1.71
        v.set_drop_stats(DropStats {
            calls_today: 60,
            answers_today: 40,
            drops_today: 4,
            ..Default::default()
        });
        close(v.update_level(1530), 1.71);
        // 8: 1-minute rule (16/30 > 50 %) halves: mul 0 → 1.71/2 = 0.855 → floor 1.0
        feed(&mut v, 5.0, 5.0, 10.0);
        v.set_drop_stats(DropStats {
            calls_today: 60,
            answers_today: 40,
            drops_today: 1,
            calls_1min: 30,
            drops_1min: 16,
        });
        close(v.update_level(1530), 1.0);
        // 9: HHMM quirk: at 14:59, 2100−1459 = 641 → ×0.641 (not 6 h 01 min): 2.2 × 0.641
        feed(&mut v, 10.0, 0.0, 10.0);
        v.set_drop_stats(DropStats {
            calls_today: 60,
            answers_today: 40,
            drops_today: 4,
            ..Default::default()
        });
        close(v.update_level(1459), 2.2 * 0.641);
        // 10: past adaptive_latest_server_time → 1.0
        close(v.update_level(2105), 1.0);
        // 11: ≥ 10 "hours" left → no cut at all: 1.0 × 2.2
        close(v.update_level(1000), 2.2);
    }

    #[test]
    fn hard_limit_and_average() {
        let over = DropStats {
            calls_today: 100,
            answers_today: 10,
            drops_today: 1,
            ..Default::default()
        };
        let mut h = VicidialAdapt::new(AdaptParams::defaults(AdaptMethod::HardLimit));
        feed(&mut h, 10.0, 0.0, 10.0);
        h.set_drop_stats(over);
        close(h.update_level(1000), 1.0);
        let mut a = VicidialAdapt::new(AdaptParams::defaults(AdaptMethod::Average));
        feed(&mut a, 10.0, 0.0, 10.0);
        close(a.update_level(1000), 2.0);
        close(a.update_level(1000), 3.0);
        a.set_drop_stats(over);
        close(a.update_level(1000), 1.5);
    }
}
