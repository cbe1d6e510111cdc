//! A call waiting in an ACD queue: the switch answered it and plays music on hold, and
//! the ACD (driven by the switch from [`QueueNotice`]s) tells it which agents to ring,
//! what to announce, and whose answer wins. The call never decides a race itself: an
//! agent's 2xx is ACKed and held until the ACD says bridge or release, so two agents
//! answering a ring-all at once end with one bridged and one cleanly hung up.

use std::collections::VecDeque;

use super::call::{Call, CallState, Round};
use super::script::Wait;
use super::{CallIo, QueueNotice, Target};
use crate::media::Leg;
use crate::sip::dialog::Dialog;
use crate::sip::message::Response;

/// The prompt looped while a caller waits.
const MUSIC_ON_HOLD: &str = "moh";
/// Played when a caller's place is kept for a callback.
const CALLBACK_CONFIRM: &str = "queue-callback-confirm";

/// The call's life in a queue.
pub(super) struct QueueState {
    name: String,
    /// Announcement prompts still to play before the music resumes.
    announcing: VecDeque<String>,
    /// Agents whose phones answered, waiting for the ACD's verdict: (fork, agent, dialog, 2xx).
    answered: Vec<(usize, String, Dialog, Response)>,
    /// The agent bridged to the caller.
    pub bridged: Option<String>,
}

/// `"french:50, billing"` → `[("french", 50), ("billing", 1)]`; malformed parts are skipped.
fn skills(spec: &str) -> Vec<(String, u8)> {
    spec.split(',')
        .filter_map(|part| {
            let (name, level) = part.split_once(':').unwrap_or((part, "1"));
            let name = name.trim();
            let level = level.trim().parse().ok()?;
            (!name.is_empty()).then(|| (name.to_string(), level))
        })
        .collect()
}

