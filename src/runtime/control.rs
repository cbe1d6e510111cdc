//! [`SwitchControl`]: the operations surface's handle on the core task. The switch has
//! one owner (the core task); the API asks it questions through a bounded command
//! channel and gets each answer on a oneshot, so no lock is ever shared with the
//! signalling path and a slow API client cannot stall calls (a full channel is refused
//! with [`ControlError::Busy`] rather than waited on).
//!
//! The core task's other duty to the operations surface is in
//! [`call_events`](super::call_events).

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::b2bua::{LiveCall, Now};
use crate::switch::{OriginateError, OriginateRequest, Switch};

/// Requests the API may have queued before the core task answers.
pub const CONTROL_DEPTH: usize = 64;

/// How long the API waits for the core task's answer before giving up (503).
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// A question for the core task.
#[derive(Debug)]
pub enum ControlRequest {
    /// Every live call.
    Calls(oneshot::Sender<Vec<LiveCall>>),
    /// Hang up the call with this record id; answers whether it was live.
    HangUp {
        id: String,
        done: oneshot::Sender<bool>,
    },
    /// Queue statistics and agent states (`None` without queues).
    Acd(oneshot::Sender<Option<AcdView>>),
    /// Change an agent's state; answers whether the agent exists.
    AgentOp {
        agent: String,
        op: crate::acd::AgentOp,
        done: oneshot::Sender<bool>,
    },
    /// Add or remove a campaign's own queue ([`Switch::set_campaign_queue`]).
    CampaignQueue {
        queue: String,
        agents: Option<Vec<String>>,
        done: oneshot::Sender<Result<(), String>>,
    },
    /// Swap in a reloaded file's ACD ([`Switch::reload_acd`]).
    ReloadAcd {
        config: crate::acd::AcdConfig,
        done: oneshot::Sender<()>,
    },
    /// The agents serving a queue ([`Switch::queue_members`]).
    QueueMembers {
        queue: String,
        done: oneshot::Sender<Option<Vec<String>>>,
    },
    /// A configured queue's ring timeout ([`Switch::queue_ring_timeout`]).
    QueueRing {
        queue: String,
        done: oneshot::Sender<Option<u32>>,
    },
    /// Blind-transfer a live call's caller to `exten` in `context` ("" = the call's).
    Transfer {
        id: String,
        context: String,
        exten: String,
        done: oneshot::Sender<Result<(), crate::b2bua::TransferError>>,
    },
    /// Place a call (click-to-call, the dialer); answers the call's key.
    Originate {
        req: Box<OriginateRequest>,
        done: oneshot::Sender<Result<u64, OriginateError>>,
    },
    /// The endpoints and trunks in force.
    Directory(oneshot::Sender<Directory>),
    /// Apply one directory change ([`crate::switch::Switch::set_directory`]); answers
    /// whether an entry of that name was in force before. One entry per request, applied to
    /// the directory in force when the core task gets it, so concurrent API changes to
    /// different entries never undo each other.
    EditDirectory {
        edit: DirectoryEdit,
        done: oneshot::Sender<bool>,
    },
}

/// The endpoints and trunks in force.
#[derive(Debug, Clone)]
pub struct Directory {
    pub endpoints: Vec<crate::config::Endpoint>,
    pub trunks: Vec<crate::config::Trunk>,
}

/// One change to the directory.
#[derive(Debug, Clone)]
pub enum DirectoryEdit {
    /// Add, or replace the endpoint with this user.
    PutEndpoint(crate::config::Endpoint),
    RemoveEndpoint(String),
    /// Add, or replace the trunk with this name.
    PutTrunk(crate::config::Trunk),
    RemoveTrunk(String),
}

impl DirectoryEdit {
    /// Applies the change to `d`; returns whether an entry of that name was there.
    pub fn apply(self, d: &mut Directory) -> bool {
        fn put<T>(list: &mut Vec<T>, entry: T, same: impl Fn(&T) -> bool) -> bool {
            match list.iter_mut().find(|e| same(e)) {
                Some(slot) => {
                    *slot = entry;
                    true
                }
                None => {
                    list.push(entry);
                    false
                }
            }
        }
        fn remove<T>(list: &mut Vec<T>, same: impl Fn(&T) -> bool) -> bool {
            let before = list.len();
            list.retain(|e| !same(e));
            list.len() != before
        }
        match self {
            DirectoryEdit::PutEndpoint(e) => {
                let user = e.user.clone();
                put(&mut d.endpoints, e, |x| x.user == user)
            }
            DirectoryEdit::RemoveEndpoint(user) => remove(&mut d.endpoints, |x| x.user == user),
            DirectoryEdit::PutTrunk(t) => {
                let name = t.name.clone();
                put(&mut d.trunks, t, |x| x.name == name)
            }
            DirectoryEdit::RemoveTrunk(name) => remove(&mut d.trunks, |x| x.name == name),
        }
    }
}

