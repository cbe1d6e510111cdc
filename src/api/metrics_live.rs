//! The `/metrics` series read at scrape time from the running ACD and dialer (rather than
//! counted as they happen): per queue, agents by state, and per running campaign. Queue
//! counters (`offered`, `answered`, `abandoned`) are the ACD's own since start-up, so they
//! are exposed as Prometheus counters; everything else is a gauge.
//!
//! Names follow the Prometheus conventions: `switchboard_` prefix, base units (seconds),
//! `_total` on counters, `_ratio` on 0–1 fractions; labels `queue`, `state`, `campaign`.

use std::fmt::Write as _;

use crate::acd::{AgentSnapshot, AgentState, QueueStats};
use crate::dialer::live::CampaignLive;

/// Every state an agent can be in, as labelled (`paused` whatever the reason).
pub const AGENT_STATES: [&str; 7] = [
    "logged_out",
    "available",
    "reserved",
    "ringing",
    "on_call",
    "wrap_up",
    "paused",
];

fn state_label(s: &AgentState) -> &'static str {
    match s {
        AgentState::LoggedOut => "logged_out",
        AgentState::Available => "available",
        AgentState::Reserved => "reserved",
        AgentState::Ringing => "ringing",
        AgentState::OnCall => "on_call",
        AgentState::WrapUp => "wrap_up",
        AgentState::Paused(_) => "paused",
    }
}

/// Label value escaping (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: HELP, TYPE, then one sample per (label value, value).
fn family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    label: &str,
    samples: impl Iterator<Item = (String, String)>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (value_of_label, value) in samples {
        let _ = writeln!(
            out,
            "{name}{{{label}=\"{}\"}} {value}",
            escape(&value_of_label)
        );
    }
}

/// Per-queue series.
pub fn render_queues(out: &mut String, queues: &[QueueStats]) {
    type Pick = fn(&QueueStats) -> Option<String>;
    let series: [(&str, &str, &str, Pick); 7] = [
        ("switchboard_queue_waiting", "gauge", "Callers waiting in the queue.", |q| {
            Some(q.waiting.to_string())
        }),
        (
            "switchboard_queue_longest_wait_seconds",
            "gauge",
            "How long the queue's longest-waiting caller has waited.",
            |q| Some(format!("{:.3}", q.longest_wait.as_secs_f64())),
        ),
        (
            "switchboard_queue_service_level_ratio",
            "gauge",
            "Callers answered within the queue's service-level threshold / offered (absent before the first caller).",
            |q| q.service_level.map(|s| format!("{s:.4}")),
        ),
        (
            "switchboard_queue_calls_offered_total",
            "counter",
            "Callers who joined the queue.",
            |q| Some(q.offered.to_string()),
        ),
        (
            "switchboard_queue_calls_answered_total",
            "counter",
            "Queue callers answered by an agent.",
            |q| Some(q.answered.to_string()),
        ),
        (
            "switchboard_queue_calls_abandoned_total",
            "counter",
            "Queue callers who hung up before an agent answered.",
            |q| Some(q.abandoned.to_string()),
        ),
        (
            "switchboard_queue_agents_available",
            "gauge",
            "Agents of the queue ready for a call.",
            |q| Some(q.agents_available.to_string()),
        ),
    ];
    for (name, kind, help, pick) in series {
        family(
            out,
            name,
            kind,
            help,
            "queue",
            queues
                .iter()
                .filter_map(|q| pick(q).map(|v| (q.queue.clone(), v))),
        );
    }
}

/// Agents by state (every state listed, zeros included).
pub fn render_agents(out: &mut String, agents: &[AgentSnapshot]) {
    family(
        out,
        "switchboard_agents",
        "gauge",
        "Agents by state.",
        "state",
        AGENT_STATES.iter().map(|s| {
            let n = agents
                .iter()
                .filter(|a| state_label(&a.state) == *s)
                .count();
            (s.to_string(), n.to_string())
        }),
    );
}

/// Per running campaign.
pub fn render_campaigns(out: &mut String, campaigns: &[CampaignLive]) {
    type Pick = fn(&CampaignLive) -> String;
    let series: [(&str, &str, &str, Pick); 6] = [
        (
            "switchboard_dialer_dial_level",
            "gauge",
            "Calls placed per agent ready or about to be (the pacer's current level).",
            |c| format!("{:.4}", c.dial_level),
        ),
        (
            "switchboard_dialer_lines_in_flight",
            "gauge",
            "Calls placed and not yet answered or failed.",
            |c| c.lines_in_flight.to_string(),
        ),
        (
            "switchboard_dialer_abandon_ratio",
            "gauge",
            "Abandoned calls / live answers since the campaign's runner started.",
            |c| format!("{:.4}", c.abandon_rate),
        ),
        (
            "switchboard_dialer_abandon_target_ratio",
            "gauge",
            "The campaign's abandon-rate ceiling.",
            |c| format!("{:.4}", c.abandon_target),
        ),
        (
            "switchboard_dialer_talk_utilisation_ratio",
            "gauge",
            "Talk time / logged-in time of the campaign's agents.",
            |c| format!("{:.4}", c.talk_utilisation),
        ),
        (
            "switchboard_dialer_dials_total",
            "counter",
            "Calls placed since the campaign's runner started.",
            |c| c.dials.to_string(),
        ),
    ];
    for (name, kind, help, pick) in series {
        family(
            out,
            name,
            kind,
            help,
            "campaign",
            campaigns.iter().map(|c| (c.campaign_id.clone(), pick(c))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaigns_are_labelled_and_escaped() {
        let mut out = String::new();
        render_campaigns(
            &mut out,
            &[CampaignLive {
                campaign_id: "spring\"24".into(),
                dial_level: 2.5,
                lines_in_flight: 7,
                abandon_rate: 0.025,
                abandon_target: 0.03,
                talk_utilisation: 0.8,
                dials: 120,
                ..CampaignLive::default()
            }],
        );
        assert!(out.contains("switchboard_dialer_dial_level{campaign=\"spring\\\"24\"} 2.5000\n"));
        assert!(out.contains("switchboard_dialer_lines_in_flight{campaign=\"spring\\\"24\"} 7\n"));
        assert!(out.contains("# TYPE switchboard_dialer_dials_total counter\n"));
        assert!(
            out.contains("switchboard_dialer_abandon_ratio{campaign=\"spring\\\"24\"} 0.0250\n")
        );
    }

    #[test]
    fn every_agent_state_is_listed() {
        let mut out = String::new();
        render_agents(&mut out, &[]);
        for s in AGENT_STATES {
            assert!(
                out.contains(&format!("switchboard_agents{{state=\"{s}\"}} 0\n")),
                "{s}"
            );
        }
    }
}
