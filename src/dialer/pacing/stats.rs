//! Online empirical estimates for the predictor: sliding windows of observed durations
//! with conditional (hazard-style) queries, re-sorted lazily.

use std::collections::VecDeque;

fn rank(sorted: &[f64], x: f64) -> usize {
    sorted.partition_point(|v| *v <= x)
}

/// A sliding window of durations (seconds).
#[derive(Clone, Debug)]
pub struct Durations {
    cap: usize,
    buf: VecDeque<f64>,
    sorted: Vec<f64>,
    dirty: bool,
}

impl Durations {
    pub fn new(cap: usize) -> Self {
        Durations {
            cap,
            buf: VecDeque::with_capacity(cap),
            sorted: Vec::new(),
            dirty: false,
        }
    }

    pub fn push(&mut self, x: f64) {
        if self.buf.len() == self.cap {
            self.buf.pop_front();
        }
        self.buf.push_back(x);
        self.dirty = true;
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn refresh(&mut self) {
        if self.dirty {
            self.sorted.clear();
            self.sorted.extend(self.buf.iter().copied());
            self.sorted.sort_by(f64::total_cmp);
            self.dirty = false;
        }
    }

    /// The `q`-quantile (0..=1) of the window at the last `refresh`; None when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.sorted.len();
        if n == 0 {
            return None;
        }
        let i = ((q.clamp(0.0, 1.0) * (n - 1) as f64).round() as usize).min(n - 1);
        self.sorted.get(i).copied()
    }

    /// P(D ≤ e + h | D > e) from the last `refresh`; `None` when no sample exceeds `e`
    /// (the caller decides what an unseen long duration means).
    #[cfg(test)]
    pub fn cond_within(&self, elapsed: f64, h: f64) -> Option<f64> {
        self.cond_within_censored(elapsed, h, &[])
    }

    /// As [`Self::cond_within`], with right-censored observations (durations still
    /// running, sorted elapsed times) added to the risk set. Without them the first
    /// completions of a day are only the short ones and the estimate is far too eager.
    pub fn cond_within_censored(&self, elapsed: f64, h: f64, censored: &[f64]) -> Option<f64> {
        let s = &self.sorted;
        let i = rank(s, elapsed);
        let surv = s.len() - i + (censored.len() - rank(censored, elapsed));
        if surv == 0 {
            return None;
        }
        Some((rank(s, elapsed + h) - i) as f64 / surv as f64)
    }
}

/// In-call segments (bridge → end of the call) and whether wrap-up followed, for
/// P(the agent is free within h | in the call for e): the call must end within h and,
/// when wrap-up follows, the wrap-up too. Conditioning on the call alone (not on the
/// whole bridge → ready cycle) matters: among cycles longer than `e` are agents already
/// in wrap-up at `e`, who free soon; an agent still talking at `e` does not.
#[derive(Clone, Debug)]
pub struct Segments {
    cap: usize,
    buf: VecDeque<(f64, bool)>,
    sorted: Vec<(f64, bool)>,
    dirty: bool,
}

impl Segments {
    pub fn new(cap: usize) -> Self {
        Segments {
            cap,
            buf: VecDeque::with_capacity(cap),
            sorted: Vec::new(),
            dirty: false,
        }
    }

    /// A call of `len` seconds ended; `wrapped`: the agent went to wrap-up.
    pub fn push(&mut self, len: f64, wrapped: bool) {
        if self.buf.len() == self.cap {
            self.buf.pop_front();
        }
        self.buf.push_back((len, wrapped));
        self.dirty = true;
    }

    pub fn refresh(&mut self) {
        if self.dirty {
            self.sorted.clear();
            self.sorted.extend(self.buf.iter().copied());
            self.sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            self.dirty = false;
        }
    }

    /// P(call ends within (e, e+h] and its wrap-up (from `wrap`, at its last refresh) by
    /// e+h | call longer than e), with calls still running (sorted elapsed times) in the
    /// risk set; None when nothing in the window or the risk set lasted beyond `e`.
    pub fn free_within_censored(
        &self,
        elapsed: f64,
        h: f64,
        censored: &[f64],
        wrap: &Durations,
    ) -> Option<f64> {
        let s = &self.sorted;
        let i = s.partition_point(|v| v.0 <= elapsed);
        let surv = s.len() - i + (censored.len() - rank(censored, elapsed));
        if surv == 0 {
            return None;
        }
        let end = elapsed + h;
        let w = &wrap.sorted;
        let wrap_cdf = |x: f64| {
            if w.is_empty() {
                0.0
            } else {
                rank(w, x) as f64 / w.len() as f64
            }
        };
        let free: f64 = s[i..]
            .iter()
            .take_while(|v| v.0 <= end)
            .map(|&(c, wrapped)| if wrapped { wrap_cdf(end - c) } else { 1.0 })
            .sum();
        Some(free / surv as f64)
    }
}