/// What the ACD looks like now.
#[derive(Debug, Clone)]
pub struct AcdView {
    pub queues: Vec<crate::acd::QueueStats>,
    pub agents: Vec<crate::acd::AgentSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("the switch core is not running")]
    Stopped,
    #[error("the switch core is too busy to answer now; try again")]
    Busy,
}

/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct SwitchControl {
    tx: mpsc::Sender<ControlRequest>,
}

impl SwitchControl {
    /// A handle and the receiving end the core task serves.
    pub fn channel() -> (SwitchControl, mpsc::Receiver<ControlRequest>) {
        let (tx, rx) = mpsc::channel(CONTROL_DEPTH);
        (SwitchControl { tx }, rx)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> ControlRequest,
    ) -> Result<T, ControlError> {
        let (reply, answer) = oneshot::channel();
        self.tx.try_send(make(reply)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ControlError::Busy,
            mpsc::error::TrySendError::Closed(_) => ControlError::Stopped,
        })?;
        match tokio::time::timeout(CONTROL_TIMEOUT, answer).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Err(ControlError::Stopped),
            Err(_) => Err(ControlError::Busy),
        }
    }

    /// Every live call.
    pub async fn calls(&self) -> Result<Vec<LiveCall>, ControlError> {
        self.ask(ControlRequest::Calls).await
    }

    /// Hangs up the call with record id `id`; `Ok(false)` when no such call is live.
    pub async fn hang_up(&self, id: &str) -> Result<bool, ControlError> {
        let id = id.to_string();
        self.ask(|done| ControlRequest::HangUp { id, done }).await
    }

    /// Queues and agents now (`None` when no queue is configured).
    pub async fn acd(&self) -> Result<Option<AcdView>, ControlError> {
        self.ask(ControlRequest::Acd).await
    }

    /// Changes an agent's state; `Ok(false)` for an unknown agent.
    pub async fn agent_op(
        &self,
        agent: &str,
        op: crate::acd::AgentOp,
    ) -> Result<bool, ControlError> {
        let agent = agent.to_string();
        self.ask(|done| ControlRequest::AgentOp { agent, op, done })
            .await
    }

    /// Adds (`Some(agents)`) or removes (`None`) a campaign's own queue; `Ok(Err(why))`
    /// when the switch refuses it.
    pub async fn campaign_queue(
        &self,
        queue: &str,
        agents: Option<Vec<String>>,
    ) -> Result<Result<(), String>, ControlError> {
        let queue = queue.to_string();
        self.ask(|done| ControlRequest::CampaignQueue {
            queue,
            agents,
            done,
        })
        .await
    }

    /// Swaps in the ACD of a reloaded configuration file.
    pub async fn reload_acd(&self, config: crate::acd::AcdConfig) -> Result<(), ControlError> {
        self.ask(|done| ControlRequest::ReloadAcd { config, done })
            .await
    }

    /// The agents serving `queue` now (configured or a campaign's); None: no such queue.
    pub async fn queue_members(&self, queue: &str) -> Result<Option<Vec<String>>, ControlError> {
        let queue = queue.to_string();
        self.ask(|done| ControlRequest::QueueMembers { queue, done })
            .await
    }

    /// A configured queue's ring timeout in seconds (`None`: no such queue in the file).
    pub async fn queue_ring_timeout(&self, queue: &str) -> Result<Option<u32>, ControlError> {
        let queue = queue.to_string();
        self.ask(|done| ControlRequest::QueueRing { queue, done })
            .await
    }

    /// The endpoints and trunks in force.
    pub async fn directory(&self) -> Result<Directory, ControlError> {
        self.ask(ControlRequest::Directory).await
    }

    /// Applies one directory change to the running switch; `Ok(true)` when it replaced or
    /// removed an entry, `Ok(false)` when it added one or removed nothing.
    pub async fn edit_directory(&self, edit: DirectoryEdit) -> Result<bool, ControlError> {
        self.ask(|done| ControlRequest::EditDirectory { edit, done })
            .await
    }
}

