//! Preview mode on a virtual clock: offers per ready agent, dial, skip, the outcomes of
//! the customer leg, agents leaving and the campaign pausing.

use super::tests::{campaign, dials, lead, records, step, T0};
use super::*;

fn preview_runner(
    agents: &[(&str, AgentState)],
    edit: impl FnOnce(&mut Campaign),
) -> CampaignRunner {
    let states: Vec<_> = agents.iter().map(|(a, s)| (a.to_string(), *s)).collect();
    let mut c = campaign(DialMode::Preview);
    edit(&mut c);
    CampaignRunner::new("C", c, &states, T0)
}

/// Agent → (lead id, state) of every screen pop in `out`.
fn pops(out: &[RunnerOutput]) -> Vec<(String, String, AgentLeadState)> {
    out.iter()
        .filter_map(|o| match o {
            RunnerOutput::Assign { agent, lead } => {
                Some((agent.clone(), lead.lead_id.clone(), lead.state))
            }
            _ => None,
        })
        .collect()
}

fn pause(agent: &str, reason: &str) -> RunnerOutput {
    RunnerOutput::AgentOp {
        agent: agent.into(),
        op: AgentOp::Pause {
            reason: reason.into(),
        },
    }
}

fn unpause(agent: &str) -> RunnerOutput {
    RunnerOutput::AgentOp {
        agent: agent.into(),
        op: AgentOp::Unpause,
    }
}

/// Agent 1001 passes on its offered lead.
fn skip() -> RunnerInput {
    RunnerInput::PreviewSkip {
        agent: "1001".into(),
    }
}

/// Agent 1001 asks for the call to its offered lead.
fn dial() -> RunnerInput {
    RunnerInput::PreviewDial {
        agent: "1001".into(),
    }
}

fn unassign(agent: &str) -> RunnerOutput {
    RunnerOutput::Unassign {
        agent: agent.into(),
    }
}

fn unclaim(ids: &[&str]) -> RunnerOutput {
    RunnerOutput::Unclaim(ids.iter().map(|i| LeadId(i.to_string())).collect())
}

fn no_dial(out: &[RunnerOutput]) -> bool {
    !out.iter().any(|o| {
        matches!(
            o,
            RunnerOutput::Dial { .. } | RunnerOutput::PreviewDial { .. }
        )
    })
}

/// One ready agent offered L1 (of L1, L2).
fn offered_one() -> CampaignRunner {
    let mut r = preview_runner(&[("1001", AgentState::Ready)], |_| {});
    let out = step(&mut r, 0, RunnerInput::Tick);
    assert_eq!(out, [RunnerOutput::Claim(2)]);
    let out = step(&mut r, 10, RunnerInput::Claimed(vec![lead(1), lead(2)]));
    assert_eq!(
        pops(&out),
        [("1001".into(), "L1".into(), AgentLeadState::Preview)]
    );
    assert!(out.contains(&pause("1001", PREVIEW_PAUSE)));
    assert!(no_dial(&out));
    step(
        &mut r,
        20,
        RunnerInput::Agent {
            agent: "1001".into(),
            state: AgentState::Paused,
        },
    );
    r
}

/// Agent 1001 asks for the call to its offered lead at `at`: the tag and what came out.
fn agent_dials(r: &mut CampaignRunner, at: i64) -> (String, Vec<RunnerOutput>) {
    let out = step(
        r,
        at,
        RunnerInput::PreviewDial {
            agent: "1001".into(),
        },
    );
    let tag = out
        .iter()
        .find_map(|o| match o {
            RunnerOutput::PreviewDial { tag, .. } => Some(tag.clone()),
            _ => None,
        })
        .expect("the preview call is placed");
    (tag, out)
}

/// The agent of [`offered_one`] dialled, its phone answered (call `K1`).
fn dialled_and_agent_answered(r: &mut CampaignRunner) -> String {
    let (tag, out) = agent_dials(r, 5_000);
    let lead = out
        .iter()
        .find_map(|o| match o {
            RunnerOutput::PreviewDial { agent, lead, .. } if agent == "1001" => {
                Some(lead.id.clone())
            }
            _ => None,
        })
        .expect("the preview call is placed");
    assert_eq!(lead.as_str(), "L1");
    assert_eq!(
        pops(&out),
        [("1001".into(), "L1".into(), AgentLeadState::Dialing)]
    );
    assert!(r.owns_tag(&tag));
    step(
        r,
        5_050,
        RunnerInput::Originated {
            tag: tag.clone(),
            call_key: 9,
        },
    );
    let out = step(
        r,
        8_000,
        RunnerInput::Answered {
            tag: tag.clone(),
            call_id: "K1".into(),
        },
    );
    assert!(
        records(&out).is_empty(),
        "the agent's answer is not the lead's"
    );
    tag
}

