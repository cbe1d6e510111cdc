//! The runner on a virtual clock: what it asks the runtime to do for each thing it hears.

use super::*;
use crate::dialer::campaign::AgentSet;
use crate::store::{CampaignId, LeadStatus, ListId, OutcomeCounts};

pub(super) const T0: i64 = 1_790_000_000_000;

pub(super) fn lead(n: u32) -> Lead {
    Lead {
        id: LeadId(format!("L{n}")),
        campaign: CampaignId::from("C"),
        list: ListId("LIST".into()),
        seq: u64::from(n),
        phone: format!("+1415555{n:04}"),
        tz: "America/Los_Angeles".into(),
        fields: serde_json::json!({"name": format!("lead {n}")}),
        priority: 0,
        status: LeadStatus::Claimed,
        callback: false,
        next_at_ms: 0,
        attempts: 0,
        counts: OutcomeCounts::default(),
        last_outcome: None,
        claimed_by: Some("node".into()),
    }
}

pub(super) fn campaign(mode: DialMode) -> Campaign {
    Campaign::new(
        "spring",
        "carrier",
        "+14155550000",
        AgentSet::Queue("outbound".into()),
        mode,
    )
}

fn runner(agents: &[&str]) -> CampaignRunner {
    ready_agents(campaign(DialMode::Progressive), agents)
}

/// A runner of `c` whose agents are all ready.
fn ready_agents(c: Campaign, agents: &[&str]) -> CampaignRunner {
    let states: Vec<_> = agents
        .iter()
        .map(|a| (a.to_string(), AgentState::Ready))
        .collect();
    CampaignRunner::new("C", c, &states, T0)
}

pub(super) fn step(r: &mut CampaignRunner, at: i64, input: RunnerInput) -> Vec<RunnerOutput> {
    let mut out = Vec::new();
    r.handle(T0 + at, input, &mut out);
    out
}

pub(super) fn dials(out: &[RunnerOutput]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            RunnerOutput::Dial { tag, .. } => Some(tag.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn records(out: &[RunnerOutput]) -> Vec<(AttemptOutcome, LeadNext)> {
    out.iter()
        .filter_map(|o| match o {
            RunnerOutput::Record { attempt, next, .. } => Some((attempt.outcome, *next)),
            _ => None,
        })
        .collect()
}

/// Two ready agents: claim, then two calls.
fn dialled_two(r: &mut CampaignRunner) -> Vec<String> {
    let out = step(r, 0, RunnerInput::Tick);
    assert!(
        matches!(out.as_slice(), [RunnerOutput::Claim(n)] if *n >= 2),
        "{out:?}"
    );
    let out = step(r, 10, RunnerInput::Claimed(vec![lead(1), lead(2), lead(3)]));
    let tags = dials(&out);
    assert_eq!(
        tags,
        ["C/0", "C/1"],
        "progressive: one call per ready agent"
    );
    tags
}

#[test]
fn a_busy_customer_is_retried_by_the_campaign_rule() {
    let mut r = runner(&["1001", "1002"]);
    let tags = dialled_two(&mut r);
    let out = step(
        &mut r,
        3_000,
        RunnerInput::Failed {
            tag: tags[0].clone(),
            status: 486,
        },
    );
    let rec = records(&out);
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0].0, AttemptOutcome::Busy);
    assert_eq!(
        rec[0].1,
        LeadNext::Retry {
            at_ms: T0 + 3_000 + 600_000
        }
    );
    assert_eq!(
        dials(&out),
        ["C/2"],
        "the freed agent is covered by a new call"
    );
    let out = step(
        &mut r,
        4_000,
        RunnerInput::Failed {
            tag: tags[1].clone(),
            status: 404,
        },
    );
    assert_eq!(records(&out), [(AttemptOutcome::Invalid, LeadNext::Done)]);
}

