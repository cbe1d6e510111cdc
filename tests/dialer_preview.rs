//! Preview mode over real sockets: the campaign offers its first lead to the logged-in
//! agent (paused "preview", screen pop with `state: preview`) and places nothing; the
//! agent dials: the switch rings the agent's phone, and when it answers calls the lead
//! over the carrier trunk with the campaign's caller id and bridges them; the customer's
//! hang-up ends both legs and the attempt is stored `answered`; after the disposition the
//! next lead is offered, and a skipped lead goes back without an attempt. Two preview
//! campaigns sharing the agent offer it one lead at a time; a number the carrier refuses
//! as not in service, or whose early media carries the special information tones, is invalid.

use switchboard::dialer::campaign::{AgentSet, Campaign, DialMode};
use switchboard::dialer::live::{AgentLead, AgentLeadState, DialerCommand};
use switchboard::dialer::runner::MISSED_PAUSE;
use switchboard::runtime::Running;
use switchboard::store::{AttemptOutcome, CampaignState, LeadStatus, NewLead, Store};

mod phone_support;
use phone_support::{header, response, sdp, Peer};
mod dialer_support;
use dialer_support::*;

/// This file's RTP ports (the preview helper's private range).
const RTP: &str = "36000-36099";

/// The data of the next event of this kind.
async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<switchboard::events::Event>>,
    kind: &str,
) -> serde_json::Value {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(e) if e.kind == kind => return e.data.clone(),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream closed: {e}"),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind} event within 10 s"))
}

/// The lead offered to agent 1001, once its desktop shows one (with `phone` if given).
async fn offered(running: &Running, phone: Option<&str>) -> AgentLead {
    until("the preview offer", async || {
        let lead = running.dialer.agent_lead("1001")?;
        let wanted = phone.is_none_or(|p| p == lead.phone);
        (lead.state == AgentLeadState::Preview && wanted).then_some(lead)
    })
    .await
}

/// Agent 1001 asks for the call; its phone rings and answers (RTP at `rtp`): the INVITE.
async fn dial_and_answer(running: &Running, agent: &Peer, rtp: u16) -> String {
    running.dialer.send(DialerCommand::PreviewDial {
        agent: "1001".into(),
    });
    let ring = agent.expect("INVITE ").await;
    agent
        .send(&response(&ring, "200 OK", "agent", &sdp(rtp)))
        .await;
    agent.expect("ACK ").await;
    ring
}

