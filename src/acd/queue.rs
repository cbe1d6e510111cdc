//! One queue: its configuration, the entries waiting in it (live callers and kept
//! callbacks, ordered by priority then arrival), its round-robin memory and its
//! counters.
//!
//! A live caller's phase:
//! ```text
//! Waiting ──offer──► Ringing{agents, until} ──answer won──► (bridged: leaves the queue)
//!    ▲                    │ timeout / all refused / agent left
//!    └────────────────────┘
//! Waiting|Ringing ──callback digit──► Callback entry (same place) ──due──► gone
//! ```

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::config::QueueConfig;
use super::stats::Counters;
use super::{AgentId, CallRef};

/// Where a live caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    Waiting,
    Ringing {
        agents: BTreeSet<AgentId>,
        until: Instant,
    },
}

/// A live caller on the line.
#[derive(Debug, Clone)]
pub(super) struct Caller {
    pub call: CallRef,
    pub skills: Vec<(String, u8)>,
    pub phase: Phase,
    /// Agents already offered this caller in the current round.
    pub tried: BTreeSet<AgentId>,
    pub next_announce: Option<Instant>,
    /// Max wait: overflow (or time out) at this instant.
    pub deadline: Option<Instant>,
    /// The next tier opening or skill widening that may find this caller an agent.
    pub next_step: Option<Instant>,
}

/// What holds a place in the queue.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    Caller(Caller),
    /// The caller left this number and hung up, keeping its place.
    Callback {
        number: String,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub seq: u64,
    pub priority: i32,
    pub joined: Instant,
    pub kind: Kind,
}

impl Entry {
    pub fn caller(&self) -> Option<&Caller> {
        match &self.kind {
            Kind::Caller(c) => Some(c),
            Kind::Callback { .. } => None,
        }
    }

    pub fn call(&self) -> Option<&CallRef> {
        self.caller().map(|c| &c.call)
    }
}

/// One queue's live state.
#[derive(Debug, Clone)]
pub(super) struct Queue {
    pub config: QueueConfig,
    /// Ordered: higher priority first, then earlier arrival.
    pub entries: Vec<Entry>,
    /// Round-robin memory: the last agent offered a call.
    pub last: Option<AgentId>,
    /// Removed from the configuration: refuses joins, serves who is left, then goes.
    pub draining: bool,
    pub counters: Counters,
}

impl Queue {
    pub fn new(config: QueueConfig) -> Self {
        Self {
            counters: Counters::new(config.handle_time_window),
            config,
            entries: Vec::new(),
            last: None,
            draining: false,
        }
    }

    pub fn secs(s: u32) -> Duration {
        Duration::from_secs(u64::from(s))
    }

    /// Inserts keeping the order; returns the 1-based position.
    pub fn insert(&mut self, entry: Entry) -> usize {
        let key = |e: &Entry| (std::cmp::Reverse(e.priority), e.seq);
        let at = self.entries.partition_point(|e| key(e) < key(&entry));
        self.entries.insert(at, entry);
        at + 1
    }

    /// 1-based position of a live caller.
    pub fn position(&self, call: &CallRef) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.call() == Some(call))
            .map(|i| i + 1)
    }

    pub fn caller_mut(&mut self, call: &CallRef) -> Option<&mut Caller> {
        self.entries.iter_mut().find_map(|e| match &mut e.kind {
            Kind::Caller(c) if &c.call == call => Some(c),
            _ => None,
        })
    }

    pub fn remove(&mut self, call: &CallRef) -> Option<(usize, Entry)> {
        let i = self.entries.iter().position(|e| e.call() == Some(call))?;
        Some((i + 1, self.entries.remove(i)))
    }

    /// Live callers on the line.
    pub fn live(&self) -> usize {
        self.entries.iter().filter(|e| e.caller().is_some()).count()
    }

    pub fn is_full(&self) -> bool {
        self.config
            .max_len
            .is_some_and(|max| self.entries.len() >= max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, priority: i32, t0: Instant) -> Entry {
        Entry {
            seq,
            priority,
            joined: t0,
            kind: Kind::Caller(Caller {
                call: CallRef(format!("c{seq}")),
                skills: Vec::new(),
                phase: Phase::Waiting,
                tried: BTreeSet::new(),
                next_announce: None,
                deadline: None,
                next_step: None,
            }),
        }
    }

    #[test]
    fn priority_first_then_arrival() {
        let t0 = Instant::now();
        let mut q = Queue::new(QueueConfig::default());
        assert_eq!(q.insert(entry(1, 0, t0)), 1);
        assert_eq!(q.insert(entry(2, 0, t0)), 2);
        assert_eq!(q.insert(entry(3, 5, t0)), 1);
        assert_eq!(q.insert(entry(4, 5, t0)), 2);
        assert_eq!(q.insert(entry(5, -1, t0)), 5);
        let order: Vec<u64> = q.entries.iter().map(|e| e.seq).collect();
        assert_eq!(order, [3, 4, 1, 2, 5]);
        assert_eq!(q.position(&CallRef("c1".into())), Some(3));
        assert_eq!(q.remove(&CallRef("c4".into())).map(|r| r.0), Some(2));
        assert_eq!(q.position(&CallRef("c1".into())), Some(2));
    }

    #[test]
    fn max_len_counts_callbacks() {
        let t0 = Instant::now();
        let mut q = Queue::new(QueueConfig {
            max_len: Some(2),
            ..QueueConfig::default()
        });
        q.insert(entry(1, 0, t0));
        assert!(!q.is_full());
        q.insert(Entry {
            seq: 2,
            priority: 0,
            joined: t0,
            kind: Kind::Callback {
                number: "555".into(),
            },
        });
        assert!(q.is_full());
        assert_eq!(q.live(), 1);
    }
}