#[test]
fn an_answered_call_pops_the_lead_and_owes_a_disposition() {
    let mut r = runner(&["1001", "1002"]);
    let tags = dialled_two(&mut r);
    step(
        &mut r,
        50,
        RunnerInput::Originated {
            tag: tags[0].clone(),
            call_key: 7,
        },
    );
    step(
        &mut r,
        5_000,
        RunnerInput::Answered {
            tag: tags[0].clone(),
            call_id: "CDR7".into(),
        },
    );
    assert_eq!(r.live(T0 + 5_000).answered_waiting, 1);
    let out = step(
        &mut r,
        5_400,
        RunnerInput::Bridged {
            call_key: 7,
            agent: "1001".into(),
        },
    );
    let pop = out.iter().find_map(|o| match o {
        RunnerOutput::Assign { agent, lead } => Some((agent.clone(), lead.clone())),
        _ => None,
    });
    let (agent, pop) = pop.expect("screen pop");
    assert_eq!(agent, "1001");
    assert_eq!((pop.lead_id.as_str(), pop.call_id.as_str()), ("L1", "CDR7"));
    assert_eq!(pop.fields["name"], "lead 1");
    step(
        &mut r,
        5_400,
        RunnerInput::Agent {
            agent: "1001".into(),
            state: AgentState::InCall,
        },
    );
    let out = step(
        &mut r,
        65_400,
        RunnerInput::CallEnded {
            call_id: "CDR7".into(),
            customer: None,
        },
    );
    assert_eq!(records(&out), [(AttemptOutcome::Answered, LeadNext::Done)]);
    assert!(out.contains(&RunnerOutput::AgentCallEnded {
        agent: "1001".into()
    }));
    assert!(out.contains(&RunnerOutput::AgentOp {
        agent: "1001".into(),
        op: AgentOp::Pause {
            reason: DISPOSITION_PAUSE.into()
        }
    }));
    let out = step(
        &mut r,
        70_000,
        RunnerInput::Dispositioned {
            agent: "1001".into(),
            human: true,
        },
    );
    assert!(out.contains(&RunnerOutput::Unassign {
        agent: "1001".into()
    }));
    assert!(out.contains(&RunnerOutput::AgentOp {
        agent: "1001".into(),
        op: AgentOp::Unpause
    }));
    assert_eq!(r.floor.totals.agent_humans, 1, "the disposition counted");
    // A disposition for a call of another campaign the agent also serves: not counted here.
    step(
        &mut r,
        80_000,
        RunnerInput::Dispositioned {
            agent: "1001".into(),
            human: true,
        },
    );
    assert_eq!(r.floor.totals.agent_humans, 1, "not this campaign's call");
    let live = r.live(T0 + 70_000);
    assert_eq!((live.live_answers, live.abandoned), (1, 0));
    assert!(
        live.talk_utilisation > 0.4,
        "60 s of 2×70 s: {}",
        live.talk_utilisation
    );
}

#[test]
fn a_disposition_during_the_call_is_not_overwritten_by_the_attempt() {
    let mut r = runner(&["1001"]);
    step(&mut r, 0, RunnerInput::Tick);
    let tag = dials(&step(&mut r, 10, RunnerInput::Claimed(vec![lead(1)])))[0].clone();
    step(
        &mut r,
        20,
        RunnerInput::Originated {
            tag: tag.clone(),
            call_key: 1,
        },
    );
    step(
        &mut r,
        900,
        RunnerInput::Answered {
            tag,
            call_id: "K".into(),
        },
    );
    step(
        &mut r,
        1_000,
        RunnerInput::Bridged {
            call_key: 1,
            agent: "1001".into(),
        },
    );
    let out = step(
        &mut r,
        9_000,
        RunnerInput::Dispositioned {
            agent: "1001".into(),
            human: true,
        },
    );
    assert!(
        out.is_empty(),
        "still talking: the lead stays on screen, no pause to end: {out:?}"
    );
    let out = step(
        &mut r,
        20_000,
        RunnerInput::CallEnded {
            call_id: "K".into(),
            customer: None,
        },
    );
    assert_eq!(
        records(&out),
        [(AttemptOutcome::Answered, LeadNext::Unchanged)]
    );
    assert!(!out
        .iter()
        .any(|o| matches!(o, RunnerOutput::AgentOp { .. })));
    assert!(out.contains(&RunnerOutput::Unassign {
        agent: "1001".into()
    }));
}