impl Call {
    /// `queue` action: answer, music on hold, and tell the ACD.
    pub(super) fn join_queue(&mut self, io: &mut CallIo<'_>, name: String, max_wait: Option<u32>) {
        if !self.answer_a(io) {
            return;
        }
        self.round = Some(Round {
            first: self.forks.len(),
            late: true,
            sequence: VecDeque::new(),
            timeout: std::time::Duration::MAX,
        });
        self.script.wait = Wait::Queue;
        self.play(io, MUSIC_ON_HOLD, true);
        let vars = &self.script.vars;
        let action_wait = max_wait.map(|s| std::time::Duration::from_secs(u64::from(s)));
        let var_wait = vars
            .get("QUEUE_MAX_WAIT_MS")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_millis);
        let max_wait = match (action_wait, var_wait) {
            (Some(a), Some(v)) => Some(a.min(v)),
            (a, v) => a.or(v),
        };
        io.notices.push(QueueNotice::Join {
            key: self.key,
            queue: name.clone(),
            caller: self.script.caller.clone(),
            max_wait,
            skills: vars
                .get("QUEUE_SKILLS")
                .map_or_else(Vec::new, |s| skills(s)),
            priority: vars
                .get("QUEUE_PRIORITY")
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(0),
        });
        self.queue = Some(QueueState {
            name,
            announcing: VecDeque::new(),
            answered: Vec::new(),
            bridged: None,
        });
    }

    /// The queue this call waits in.
    pub fn queue_name(&self) -> Option<&str> {
        self.queue.as_ref().map(|q| q.name.as_str())
    }

    fn waiting(&self) -> bool {
        self.script.wait == Wait::Queue && self.state == CallState::Answered
    }

    /// The ACD offers the call to `agent`: ring the agent's phone(s).
    pub fn queue_ring(&mut self, io: &mut CallIo<'_>, agent: &str, targets: Vec<Target>) {
        if !self.waiting() {
            return;
        }
        if targets.is_empty() {
            io.notices.push(QueueNotice::AgentFailed {
                key: self.key,
                agent: agent.to_string(),
                busy: false,
            });
            return;
        }
        for t in targets {
            self.launch_fork(io, t);
            if let Some(f) = self.forks.last_mut() {
                f.agent = Some(agent.to_string());
            }
        }
    }

    /// Stop ringing `agent` (lost a race, ring time over, caller left); an answer of
    /// theirs still held is hung up.
    pub fn queue_cancel(&mut self, io: &mut CallIo<'_>, agent: &str) {
        for j in 0..self.forks.len() {
            if self.forks[j].agent.as_deref() == Some(agent) {
                self.cancel_fork(io, j);
            }
        }
        self.queue_release(io, agent);
    }

    /// `agent`'s answer won: bridge.
    pub fn queue_bridge(&mut self, io: &mut CallIo<'_>, agent: &str) {
        let Some(q) = self.queue.as_mut() else { return };
        let Some(at) = q.answered.iter().position(|a| a.1 == agent) else {
            return;
        };
        let (i, agent, b, resp) = q.answered.remove(at);
        q.bridged = Some(agent);
        q.announcing.clear();
        let rest: Vec<_> = q.answered.drain(..).collect();
        self.take_winner(io, i, &b);
        self.connect_b(io, i, b, &resp);
        for (_, other, mut d, _) in rest {
            tracing::info!(agent = %other, "answer lost the race: hung up");
            self.send_bye(io, &mut d);
        }
    }

    /// `agent`'s answer lost (or came after the call moved on): hang that leg up.
    pub fn queue_release(&mut self, io: &mut CallIo<'_>, agent: &str) {
        let Some(q) = self.queue.as_mut() else { return };
        let released: Vec<_> = q.answered.extract_if(.., |a| a.1 == agent).collect();
        for (_, _, mut d, _) in released {
            self.send_bye(io, &mut d);
        }
    }

    /// Play an announcement (position, estimated wait), then the music again.
    pub fn queue_announce(&mut self, io: &mut CallIo<'_>, prompts: Vec<String>) {
        if !self.waiting() {
            return;
        }
        let Some(q) = self.queue.as_mut() else { return };
        q.announcing = prompts.into();
        self.next_announcement(io);
    }

    fn next_announcement(&mut self, io: &mut CallIo<'_>) {
        let next = self.queue.as_mut().and_then(|q| q.announcing.pop_front());
        let _ = match next {
            Some(p) => self.play(io, &p, false),
            None => self.play(io, MUSIC_ON_HOLD, true),
        };
    }

    /// A prompt ended while queued: the next part of an announcement, or the music.
    pub(super) fn on_queue_play_done(&mut self, io: &mut CallIo<'_>, id: u64) {
        if self.waiting() && self.last_play == Some(id) {
            self.next_announcement(io);
        }
    }

    /// The ACD kept the caller's place for a callback: confirm and hang up.
    pub fn queue_callback_kept(&mut self, io: &mut CallIo<'_>) {
        if !self.waiting() {
            return;
        }
        self.cancel_agents(io);
        self.queue = None;
        self.round = None;
        self.script.wait = Wait::Nothing;
        self.script.replace(
            &self.script.context.clone(),
            &self.script.callee.clone(),
            vec![
                crate::dialplan::Action::Playback {
                    prompt: CALLBACK_CONFIRM.into(),
                },
                crate::dialplan::Action::Hangup {
                    cause: crate::dialplan::HangupCause::NormalClearing,
                },
            ],
            Default::default(),
        );
        self.run_script(io);
    }

    /// The call leaves the queue without an agent: on to the next action (`status` in
    /// `${QUEUESTATUS}`), or to `destination` (overflow) when given.
    pub fn queue_leave(&mut self, io: &mut CallIo<'_>, status: &str, destination: Option<&str>) {
        if !self.waiting() {
            return;
        }
        self.cancel_agents(io);
        self.queue = None;
        self.round = None;
        self.script
            .vars
            .insert("QUEUESTATUS".into(), status.to_string());
        self.script.wait = Wait::Nothing;
        if let Some(media) = &self.media {
            if let Some((ctl, _)) = io.media {
                ctl.stop_play(media.id(), Leg::A);
            }
        }
        match destination {
            Some(d) => {
                let (context, exten) = match d.split_once(',') {
                    Some((c, e)) => (c.to_string(), e.to_string()),
                    None => (self.script.context.clone(), d.to_string()),
                };
                self.reroute(io, &context, &exten);
            }
            None => self.run_script(io),
        }
    }

    fn cancel_agents(&mut self, io: &mut CallIo<'_>) {
        let agents: Vec<String> = self.forks.iter().filter_map(|f| f.agent.clone()).collect();
        for a in agents {
            self.queue_cancel(io, &a);
        }
    }

    /// An agent's phone answered: held (ACKed) until the ACD decides.
    pub(super) fn on_agent_answer(
        &mut self,
        io: &mut CallIo<'_>,
        i: usize,
        b: Dialog,
        resp: Response,
    ) {
        let Some(agent) = self.forks[i].agent.clone() else {
            return;
        };
        match self
            .queue
            .as_mut()
            .filter(|_| self.script.wait == Wait::Queue)
        {
            Some(q) => {
                q.answered.push((i, agent.clone(), b, resp));
                io.notices.push(QueueNotice::AgentAnswered {
                    key: self.key,
                    agent,
                });
            }
            None => {
                let mut b = b;
                self.send_bye(io, &mut b);
            }
        }
    }

    /// An agent's phone refused or could not be reached.
    pub(super) fn on_agent_failed(&mut self, io: &mut CallIo<'_>, agent: String, status: u16) {
        if self.script.wait == Wait::Queue {
            io.notices.push(QueueNotice::AgentFailed {
                key: self.key,
                agent,
                busy: matches!(status, 486 | 600 | 603),
            });
        }
    }

    /// The call is ending: the ACD hears that the caller left (or the agent's call ended).
    pub(super) fn leave_queue_on_hangup(&mut self, io: &mut CallIo<'_>) {
        let Some(mut q) = self.queue.take() else {
            return;
        };
        for (_, _, mut d, _) in q.answered.drain(..) {
            self.send_bye(io, &mut d);
        }
        io.notices.push(match q.bridged {
            Some(agent) => QueueNotice::AgentCallEnded {
                key: self.key,
                agent,
            },
            None => QueueNotice::CallerLeft { key: self.key },
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn caller_skills_come_from_a_variable() {
        assert_eq!(
            super::skills("french:50, billing ,bad:x,"),
            [("french".to_string(), 50), ("billing".to_string(), 1)]
        );
    }
}