/// Resolution times of dials (answered or not), for P(answer within h | unresolved at e).
#[derive(Clone, Debug)]
pub struct Resolutions {
    all: Durations,
    answered: Durations,
    log: VecDeque<bool>,
}

impl Resolutions {
    pub fn new(cap: usize) -> Self {
        Resolutions {
            all: Durations::new(cap),
            answered: Durations::new(cap),
            log: VecDeque::with_capacity(cap),
        }
    }

    pub fn push(&mut self, ring: f64, answered: bool) {
        // keep `answered` aligned with the same window as `all`
        if self.log.len() == self.all.cap && self.log.pop_front() == Some(true) {
            self.answered.buf.pop_front();
            self.answered.dirty = true;
        }
        self.log.push_back(answered);
        self.all.push(ring);
        if answered {
            self.answered.buf.push_back(ring);
            self.answered.dirty = true;
        }
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn refresh(&mut self) {
        self.all.refresh();
        self.answered.refresh();
    }

    /// P(answered within (e, e+h] | unresolved at e).
    #[cfg(test)]
    pub fn answer_within(&self, elapsed: f64, h: f64) -> f64 {
        self.answer_within_censored(elapsed, h, &[])
    }

    /// As [`Self::answer_within`], with calls still ringing (sorted elapsed times) in
    /// the risk set.
    pub fn answer_within_censored(&self, elapsed: f64, h: f64, censored: &[f64]) -> f64 {
        let a = &self.all.sorted;
        let i = rank(a, elapsed);
        let surv = a.len() - i + (censored.len() - rank(censored, elapsed));
        if surv == 0 {
            return 0.0;
        }
        let s = &self.answered.sorted;
        (rank(s, elapsed + h) - rank(s, elapsed)) as f64 / surv as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_queries() {
        let mut d = Durations::new(4);
        for x in [10.0, 20.0, 30.0, 40.0, 50.0] {
            d.push(x);
        }
        d.refresh();
        // window is 20..50; busy for 25 s: 30, 40, 50 survive; within 10 s: only 30
        assert_eq!(d.cond_within(25.0, 10.0), Some(1.0 / 3.0));
        assert_eq!(d.cond_within(60.0, 10.0), None);
        let mut r = Resolutions::new(3);
        r.push(5.0, true);
        r.push(3.0, false);
        r.push(8.0, true);
        r.push(20.0, false); // evicts the 5 s answer
        r.refresh();
        assert_eq!(r.len(), 3);
        assert!((r.answer_within(0.0, 10.0) - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.answer_within(4.0, 10.0) - 0.5).abs() < 1e-12);
        // two calls still ringing past 4 s join the risk set: 1 answer in 4 at risk
        assert!((r.answer_within_censored(4.0, 10.0, &[1.0, 6.0, 9.0]) - 0.25).abs() < 1e-12);
        assert_eq!(d.cond_within_censored(25.0, 10.0, &[26.0]), Some(0.25));
        assert_eq!(d.cond_within_censored(60.0, 10.0, &[61.0]), Some(0.0));
    }

    #[test]
    fn an_agent_still_talking_frees_after_the_call_and_its_wrap_up() {
        let mut wrap = Durations::new(10);
        for x in [10.0, 20.0] {
            wrap.push(x);
        }
        wrap.refresh();
        let mut seg = Segments::new(10);
        // two calls of 100 s with wrap-up, one machine of 8 s without, one call of 200 s
        for (len, wrapped) in [(100.0, true), (100.0, true), (8.0, false), (200.0, true)] {
            seg.push(len, wrapped);
        }
        seg.refresh();
        // talking for 95 s: the 100 s calls end in 5 s, but no wrap-up is that short
        assert_eq!(seg.free_within_censored(95.0, 10.0, &[], &wrap), Some(0.0));
        // within 20 s: half the wrap-ups (10 s) are done: 2 × 0.5 of 3 at risk
        assert_eq!(
            seg.free_within_censored(95.0, 20.0, &[], &wrap),
            Some(1.0 / 3.0)
        );
        // a machine call frees on hanging up; a fourth agent still talking joins the risk set
        let p = seg.free_within_censored(5.0, 4.0, &[50.0], &wrap);
        assert_eq!(p, Some(0.2));
        assert_eq!(seg.free_within_censored(300.0, 10.0, &[], &wrap), None);
        // the whole cycle (call + wrap) would have said 2 of 3 are free within 20 s at 95 s
        let mut cycle = Durations::new(10);
        for x in [110.0, 120.0, 8.0, 210.0] {
            cycle.push(x);
        }
        cycle.refresh();
        assert_eq!(cycle.cond_within(95.0, 25.0), Some(2.0 / 3.0));
    }
}