#[tokio::test]
async fn an_agent_previews_dials_and_skips_leads() {
    let Floor {
        running,
        carrier,
        agent,
        campaign,
        _dir,
        ..
    } = floor_in(RTP, 2, |c| c.dial_mode = DialMode::Preview).await;
    let store: &Store = &running.store;

    // Lead 1 is offered: the agent is held out of the ACD, nothing is dialled yet.
    let offer = offered(&running, None).await;
    assert_eq!(offer.phone, "+442079460001");
    assert_eq!(offer.fields["name"], "customer 1");
    until("paused for the preview", async || {
        (agent_state(&running).await == "paused").then_some(())
    })
    .await;
    let held = store
        .lead_by_phone(&campaign, "+442079460001")
        .await
        .unwrap()
        .expect("lead 1");
    assert_eq!(held.status, LeadStatus::Claimed, "claimed, not dialled");

    // Dial: the agent's phone rings first and answers.
    let mut events = running.events.subscribe();
    let ring = dial_and_answer(&running, &agent, 36_900).await;
    assert!(ring.starts_with("INVITE sip:1001@"), "{ring}");

    // Then the lead, over the trunk, with the campaign's caller id; the desktop says
    // "dialing" while it rings.
    let invite = carrier.expect("INVITE ").await;
    assert!(invite.starts_with("INVITE sip:+442079460001@"), "{invite}");
    assert!(
        header(&invite, "From").contains("+442079460000"),
        "caller id: {invite}"
    );
    let dialing = running.dialer.agent_lead("1001").expect("still popped");
    assert_eq!(dialing.state, AgentLeadState::Dialing);
    assert_eq!(dialing.lead_id, offer.lead_id);

    // The customer answers: bridged to the agent, the desktop shows what a predictive
    // bridge shows (connected, since when, the call), with the same screen pop event.
    carrier
        .send(&response(&invite, "200 OK", "cust", &sdp(36_902)))
        .await;
    carrier.expect("ACK ").await;
    let pop = next_event(&mut events, "agent.screen_pop").await;
    assert_eq!(pop["agent"], "1001");
    assert_eq!(pop["state"], "connected");
    assert_eq!(pop["lead_id"], offer.lead_id.as_str());
    let talking = until("the desktop connected", async || {
        running
            .dialer
            .agent_lead("1001")
            .filter(|l| l.state == AgentLeadState::Connected)
    })
    .await;
    assert!(
        talking.bridged_at_ms >= offer.bridged_at_ms,
        "since the answer"
    );
    assert!(!talking.call_id.is_empty() && !talking.ended);
    assert_eq!(pop["call_id"], talking.call_id.as_str());
    until("the live answer counted at the answer", async || {
        running
            .dialer
            .campaign(campaign.as_str())
            .filter(|l| l.live_answers == 1)
    })
    .await;

    // The customer hangs up: the agent's leg of the same call is hung up too.
    carrier.hang_up(&invite, "cust").await;
    agent.answer_bye().await;

    // Stored like a predictive connect.
    let lead = attempted_lead(store, &campaign, "the preview attempt stored").await;
    assert_eq!(lead.last_outcome, Some(AttemptOutcome::Answered));
    assert_eq!(lead.status, LeadStatus::Done);
    let attempts = store.lead_attempts(&lead.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].attempt.sip_status, Some(200));
    assert!(attempts[0].attempt.answered_at_ms.is_some());
    let live = until("live figures", async || {
        running
            .dialer
            .campaign(campaign.as_str())
            .filter(|l| l.live_answers == 1)
    })
    .await;
    assert_eq!((live.dials, live.abandoned), (1, 0), "never abandoned");

    // The disposition rule applies; then lead 2 is offered.
    until("the disposition owed", async || {
        running.dialer.agent_lead("1001").filter(|l| l.ended)
    })
    .await;
    let mut events = running.events.subscribe();
    running.dialer.send(DialerCommand::Dispositioned {
        agent: "1001".into(),
        human: true,
    });
    let pop = next_event(&mut events, "agent.preview").await;
    assert_eq!(pop["agent"], "1001");
    assert_eq!(pop["state"], "preview");
    assert_eq!(pop["phone"], "+442079460002");
    assert_eq!(pop["fields"]["name"], "customer 2", "the lead's columns");
    let second = until("the next offer", async || {
        running
            .dialer
            .agent_lead("1001")
            .filter(|l| l.state == AgentLeadState::Preview && l.lead_id != offer.lead_id)
    })
    .await;
    assert_eq!(second.phone, "+442079460002");

    // Skipped: back without an attempt, and not offered to this agent again.
    running.dialer.send(DialerCommand::PreviewSkip {
        agent: "1001".into(),
    });
    let gone = next_event(&mut events, "agent.preview_withdrawn").await;
    assert_eq!(gone["lead_id"], second.lead_id.as_str());
    until("the offer withdrawn", async || {
        running.dialer.agent_lead("1001").is_none().then_some(())
    })
    .await;
    let skipped = store
        .lead_by_phone(&campaign, "+442079460002")
        .await
        .unwrap()
        .expect("lead 2");
    assert_eq!(skipped.attempts, 0);
    assert_eq!(skipped.last_outcome, None);
    assert!(store.lead_attempts(&skipped.id).await.unwrap().is_empty());
    until("the agent back in the ACD", async || {
        (agent_state(&running).await == "available").then_some(())
    })
    .await;
    assert!(running.dialer.agent_lead("1001").is_none());
    running.stop_now();
    running.wait().await;
}

#[tokio::test]
async fn a_busy_lead_is_retried_and_an_agent_who_misses_the_call_is_paused() {
    let Floor {
        running,
        carrier,
        agent,
        campaign,
        now,
        _dir,
    } = floor_in(RTP, 2, |c| {
        c.dial_mode = DialMode::Preview;
        // A campaign naming its agents: they serve a queue of its own.
        c.agents = AgentSet::Agents(vec!["1001".into()]);
    })
    .await;
    let store: &Store = &running.store;
    // Lead 1: the agent answers, the customer is busy.
    offered(&running, Some("+442079460001")).await;
    dial_and_answer(&running, &agent, 36_904).await;
    let invite = carrier.expect("INVITE ").await;
    assert!(invite.starts_with("INVITE sip:+442079460001@"), "{invite}");
    carrier
        .send(&response(&invite, "486 Busy Here", "busy", ""))
        .await;
    carrier.expect("ACK ").await;
    agent.answer_bye().await;
    let busy = attempted_lead(store, &campaign, "the busy attempt stored").await;
    assert_eq!(busy.last_outcome, Some(AttemptOutcome::Busy));
    assert_eq!(
        busy.status,
        LeadStatus::Ready,
        "retried by the campaign rule"
    );
    assert!(busy.next_at_ms >= now + 600_000, "after the busy delay");

    // Lead 2: the agent's phone rejects the call: no attempt, the agent is paused.
    offered(&running, Some("+442079460002")).await;
    running.dialer.send(DialerCommand::PreviewDial {
        agent: "1001".into(),
    });
    let ring = agent.expect("INVITE ").await;
    agent
        .send(&response(&ring, "486 Busy Here", "agent", ""))
        .await;
    agent.expect("ACK ").await;
    until("the agent paused as missing", async || {
        let view = running.control.acd().await.ok()??;
        let a = view.agents.iter().find(|a| a.id.0 == "1001")?;
        let state = serde_json::to_value(&a.state).ok()?;
        (state["reason"] == MISSED_PAUSE).then_some(())
    })
    .await;
    let missed = until("lead 2 given back", async || {
        store
            .lead_by_phone(&campaign, "+442079460002")
            .await
            .ok()?
            .filter(|l| l.status == LeadStatus::Ready)
    })
    .await;
    assert_eq!((missed.attempts, missed.last_outcome), (0, None));
    // The agent's phone rings for its queue's ring time: a queue of the file has one, a
    // campaign's own queue (this one) has none (30 s then).
    let ring = running.control.queue_ring_timeout("outbound").await;
    assert_eq!(ring.unwrap(), Some(10));
    let own = format!("campaign-{}", campaign.as_str());
    assert_eq!(
        running.control.queue_ring_timeout(&own).await.unwrap(),
        None
    );
    assert!(running.dialer.agent_lead("1001").is_none());
    running.stop_now();
    running.wait().await;
}