fn ended(
    r: &mut CampaignRunner,
    at: i64,
    status: Option<u16>,
    answered: bool,
) -> Vec<RunnerOutput> {
    step(
        r,
        at,
        RunnerInput::CallEnded {
            call_id: "K1".into(),
            customer: Some(CustomerLeg {
                status,
                answered_at_ms: answered.then_some(T0 + 12_000),
            }),
        },
    )
}

#[test]
fn each_ready_agent_is_offered_its_own_lead_and_nothing_is_dialled() {
    let mut r = preview_runner(
        &[
            ("1001", AgentState::Ready),
            ("1002", AgentState::Ready),
            ("1003", AgentState::Paused),
            ("1004", AgentState::InCall),
        ],
        |_| {},
    );
    let out = step(&mut r, 0, RunnerInput::Tick);
    assert_eq!(out, [RunnerOutput::Claim(3)], "two ready agents, one spare");
    let out = step(
        &mut r,
        10,
        RunnerInput::Claimed(vec![lead(1), lead(2), lead(3)]),
    );
    assert_eq!(
        pops(&out),
        [
            ("1001".into(), "L1".into(), AgentLeadState::Preview),
            ("1002".into(), "L2".into(), AgentLeadState::Preview)
        ]
    );
    assert!(out.contains(&pause("1001", PREVIEW_PAUSE)));
    assert!(out.contains(&pause("1002", PREVIEW_PAUSE)));
    assert!(no_dial(&out));
    // Still Ready in the floor until the pause is reported: no second offer.
    let out = step(&mut r, 400, RunnerInput::Tick);
    assert!(pops(&out).is_empty(), "{out:?}");
    assert_eq!(r.live(T0 + 400).idle_reason, None);
}

#[test]
fn an_answered_preview_call_is_a_connect_and_owes_a_disposition() {
    let mut r = offered_one();
    let _ = dialled_and_agent_answered(&mut r);
    let out = ended(&mut r, 70_000, Some(200), true);
    let rec = records(&out);
    assert_eq!(rec, [(AttemptOutcome::Answered, LeadNext::Done)]);
    let attempt = out.iter().find_map(|o| match o {
        RunnerOutput::Record { attempt, lead, .. } => Some((lead.clone(), attempt.clone())),
        _ => None,
    });
    let (lead, attempt) = attempt.expect("attempt");
    assert_eq!(lead.as_str(), "L1");
    assert_eq!(attempt.call_id.as_deref(), Some("K1"));
    assert_eq!(attempt.answered_at_ms, Some(T0 + 12_000));
    assert!(out.contains(&RunnerOutput::AgentCallEnded {
        agent: "1001".into()
    }));
    assert!(out.contains(&pause("1001", DISPOSITION_PAUSE)));
    let live = r.live(T0 + 70_000);
    assert_eq!((live.live_answers, live.abandoned), (1, 0));
    assert_eq!(live.abandon_rate, 0.0, "an agent was on the line");
    let out = step(
        &mut r,
        75_000,
        RunnerInput::Dispositioned {
            agent: "1001".into(),
            human: true,
        },
    );
    assert!(out.contains(&unassign("1001")));
    assert!(out.contains(&unpause("1001")));
    // Back to ready: the next lead is offered.
    let out = step(
        &mut r,
        75_100,
        RunnerInput::Agent {
            agent: "1001".into(),
            state: AgentState::Ready,
        },
    );
    assert_eq!(
        pops(&out),
        [("1001".into(), "L2".into(), AgentLeadState::Preview)]
    );
}

#[test]
fn the_customer_legs_failures_are_classified_like_predictive_attempts() {
    for (status, want) in [
        (Some(486), AttemptOutcome::Busy),
        (Some(404), AttemptOutcome::Invalid),
        (Some(487), AttemptOutcome::NoAnswer),
        (Some(480), AttemptOutcome::NoAnswer),
        (None, AttemptOutcome::NoAnswer),
        (Some(503), AttemptOutcome::Congestion),
    ] {
        let mut r = offered_one();
        let _ = dialled_and_agent_answered(&mut r);
        let out = ended(&mut r, 40_000, status, false);
        let rec = records(&out);
        assert_eq!(rec.len(), 1, "{status:?}");
        assert_eq!(rec[0].0, want, "{status:?}");
        let expect_next = r.campaign().after_attempt(&lead(1), want, T0 + 40_000);
        assert_eq!(
            rec[0].1, expect_next,
            "{status:?}: the campaign's retry rule"
        );
        assert!(
            !out.contains(&pause("1001", DISPOSITION_PAUSE)),
            "nobody to disposition"
        );
        assert!(out.contains(&unpause("1001")));
        assert!(out.contains(&unassign("1001")));
        assert_eq!(r.live(T0 + 40_000).live_answers, 0);
    }
}

