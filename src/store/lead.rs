//! The lead, attempt and disposition types the store keeps for campaigns (the durable
//! hopper). Times are unix milliseconds passed in by the caller; the store never reads the
//! clock.
//!
//! A lead's life (`leads.status`):
//!
//! ```text
//!  import ──► ready ──claim──► claimed ──mark_dialing──► dialing ──record_attempt──► ready (retry, callback)
//!               ▲                 │                        │                      ├─► done
//!               └─release_claims──┘◄───────(interrupted)───┘                      └─► dnc
//! ```
//!
//! `record_disposition` may move a lead again afterwards (callback, do not call).

use serde::{Deserialize, Serialize};

use super::{CallRecordId, CampaignId, StoreError};

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub(crate) String);

        impl $name {
            /// A new ULID made at `now_ms`.
            pub fn generate(now_ms: i64) -> Self {
                $name(CallRecordId::generate(now_ms).as_str().to_owned())
            }

            /// The id as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_id!(
    /// Identifies one uploaded list.
    ListId
);
text_id!(
    /// Identifies one lead (a number to call in one campaign).
    LeadId
);

/// One row to load: already validated and normalised by `dialer::list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewLead {
    /// Position in the list (the CSV line number), unique within the list: ties in the
    /// hopper go in list order, and the lead's id is the list's id followed by it.
    pub seq: u64,
    /// E.164 number, `+` and digits.
    pub phone: String,
    /// IANA time zone the calling window is evaluated in.
    pub tz: String,
    /// The list's other columns, shown to the agent (screen pop).
    pub fields: serde_json::Value,
    /// Higher is dialled first.
    pub priority: i32,
}

/// What a call attempt came to. The first four have per-campaign retry rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// 486 / 600.
    Busy,
    /// 480 / 408, or CANCEL at the ring timeout.
    NoAnswer,
    /// Answered by a machine (AMD).
    Machine,
    /// 503 / other 5xx, or no route: the network, not the callee.
    Congestion,
    /// Answered by a person and bridged to an agent.
    Answered,
    /// Answered by a person, no agent in time: safe-harbor message, counted abandoned.
    Dropped,
    /// 404 / 410 / 484 / 604 or a special information tone: never retried.
    Invalid,
    /// The node stopped while the call was being placed (written by `release_claims`).
    Interrupted,
}

impl AttemptOutcome {
    /// Every outcome.
    pub const ALL: [AttemptOutcome; 8] = [
        AttemptOutcome::Busy,
        AttemptOutcome::NoAnswer,
        AttemptOutcome::Machine,
        AttemptOutcome::Congestion,
        AttemptOutcome::Answered,
        AttemptOutcome::Dropped,
        AttemptOutcome::Invalid,
        AttemptOutcome::Interrupted,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Busy => "busy",
            AttemptOutcome::NoAnswer => "no_answer",
            AttemptOutcome::Machine => "machine",
            AttemptOutcome::Congestion => "congestion",
            AttemptOutcome::Answered => "answered",
            AttemptOutcome::Dropped => "dropped",
            AttemptOutcome::Invalid => "invalid",
            AttemptOutcome::Interrupted => "interrupted",
        }
    }

    pub(crate) fn from_stored(value: &str) -> Result<Self, StoreError> {
        AttemptOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == value)
            .ok_or_else(|| StoreError::BadStoredValue {
                column: "attempts.outcome",
                value: value.to_owned(),
            })
    }

    /// The per-outcome counter column this outcome increments, if it has one.
    pub(crate) fn counter_column(self) -> Option<&'static str> {
        match self {
            AttemptOutcome::Busy => Some("busy_count"),
            AttemptOutcome::NoAnswer => Some("no_answer_count"),
            AttemptOutcome::Machine => Some("machine_count"),
            AttemptOutcome::Congestion => Some("congestion_count"),
            _ => None,
        }
    }
}