#[test]
fn an_answer_no_agent_took_in_time_is_an_abandon() {
    let mut r = runner(&["1001", "1002"]);
    let tags = dialled_two(&mut r);
    step(
        &mut r,
        20,
        RunnerInput::Originated {
            tag: tags[1].clone(),
            call_key: 9,
        },
    );
    step(
        &mut r,
        4_000,
        RunnerInput::Answered {
            tag: tags[1].clone(),
            call_id: "K9".into(),
        },
    );
    step(&mut r, 6_000, RunnerInput::LeftQueue { call_key: 9 });
    let out = step(
        &mut r,
        20_000,
        RunnerInput::CallEnded {
            call_id: "K9".into(),
            customer: None,
        },
    );
    let rec = records(&out);
    assert_eq!(rec[0].0, AttemptOutcome::Dropped);
    assert_eq!(
        rec[0].1,
        LeadNext::Retry {
            at_ms: T0 + 20_000 + 72 * 3_600_000
        },
        "no call back within 72 h"
    );
    let live = r.live(T0 + 20_000);
    assert_eq!((live.live_answers, live.abandoned), (1, 1));
    assert!((live.abandon_rate - 1.0).abs() < 1e-9);
}

#[test]
fn stopping_gives_back_unused_leads_and_lets_calls_finish() {
    let mut r = runner(&["1001"]);
    step(&mut r, 0, RunnerInput::Tick);
    let tag = dials(&step(
        &mut r,
        10,
        RunnerInput::Claimed(vec![lead(1), lead(2), lead(3)]),
    ))[0]
        .clone();
    let out = step(&mut r, 100, RunnerInput::Stop);
    assert!(out.contains(&RunnerOutput::Unclaim(vec![
        LeadId("L2".into()),
        LeadId("L3".into())
    ])));
    assert!(!r.finished(), "a call is still ringing");
    let out = step(&mut r, 200, RunnerInput::Tick);
    assert!(dials(&out).is_empty());
    step(&mut r, 20_000, RunnerInput::Failed { tag, status: 487 });
    assert!(!r.finished(), "a claim is still out");
    let out = step(&mut r, 20_100, RunnerInput::Claimed(vec![lead(4)]));
    assert_eq!(out, [RunnerOutput::Unclaim(vec![LeadId("L4".into())])]);
    assert!(r.finished());
}

#[test]
fn a_refused_originate_gives_the_lead_back_and_an_empty_hopper_backs_off() {
    let mut r = runner(&["1001"]);
    step(&mut r, 0, RunnerInput::Tick);
    let out = step(&mut r, 10, RunnerInput::Claimed(vec![lead(1)]));
    assert!(
        matches!(out.last(), Some(RunnerOutput::Claim(_))),
        "asks for more while dialling the last lead at hand: {out:?}"
    );
    let tag = dials(&out)[0].clone();
    let out = step(
        &mut r,
        20,
        RunnerInput::OriginateRefused {
            tag,
            why: "no such trunk".into(),
        },
    );
    assert!(records(&out).is_empty(), "not the lead's fault: no attempt");
    assert!(out.contains(&RunnerOutput::Unclaim(vec![LeadId("L1".into())])));
    assert!(r
        .live(T0 + 30)
        .idle_reason
        .is_some_and(|w| w.contains("no such trunk")));
    step(&mut r, 30, RunnerInput::Claimed(vec![lead(2)]));
    let out = step(&mut r, 600, RunnerInput::Tick);
    assert!(
        dials(&out).is_empty(),
        "backing off after a refusal: {out:?}"
    );
    let out = step(&mut r, 5_100, RunnerInput::Tick);
    assert_eq!(dials(&out).len(), 1, "dialling again after the back-off");
    step(&mut r, 5_200, RunnerInput::Claimed(Vec::new()));
    let out = step(&mut r, 5_700, RunnerInput::Tick);
    assert!(out.is_empty(), "backing off after an empty claim: {out:?}");
    let out = step(&mut r, 7_300, RunnerInput::Tick);
    assert!(
        matches!(out.as_slice(), [RunnerOutput::Claim(_)]),
        "{out:?}"
    );
    assert_eq!(
        r.live(T0 + 7_300).idle_reason.as_deref(),
        None,
        "a call is up"
    );
}

