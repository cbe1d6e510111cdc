//! The simulator under Ofcom with AMD: people the AMD hangs up on are abandoned calls,
//! and the dialer's estimate counts them.

use switchboard::dialer::campaign::AbandonRegime;
use switchboard::dialer::pacing::Policy;
use switchboard::dialer::sim::{run, Workload};

fn workload() -> Workload {
    let text = include_str!("../benches/workloads/ofcom-25x30-amd.toml");
    let mut w = Workload::from_toml(text).expect("workload parses");
    w.hours = 1.0;
    w
}

#[test]
fn amd_false_positives_are_abandons_under_ofcom_only() {
    let uk = workload();
    let mut us = uk.clone();
    us.regime = AbandonRegime::UsFtc;
    // progressive never drops: every abandon is a person the AMD hung up on
    let m_uk = run(&uk, 7, &Policy::Progressive);
    let m_us = run(&us, 7, &Policy::Progressive);
    assert!(m_uk.amd_false_positives > 20, "{m_uk:?}");
    assert_eq!(m_uk.amd_false_positives, m_us.amd_false_positives);
    assert_eq!((m_uk.drops, m_us.abandoned), (0, 0));
    assert_eq!(m_uk.abandoned, m_uk.amd_false_positives);
    // the dialer's estimate (agent-marked people × fp/(1 − fp)) is near the truth
    let truth = m_uk.ftc_abandon_rate;
    assert!(truth > 0.1, "{truth}");
    assert!(
        (m_uk.ofcom_acr_reported - truth).abs() < 0.03,
        "estimate {} vs truth {truth}",
        m_uk.ofcom_acr_reported
    );
    assert_eq!(m_us.ofcom_acr_reported, 0.0);
}

#[test]
fn ours_steers_on_the_estimate_with_false_positives() {
    let w = workload();
    let aware = run(&w, 3, &Policy::Ours);
    let blind = run(&w, 3, &"ours:amd_fp=0".parse().expect("policy"));
    // told about the false positives, it is over budget from the start and dials no
    // harder than progressive; blind to them, it dials ahead and drops people too
    assert!(
        aware.drops < blind.drops,
        "{} vs {}",
        aware.drops,
        blind.drops
    );
    assert!(aware.dials < blind.dials);
}