/// Offers of leads (`agent.preview` with state preview) among the events received so far.
fn offers_so_far(
    events: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<switchboard::events::Event>>,
) -> Vec<serde_json::Value> {
    std::iter::from_fn(|| events.try_recv().ok())
        .filter(|e| e.kind == "agent.preview" && e.data["state"] == "preview")
        .map(|e| e.data.clone())
        .collect()
}

#[tokio::test]
async fn two_preview_campaigns_sharing_the_agent_offer_it_one_lead_at_a_time() {
    let Floor {
        running,
        campaign: first,
        now,
        _dir,
        ..
    } = floor_in(RTP, 2, |c| {
        c.dial_mode = DialMode::Preview;
        c.state = CampaignState::Draft;
    })
    .await;
    let store: &Store = &running.store;
    // A second preview campaign over the same queue (so the same agent), two leads: each
    // campaign keeps one at hand while the other's is offered.
    let record = store.campaign(&first).await.unwrap().expect("stored");
    let mut def = Campaign::from_record(&record).unwrap();
    def.name = "autumn".into();
    let new = def.to_new().unwrap();
    let second = store.create_campaign(&new, now).await.unwrap();
    let list = store.create_list(&second, "autumn", now).await.unwrap();
    let lead = |i: u64| NewLead {
        seq: i,
        phone: format!("+44207946010{i}"),
        tz: "UTC".into(),
        fields: serde_json::json!({ "name": format!("autumn {i}") }),
        priority: 0,
    };
    let rows = [lead(1), lead(2)];
    store
        .import_leads(&second, &list, &rows, now)
        .await
        .unwrap();

    // Both run; the first to get its leads offers one to the agent and holds it.
    let mut events = running.events.subscribe();
    for c in [&first, &second] {
        let (draft, on) = (CampaignState::Draft, CampaignState::Running);
        assert!(store.set_campaign_state(c, draft, on, now).await.unwrap());
    }
    running.dialer.send(DialerCommand::Wake);
    next_event(&mut events, "agent.preview").await;
    let settled = async || {
        let since = switchboard::runtime::now_unix_ms();
        for c in [&first, &second] {
            until("two publications later", async || {
                running
                    .dialer
                    .campaign(c.as_str())
                    .filter(|l| l.updated_at_ms > since + 600)
            })
            .await;
        }
    };
    until("both campaigns' leads claimed", async || {
        for c in [&first, &second] {
            let counts = store.lead_counts(c).await.ok()?;
            (counts.claimed > 0).then_some(())?;
        }
        Some(())
    })
    .await;
    settled().await;
    assert!(offers_so_far(&mut events).is_empty(), "a second offer");

    // The agent logs out (the offer goes back) and in again: one event tells both runners,
    // each with a lead at hand, that it is available; the first to offer holds it, the
    // other offers nothing.
    let op = |op| running.control.agent_op("1001", op);
    assert!(op(switchboard::acd::AgentOp::Logout).await.unwrap());
    until("the offer withdrawn", async || {
        running.dialer.agent_lead("1001").is_none().then_some(())
    })
    .await;
    assert!(op(switchboard::acd::AgentOp::Login).await.unwrap());
    let offer = next_event(&mut events, "agent.preview").await;
    let other = if offer["campaign_id"] == first.as_str() {
        &second
    } else {
        &first
    };
    settled().await;
    let idle = running.dialer.campaign(other.as_str()).expect("running");
    assert_eq!(
        idle.idle_reason.as_deref(),
        Some("preview mode: no ready agent of the campaign's queue")
    );
    assert!(
        offers_so_far(&mut events).is_empty(),
        "a second offer to the same agent"
    );
    let desk = running.dialer.agent_lead("1001").expect("the one offer");
    assert_eq!(desk.lead_id, offer["lead_id"].as_str().unwrap());
    assert_eq!(desk.state, AgentLeadState::Preview);
    running.stop_now();
    running.wait().await;
}

