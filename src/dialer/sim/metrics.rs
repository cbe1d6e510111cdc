//! Ground-truth shift metrics, printed as JSON by `switchboard simulate`.

use serde::Serialize;

/// One shift's figures.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Metrics {
    pub workload: String,
    pub policy: String,
    pub seed: u64,
    pub hours: f64,
    /// Talk ÷ logged-in time (breaks are not logged in).
    pub talk_utilisation: f64,
    /// (talk + wrap + machine handling) ÷ logged-in time.
    pub occupancy: f64,
    /// Abandoned ÷ live answers (ground truth): people dropped, plus under the Ofcom
    /// regime the people the AMD hung up on.
    pub ftc_abandon_rate: f64,
    /// The abandon rate as the dialer estimates it for this shift (the floor's
    /// estimate: drops by ring time, plus expected AMD false positives under Ofcom).
    pub ofcom_acr_reported: f64,
    /// Mean and P90 idle time of an agent between live calls, seconds.
    pub mean_wait_s: f64,
    pub p90_wait_s: f64,
    pub connects_per_agent_hour: f64,
    pub dials_per_connect: f64,
    pub peak_lines: u32,
    pub dials: u64,
    pub live_answers: u64,
    pub abandoned: u64,
    pub connects: u64,
    pub machine_answers: u64,
    pub drops: u64,
    pub worst_15min_abandons: u32,
    /// People the AMD called machines (ground truth).
    pub amd_false_positives: u64,
}

/// Mean and P90 (nearest rank) of a sample.
pub fn mean_p90(xs: &mut [f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    xs.sort_by(f64::total_cmp);
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let i = ((0.9 * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1;
    (mean, xs[i])
}

/// `num ÷ den`, 0 when `den` is 0.
pub fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}
