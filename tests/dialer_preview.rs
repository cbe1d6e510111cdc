//! Preview mode over real sockets: the campaign offers its first lead to the logged-in
//! agent (paused "preview", screen pop with `state: preview`) and places nothing; the
//! agent dials: the switch rings the agent's phone, and when it answers calls the lead
//! over the carrier trunk with the campaign's caller id and bridges them; the customer's
//! hang-up ends both legs and the attempt is stored `answered`; after the disposition the
//! next lead is offered, and a skipped lead goes back without an attempt.

use switchboard::dialer::campaign::{AgentSet, DialMode};
use switchboard::dialer::live::{AgentLeadState, DialerCommand};
use switchboard::dialer::runner::MISSED_PAUSE;
use switchboard::store::{AttemptOutcome, LeadStatus, Store};

mod phone_support;
use phone_support::{header, response, sdp};
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
    let sw = running.bound.udp[0];
    let carrier_addr = carrier.sock.local_addr().unwrap();
    let store: &Store = &running.store;

    // Lead 1 is offered: the agent is held out of the ACD, nothing is dialled yet.
    let offer = until("the preview offer", async || {
        running
            .dialer
            .agent_lead("1001")
            .filter(|l| l.state == AgentLeadState::Preview)
    })
    .await;
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
    running.dialer.send(DialerCommand::PreviewDial {
        agent: "1001".into(),
    });
    let ring = agent.expect("INVITE ").await;
    assert!(ring.starts_with("INVITE sip:1001@"), "{ring}");
    agent
        .send(&response(&ring, "200 OK", "agent", &sdp(36_900)))
        .await;
    agent.expect("ACK ").await;

    // Then the lead, over the trunk, with the campaign's caller id.
    let invite = customer_answers(&carrier, 36_902).await;
    assert!(invite.starts_with("INVITE sip:+442079460001@"), "{invite}");
    assert!(
        header(&invite, "From").contains("+442079460000"),
        "caller id: {invite}"
    );
    let dialing = running.dialer.agent_lead("1001").expect("still popped");
    assert_eq!(dialing.state, AgentLeadState::Dialing);
    assert_eq!(dialing.lead_id, offer.lead_id);

    // The customer hangs up: the agent's leg of the same call is hung up too.
    let bye = format!(
        "BYE sip:switch@{sw} SIP/2.0\r\nVia: SIP/2.0/UDP {carrier_addr};branch=z9hG4bKpbye\r\n\
         Max-Forwards: 70\r\nFrom: {to};tag=cust\r\nTo: {from}\r\nCall-ID: {cid}\r\nCSeq: 2 BYE\r\n\
         Content-Length: 0\r\n\r\n",
        to = header(&invite, "To"),
        from = header(&invite, "From"),
        cid = header(&invite, "Call-ID"),
    );
    carrier.send(&bye).await;
    carrier.expect("SIP/2.0 200").await;
    let agent_bye = agent.expect("BYE ").await;
    agent
        .send(&response(&agent_bye, "200 OK", "agent", ""))
        .await;

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
    let offered = |phone: &'static str| {
        let running = &running;
        async move {
            until("the preview offer", async || {
                running
                    .dialer
                    .agent_lead("1001")
                    .filter(|l| l.state == AgentLeadState::Preview && l.phone == phone)
            })
            .await
        }
    };

    // Lead 1: the agent answers, the customer is busy.
    offered("+442079460001").await;
    running.dialer.send(DialerCommand::PreviewDial {
        agent: "1001".into(),
    });
    let ring = agent.expect("INVITE ").await;
    agent
        .send(&response(&ring, "200 OK", "agent", &sdp(36_904)))
        .await;
    agent.expect("ACK ").await;
    let invite = carrier.expect("INVITE ").await;
    assert!(invite.starts_with("INVITE sip:+442079460001@"), "{invite}");
    carrier
        .send(&response(&invite, "486 Busy Here", "busy", ""))
        .await;
    carrier.expect("ACK ").await;
    let agent_bye = agent.expect("BYE ").await;
    agent
        .send(&response(&agent_bye, "200 OK", "agent", ""))
        .await;
    let busy = attempted_lead(store, &campaign, "the busy attempt stored").await;
    assert_eq!(busy.last_outcome, Some(AttemptOutcome::Busy));
    assert_eq!(
        busy.status,
        LeadStatus::Ready,
        "retried by the campaign rule"
    );
    assert!(busy.next_at_ms >= now + 600_000, "after the busy delay");

    // Lead 2: the agent's phone rejects the call: no attempt, the agent is paused.
    offered("+442079460002").await;
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
    assert!(running.dialer.agent_lead("1001").is_none());
    running.stop_now();
    running.wait().await;
}