#[tokio::test]
async fn a_number_refused_after_its_announcement_is_invalid_and_never_retried() {
    let floor = floor_in(RTP, 1, |c| c.dial_mode = DialMode::Preview).await;
    let (running, carrier, store) = (&floor.running, &floor.carrier, &floor.running.store);
    offered(running, None).await;
    dial_and_answer(running, &floor.agent, 36_906).await;
    // The network plays its announcement in early media, then refuses the number.
    let invite = carrier.expect("INVITE ").await;
    carrier
        .send(&response(
            &invite,
            "183 Session Progress",
            "net",
            &sdp(36_908),
        ))
        .await;
    carrier
        .send(&response(&invite, "404 Not Found", "net", ""))
        .await;
    carrier.expect("ACK ").await;
    floor.agent.answer_bye().await;
    let lead = attempted_lead(store, &floor.campaign, "the attempt stored").await;
    assert_eq!(lead.last_outcome, Some(AttemptOutcome::Invalid));
    assert_eq!(lead.status, LeadStatus::Done, "never retried");
    let attempts = store.lead_attempts(&lead.id).await.unwrap();
    assert_eq!(attempts[0].attempt.sip_status, Some(404));
    assert!(attempts[0].attempt.answered_at_ms.is_none());
    floor.running.stop_now();
    floor.running.wait().await;
}

#[tokio::test]
async fn a_special_information_tone_on_the_customer_leg_gives_it_up_as_invalid() {
    let floor = floor_in(RTP, 1, |c| c.dial_mode = DialMode::Preview).await;
    let (running, carrier, store) = (&floor.running, &floor.carrier, &floor.running.store);
    offered(running, None).await;
    dial_and_answer(running, &floor.agent, 36_906).await;
    // Early media with the "not in service" tones and no final answer from the network: the
    // switch gives the customer up on hearing them, long before the ring timeout.
    let invite = carrier.expect("INVITE ").await;
    tones_until_cancelled(carrier, &invite).await;
    floor.agent.answer_bye().await;
    let lead = attempted_lead(store, &floor.campaign, "the attempt stored").await;
    assert_eq!(lead.last_outcome, Some(AttemptOutcome::Invalid));
    assert_eq!(lead.status, LeadStatus::Done, "never retried");
    let attempts = store.lead_attempts(&lead.id).await.unwrap();
    assert_eq!(attempts[0].attempt.sip_status, Some(404));
    floor.running.stop_now();
    floor.running.wait().await;
}

#[tokio::test]
async fn a_disposition_after_the_campaign_stopped_still_releases_the_agent() {
    let floor = floor_in(RTP, 1, |c| c.dial_mode = DialMode::Preview).await;
    let (running, carrier, agent) = (&floor.running, &floor.carrier, &floor.agent);
    let store: &Store = &running.store;
    offered(running, None).await;
    dial_and_answer(running, agent, 36_910).await;
    let invite = customer_answers(carrier, 36_912).await;

    // Paused during the call: the call goes on; its end stops the campaign's runner.
    let (on, paused) = (CampaignState::Running, CampaignState::Paused);
    let now = switchboard::runtime::now_unix_ms();
    assert!(store
        .set_campaign_state(&floor.campaign, on, paused, now)
        .await
        .unwrap());
    running.dialer.send(DialerCommand::Wake);
    until("the runner stopping", async || {
        let live = running.dialer.campaign(floor.campaign.as_str())?;
        live.idle_reason.filter(|r| r.starts_with("stopping"))
    })
    .await;
    carrier.hang_up(&invite, "cust").await;
    agent.answer_bye().await;
    attempted_lead(store, &floor.campaign, "the attempt stored").await;
    until("the runner gone", async || {
        running
            .dialer
            .campaign(floor.campaign.as_str())
            .is_none()
            .then_some(())
    })
    .await;
    let owed = running.dialer.agent_lead("1001").expect("the lead stays");
    assert!(owed.ended);
    assert_eq!(agent_state(running).await, "paused", "for the disposition");

    // The disposition, with nobody running the campaign, still ends the pause.
    running.dialer.send(DialerCommand::Dispositioned {
        agent: "1001".into(),
        human: true,
    });
    until("the desktop cleared", async || {
        running.dialer.agent_lead("1001").is_none().then_some(())
    })
    .await;
    until("the agent available", async || {
        (agent_state(running).await == "available").then_some(())
    })
    .await;
    floor.running.stop_now();
    floor.running.wait().await;
}