#[test]
fn the_agents_phone_not_answering_gives_the_lead_back_unattempted() {
    let mut r = offered_one();
    let (tag, _) = agent_dials(&mut r, 5_000);
    let out = step(&mut r, 35_000, RunnerInput::Failed { tag, status: 408 });
    assert!(
        records(&out).is_empty(),
        "no attempt: the lead was never called"
    );
    assert!(out.contains(&unclaim(&["L1"])));
    assert!(out.contains(&pause("1001", MISSED_PAUSE)));
    assert!(out.contains(&unassign("1001")));
    assert_eq!(r.live(T0 + 35_000).dials, 0);
}

#[test]
fn a_refused_preview_call_gives_the_lead_back_too() {
    let mut r = offered_one();
    let (tag, _) = agent_dials(&mut r, 5_000);
    let why = "no registered contact".to_string();
    let out = step(&mut r, 5_100, RunnerInput::OriginateRefused { tag, why });
    assert!(out.contains(&unclaim(&["L1"])));
    assert!(records(&out).is_empty());
}

#[test]
fn a_skipped_lead_goes_back_and_the_next_is_offered_but_never_the_same_again() {
    let mut r = offered_one();
    let out = step(&mut r, 3_000, skip());
    assert!(out.contains(&unclaim(&["L1"])));
    assert!(records(&out).is_empty(), "a skip is no attempt");
    assert_eq!(
        pops(&out),
        [("1001".into(), "L2".into(), AgentLeadState::Preview)]
    );
    assert!(
        !out.contains(&pause("1001", PREVIEW_PAUSE)),
        "still held: no second pause"
    );
    // L1 comes back in a later claim: not offered to the agent who skipped it.
    let out = step(&mut r, 4_000, skip());
    assert!(out.contains(&unclaim(&["L2"])));
    assert!(out.contains(&RunnerOutput::Claim(2)), "{out:?}");
    assert!(
        out.contains(&unpause("1001")),
        "nothing at hand: back to the ACD"
    );
    let out = step(&mut r, 4_100, RunnerInput::Claimed(vec![lead(1), lead(3)]));
    assert!(
        pops(&out).is_empty(),
        "the agent is not ready yet (unpause pending): {out:?}"
    );
    let out = step(
        &mut r,
        4_200,
        RunnerInput::Agent {
            agent: "1001".into(),
            state: AgentState::Ready,
        },
    );
    assert_eq!(
        pops(&out),
        [("1001".into(), "L3".into(), AgentLeadState::Preview)]
    );
}

#[test]
fn dial_and_skip_without_an_offer_do_nothing() {
    let mut r = preview_runner(&[("1001", AgentState::Paused)], |_| {});
    let out = step(&mut r, 0, dial());
    assert!(no_dial(&out));
    let out = step(&mut r, 10, skip());
    assert!(!out.iter().any(|o| matches!(o, RunnerOutput::Unclaim(_))));
    // Dialled twice: one call.
    let mut r = offered_one();
    let _ = dialled_and_agent_answered(&mut r);
    let out = step(&mut r, 9_000, dial());
    assert!(no_dial(&out));
    let out = step(&mut r, 9_100, skip());
    assert!(
        !out.iter().any(|o| matches!(o, RunnerOutput::Unclaim(_))),
        "a lead being called cannot be skipped"
    );
}

#[test]
fn an_agent_who_logs_out_gives_the_offered_lead_back() {
    let mut r = offered_one();
    let out = step(
        &mut r,
        2_000,
        RunnerInput::Agent {
            agent: "1001".into(),
            state: AgentState::LoggedOut,
        },
    );
    assert!(out.contains(&unclaim(&["L1"])));
    assert!(out.contains(&unassign("1001")));
    let out = step(&mut r, 3_000, RunnerInput::Tick);
    assert!(pops(&out).is_empty());
}

#[test]
fn pausing_the_campaign_gives_back_offered_and_buffered_leads_and_releases_agents() {
    let mut r = offered_one();
    let out = step(&mut r, 2_000, RunnerInput::Stop);
    assert!(out.contains(&unclaim(&["L2"])), "buffered");
    assert!(out.contains(&unclaim(&["L1"])), "offered");
    assert!(out.contains(&unpause("1001")));
    assert!(out.contains(&unassign("1001")));
    assert!(r.finished());
}