#[test]
fn no_agent_logged_in_means_no_call() {
    let mut r = CampaignRunner::new("C", campaign(DialMode::Predictive), &[], T0);
    let out = step(&mut r, 0, RunnerInput::Tick);
    assert!(dials(&out).is_empty());
    step(&mut r, 10, RunnerInput::Claimed(vec![lead(1)]));
    assert!(r
        .live(T0 + 10)
        .idle_reason
        .is_some_and(|w| w.contains("logged in")));
    let out = step(
        &mut r,
        600,
        RunnerInput::Agent {
            agent: "1001".into(),
            state: AgentState::Ready,
        },
    );
    assert_eq!(
        dials(&out).len(),
        1,
        "progressive floor of the predictive pacer"
    );
}

#[test]
fn with_detection_a_machine_is_not_a_live_answer_and_a_person_is() {
    let mut c = campaign(DialMode::Progressive);
    c.amd = Some(crate::dialer::campaign::AmdSettings {
        config: Default::default(),
        message: None,
    });
    let mut r = ready_agents(c, &["1001", "1002"]);
    let tags = dialled_two(&mut r);
    for (i, tag) in tags.iter().enumerate() {
        step(
            &mut r,
            4_000,
            RunnerInput::Answered {
                tag: tag.clone(),
                call_id: format!("K{i}"),
            },
        );
    }
    assert_eq!(
        r.live(T0 + 4_000).answered_waiting,
        0,
        "not waiting for an agent while detection listens"
    );
    step(
        &mut r,
        6_000,
        RunnerInput::Amd {
            tag: tags[0].clone(),
            result: AmdResult::Machine,
        },
    );
    step(
        &mut r,
        5_000,
        RunnerInput::Amd {
            tag: tags[1].clone(),
            result: AmdResult::Human,
        },
    );
    let live = r.live(T0 + 6_000);
    assert_eq!((live.machines, live.answered_waiting), (1, 1));
    let out = step(
        &mut r,
        9_000,
        RunnerInput::CallEnded {
            call_id: "K0".into(),
            customer: None,
        },
    );
    assert_eq!(
        records(&out),
        [(
            AttemptOutcome::Machine,
            LeadNext::Retry {
                at_ms: T0 + 9_000 + 4 * 3_600_000
            }
        )]
    );
}

#[test]
fn reserved_and_ringing_are_one_ready_span_for_utilisation() {
    let mut r = runner(&["1001"]);
    let ready_again = || RunnerInput::Agent {
        agent: "1001".into(),
        state: AgentState::Ready,
    };
    step(&mut r, 10_000, ready_again());
    step(&mut r, 15_000, ready_again());
    step(
        &mut r,
        20_000,
        RunnerInput::Agent {
            agent: "1001".into(),
            state: AgentState::InCall,
        },
    );
    let u = r.live(T0 + 40_000).talk_utilisation;
    assert!(
        (u - 0.5).abs() < 1e-9,
        "20 s of talk in 40 s logged in: {u}"
    );
}

#[test]
fn without_dispositions_the_ofcom_rate_counts_agent_handled_calls() {
    let mut c = campaign(DialMode::Progressive);
    c.abandon.regime = crate::dialer::campaign::AbandonRegime::UkOfcom;
    c.disposition_required = false;
    let mut r = ready_agents(c, &["1001", "1002"]);
    let tags = dialled_two(&mut r);
    for (i, tag) in tags.iter().enumerate() {
        step(
            &mut r,
            100,
            RunnerInput::Originated {
                tag: tag.clone(),
                call_key: i as u64,
            },
        );
        step(
            &mut r,
            4_000,
            RunnerInput::Answered {
                tag: tag.clone(),
                call_id: format!("K{i}"),
            },
        );
    }
    step(
        &mut r,
        4_500,
        RunnerInput::Bridged {
            call_key: 0,
            agent: "1001".into(),
        },
    );
    step(&mut r, 6_000, RunnerInput::LeftQueue { call_key: 1 });
    let out = step(
        &mut r,
        60_000,
        RunnerInput::CallEnded {
            call_id: "K0".into(),
            customer: None,
        },
    );
    assert!(out.contains(&RunnerOutput::Unassign {
        agent: "1001".into()
    }));
    let rate = r.live(T0 + 60_000).abandon_rate;
    assert!((rate - 0.5).abs() < 1e-9, "1 drop, 1 handled: {rate}");
}