/// How many attempts of a lead ended in each retryable outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub busy: u32,
    pub no_answer: u32,
    pub machine: u32,
    pub congestion: u32,
}

impl OutcomeCounts {
    /// The count for `outcome` (0 for outcomes without a counter).
    pub fn get(&self, outcome: AttemptOutcome) -> u32 {
        match outcome {
            AttemptOutcome::Busy => self.busy,
            AttemptOutcome::NoAnswer => self.no_answer,
            AttemptOutcome::Machine => self.machine,
            AttemptOutcome::Congestion => self.congestion,
            _ => 0,
        }
    }
}

/// Where a lead is in its life (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    Ready,
    Claimed,
    Dialing,
    Done,
    Dnc,
}

impl LeadStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Ready => "ready",
            LeadStatus::Claimed => "claimed",
            LeadStatus::Dialing => "dialing",
            LeadStatus::Done => "done",
            LeadStatus::Dnc => "dnc",
        }
    }

    pub(crate) fn from_stored(value: &str) -> Result<Self, StoreError> {
        Ok(match value {
            "ready" => LeadStatus::Ready,
            "claimed" => LeadStatus::Claimed,
            "dialing" => LeadStatus::Dialing,
            "done" => LeadStatus::Done,
            "dnc" => LeadStatus::Dnc,
            _ => {
                return Err(StoreError::BadStoredValue {
                    column: "leads.status",
                    value: value.to_owned(),
                })
            }
        })
    }
}

/// A stored lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub id: LeadId,
    pub campaign: CampaignId,
    pub list: ListId,
    pub seq: u64,
    pub phone: String,
    pub tz: String,
    pub fields: serde_json::Value,
    pub priority: i32,
    pub status: LeadStatus,
    /// Scheduled by an agent (handed out before other due leads).
    pub callback: bool,
    /// Not handed out before this time.
    pub next_at_ms: i64,
    /// Attempts made so far.
    pub attempts: u32,
    pub counts: OutcomeCounts,
    pub last_outcome: Option<AttemptOutcome>,
    /// The node holding the lead while claimed or dialling.
    pub claimed_by: Option<String>,
}

/// One call placed to a lead, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// SIP Call-ID of the outbound leg, when one was sent.
    pub call_id: Option<String>,
    pub outcome: AttemptOutcome,
    /// Final SIP status of the INVITE, when there was one.
    pub sip_status: Option<u16>,
    pub started_at_ms: i64,
    pub answered_at_ms: Option<i64>,
    pub ended_at_ms: i64,
}

/// What an agent concluded about a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    pub agent: String,
    /// The campaign's disposition code ("sale", "not_interested", "callback", "dnc", …).
    pub code: String,
    pub note: String,
    /// When the agent asked to call back.
    pub callback_at_ms: Option<i64>,
    pub at_ms: i64,
}

/// The lead's next state after an attempt or a disposition, decided by the campaign's
/// rules (`dialer::campaign`) and written in the same transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeadNext {
    /// Back in the hopper from `at_ms`.
    Retry { at_ms: i64 },
    /// Back in the hopper from `at_ms`, ahead of other due leads.
    Callback { at_ms: i64 },
    /// Finished: never handed out again.
    Done,
    /// Finished, and the number goes on the campaign's (or the global) do-not-call list.
    DoNotCall { global: bool },
    /// Left as it is: the attempt of a call whose disposition the agent already stored.
    Unchanged,
}

/// What [`Store::release_claims`](super::Store::release_claims) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedClaims {
    /// Claimed, never dialled: back to ready, untouched.
    pub returned: u64,
    /// Being dialled when the node stopped: an `interrupted` attempt recorded, back to ready.
    pub interrupted: u64,
}

/// How many leads of a campaign are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadCounts {
    pub ready: u64,
    pub claimed: u64,
    pub dialing: u64,
    pub done: u64,
    pub dnc: u64,
}

/// A stored attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub node: String,
    pub attempt: Attempt,
}