#[test]
fn a_call_in_progress_finishes_after_the_campaign_pauses() {
    let mut r = offered_one();
    let _ = dialled_and_agent_answered(&mut r);
    let out = step(&mut r, 9_000, RunnerInput::Stop);
    assert!(
        !out.contains(&unclaim(&["L1"])),
        "being called: not given back"
    );
    assert!(!r.finished());
    let out = ended(&mut r, 40_000, Some(200), true);
    assert_eq!(records(&out).len(), 1);
    assert!(r.finished());
}

#[test]
fn the_preview_timeout_places_the_call_by_itself() {
    let mut r = preview_runner(&[("1001", AgentState::Ready)], |c| {
        c.preview_timeout_s = Some(10)
    });
    step(&mut r, 0, RunnerInput::Tick);
    step(&mut r, 10, RunnerInput::Claimed(vec![lead(1)]));
    let out = step(&mut r, 9_000, RunnerInput::Tick);
    assert!(no_dial(&out), "not yet");
    let out = step(&mut r, 10_100, RunnerInput::Tick);
    assert!(
        out.iter()
            .any(|o| matches!(o, RunnerOutput::PreviewDial { agent, .. } if agent == "1001")),
        "{out:?}"
    );
}

#[test]
fn without_a_timeout_the_offer_waits_for_the_agent() {
    let mut r = offered_one();
    let out = step(&mut r, 3_600_000, RunnerInput::Tick);
    assert!(no_dial(&out));
}

#[test]
fn an_agent_unpaused_while_a_lead_is_offered_is_held_again() {
    let mut r = offered_one();
    let out = step(
        &mut r,
        2_000,
        RunnerInput::Agent {
            agent: "1001".into(),
            state: AgentState::Ready,
        },
    );
    assert!(out.contains(&pause("1001", PREVIEW_PAUSE)), "{out:?}");
    assert!(pops(&out).is_empty(), "the same offer stays");
}

#[test]
fn the_customer_answering_shows_the_call_connected_and_counts_the_live_answer_once() {
    let mut r = offered_one();
    let tag = dialled_and_agent_answered(&mut r);
    assert_eq!(
        r.live(T0 + 8_000).live_answers,
        0,
        "only the agent answered"
    );
    let out = step(&mut r, 12_000, RunnerInput::CustomerAnswered { tag });
    let connected = out.iter().find_map(|o| match o {
        RunnerOutput::Assign { agent, lead } if agent == "1001" => Some(lead.clone()),
        _ => None,
    });
    let connected = connected.expect("the screen pop of a bridged call");
    assert_eq!(connected.state, AgentLeadState::Connected);
    assert_eq!(connected.lead_id, "L1");
    assert_eq!(connected.call_id, "K1");
    assert_eq!(connected.bridged_at_ms, T0 + 12_000);
    assert!(!connected.ended && connected.disposition_required);
    assert!(records(&out).is_empty(), "stored when the call ends");
    assert_eq!(r.live(T0 + 12_000).live_answers, 1);
    // The end: stored answered, counted once, the disposition owed as before.
    let out = ended(&mut r, 70_000, Some(200), true);
    assert_eq!(records(&out), [(AttemptOutcome::Answered, LeadNext::Done)]);
    assert!(out.contains(&RunnerOutput::AgentCallEnded {
        agent: "1001".into()
    }));
    assert!(out.contains(&pause("1001", DISPOSITION_PAUSE)));
    let live = r.live(T0 + 70_000);
    assert_eq!((live.live_answers, live.abandoned), (1, 0));
}

#[test]
fn a_customer_answer_reported_during_the_call_is_an_answer_even_if_the_record_lacks_it() {
    let mut r = offered_one();
    let tag = dialled_and_agent_answered(&mut r);
    step(&mut r, 12_000, RunnerInput::CustomerAnswered { tag });
    let out = ended(&mut r, 70_000, Some(200), false);
    let attempt = out.iter().find_map(|o| match o {
        RunnerOutput::Record { attempt, .. } => Some(attempt.clone()),
        _ => None,
    });
    let attempt = attempt.expect("stored");
    assert_eq!(attempt.outcome, AttemptOutcome::Answered);
    assert_eq!(attempt.answered_at_ms, Some(T0 + 12_000));
}