impl SwitchControl {
    /// Blind-transfers the live call `id` (see [`Switch::transfer`]).
    pub async fn transfer(
        &self,
        id: &str,
        context: &str,
        exten: &str,
    ) -> Result<Result<(), crate::b2bua::TransferError>, ControlError> {
        let (id, context, exten) = (id.to_string(), context.to_string(), exten.to_string());
        self.ask(|done| ControlRequest::Transfer {
            id,
            context,
            exten,
            done,
        })
        .await
    }

    /// Places a call; its outcome arrives as `originate.*` events with the request's tag.
    pub async fn originate(
        &self,
        req: OriginateRequest,
    ) -> Result<Result<u64, OriginateError>, ControlError> {
        let req = Box::new(req);
        self.ask(|done| ControlRequest::Originate { req, done })
            .await
    }
}

/// Answers one request (in the core task).
pub(super) fn serve(switch: &mut Switch, now: Now, req: ControlRequest) {
    match req {
        ControlRequest::Calls(reply) => {
            let _ = reply.send(switch.calls_snapshot());
        }
        ControlRequest::HangUp { id, done } => {
            let _ = done.send(switch.hang_up(now, &id));
        }
        ControlRequest::Acd(reply) => {
            let view = switch.acd().map(|acd| AcdView {
                queues: acd
                    .queue_names()
                    .iter()
                    .filter_map(|q| acd.queue_stats(q, now.at))
                    .collect(),
                agents: acd.agents(now.at),
            });
            let _ = reply.send(view);
        }
        ControlRequest::AgentOp { agent, op, done } => {
            let known = switch
                .acd()
                .is_some_and(|acd| acd.agents(now.at).iter().any(|a| a.id.0 == agent));
            if known {
                switch.agent_op(now, &agent, op);
            }
            let _ = done.send(known);
        }
        ControlRequest::CampaignQueue {
            queue,
            agents,
            done,
        } => {
            let _ = done.send(switch.set_campaign_queue(now, &queue, agents));
        }
        ControlRequest::ReloadAcd { config, done } => {
            switch.reload_acd(now, config);
            let _ = done.send(());
        }
        ControlRequest::QueueMembers { queue, done } => {
            let _ = done.send(switch.queue_members(&queue));
        }
        ControlRequest::QueueRing { queue, done } => {
            let _ = done.send(switch.queue_ring_timeout(&queue));
        }
        ControlRequest::Directory(reply) => {
            let (endpoints, trunks) = switch.directory();
            let _ = reply.send(Directory { endpoints, trunks });
        }
        ControlRequest::EditDirectory { edit, done } => {
            let (endpoints, trunks) = switch.directory();
            let mut d = Directory { endpoints, trunks };
            let existed = edit.apply(&mut d);
            switch.set_directory(now, d.endpoints, d.trunks);
            let _ = done.send(existed);
        }
        ControlRequest::Transfer {
            id,
            context,
            exten,
            done,
        } => {
            let _ = done.send(switch.transfer(now, &id, &context, &exten));
        }
        ControlRequest::Originate { req, done } => {
            let _ = done.send(switch.originate(now, *req).map(|key| key.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stopped_core_is_reported_not_waited_for() {
        let (control, rx) = SwitchControl::channel();
        drop(rx);
        assert_eq!(control.calls().await, Err(ControlError::Stopped));
        assert_eq!(control.hang_up("X").await, Err(ControlError::Stopped));
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let (control, mut rx) = SwitchControl::channel();
        let mut pending = Vec::new();
        for _ in 0..CONTROL_DEPTH {
            let (reply, answer) = oneshot::channel();
            control
                .tx
                .try_send(ControlRequest::Calls(reply))
                .expect("room");
            pending.push(answer);
        }
        assert_eq!(control.calls().await, Err(ControlError::Busy));
        // Answered requests come back to their askers.
        if let Some(ControlRequest::Calls(reply)) = rx.recv().await {
            let _ = reply.send(Vec::new());
        }
        assert_eq!(pending.remove(0).await.ok(), Some(Vec::new()));
    }
}