#[test]
fn a_customer_answer_for_an_unknown_or_predictive_call_changes_nothing() {
    let mut r = offered_one();
    let unknown = RunnerInput::CustomerAnswered { tag: "C/p9".into() };
    let out = step(&mut r, 6_000, unknown);
    assert!(pops(&out).is_empty());
    let mut p = preview_runner(&[("1001", AgentState::Ready)], |c| {
        c.dial_mode = DialMode::Progressive
    });
    step(&mut p, 0, RunnerInput::Tick);
    let out = step(&mut p, 10, RunnerInput::Claimed(vec![lead(1)]));
    let tag = dials(&out).pop().expect("dialled");
    let out = step(&mut p, 3_000, RunnerInput::CustomerAnswered { tag });
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(p.live(T0 + 3_000).live_answers, 0);
}

/// Another campaign put a lead on agent 1001's desktop (`busy`) or took it off.
fn busy(busy: bool) -> RunnerInput {
    RunnerInput::AgentElsewhere {
        agent: "1001".into(),
        busy,
    }
}

/// Two preview campaigns whose queues share agent 1001, as the runtime feeds them: a lead
/// one puts on the agent's desktop is told to the other at once.
#[test]
fn two_preview_campaigns_never_offer_one_agent_two_leads() {
    let mut a = preview_runner(&[("1001", AgentState::Ready)], |_| {});
    let mut b = {
        let states = [("1001".to_string(), AgentState::Ready)];
        CampaignRunner::new("B", campaign(DialMode::Preview), &states, T0)
    };
    step(&mut a, 0, RunnerInput::Tick);
    assert_eq!(step(&mut b, 0, RunnerInput::Tick), [RunnerOutput::Claim(2)]);
    let out = step(&mut a, 10, RunnerInput::Claimed(vec![lead(1), lead(2)]));
    assert_eq!(
        pops(&out),
        [("1001".into(), "L1".into(), AgentLeadState::Preview)]
    );
    // The runtime's rule: A's screen pop tells B before B's claim comes back.
    assert!(step(&mut b, 10, busy(true)).is_empty());
    let out = step(&mut b, 20, RunnerInput::Claimed(vec![lead(5), lead(6)]));
    assert!(pops(&out).is_empty(), "still Ready in the ACD: {out:?}");
    assert!(!out.contains(&pause("1001", PREVIEW_PAUSE)));
    // An ACD event from before A's pause (available) changes nothing either.
    let ready = RunnerInput::Agent {
        agent: "1001".into(),
        state: AgentState::Ready,
    };
    assert!(pops(&step(&mut b, 30, ready.clone())).is_empty());
    assert!(pops(&step(&mut b, 400, RunnerInput::Tick)).is_empty());
    assert_eq!(
        b.live(T0 + 400).idle_reason.as_deref(),
        Some("preview mode: no ready agent of the campaign's queue")
    );
    // A's pause reaches the ACD; then A is done with the agent (skipped, nothing left):
    // B offers once the ACD has the agent available again.
    let paused = RunnerInput::Agent {
        agent: "1001".into(),
        state: AgentState::Paused,
    };
    step(&mut b, 500, paused);
    assert!(pops(&step(&mut b, 5_000, busy(false))).is_empty());
    let out = step(&mut b, 5_010, ready);
    assert_eq!(
        pops(&out),
        [("1001".into(), "L5".into(), AgentLeadState::Preview)]
    );
    assert!(out.contains(&pause("1001", PREVIEW_PAUSE)));
}

#[test]
fn an_undialled_offer_goes_back_when_another_campaigns_call_reaches_the_agent() {
    let mut r = offered_one();
    let out = step(&mut r, 2_000, busy(true));
    assert!(out.contains(&unclaim(&["L1"])));
    assert!(out.contains(&unassign("1001")));
    assert!(out.contains(&unpause("1001")), "this campaign's hold ends");
    // A dialled offer is not withdrawn.
    let mut r = offered_one();
    let _ = dialled_and_agent_answered(&mut r);
    let out = step(&mut r, 9_000, busy(true));
    assert!(out.is_empty(), "{out:?}");
}

/// The preview call's customer leg is dialled by the call's program (a B leg), whose early
/// media the switch does not listen to: a number a network announces as not in service is
/// known by the final status the carrier sends after the tone (404/410/484/604).
#[test]
fn a_customer_leg_refused_as_not_in_service_is_invalid_and_never_retried() {
    for status in [404, 410, 484, 604] {
        let mut r = offered_one();
        let _ = dialled_and_agent_answered(&mut r);
        let out = ended(&mut r, 20_000, Some(status), false);
        assert_eq!(
            records(&out),
            [(AttemptOutcome::Invalid, LeadNext::Done)],
            "{status}"
        );
        assert!(out.contains(&unpause("1001")), "{status}");
    }
}
