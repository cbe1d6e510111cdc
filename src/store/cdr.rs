//! The call detail record (CDR) types the store keeps and the REST API returns.
//!
//! All times are unix milliseconds (`i64`), passed in by the caller: the store never reads
//! the clock. A call is one [`Cdr`] with one [`CdrLeg`] per SIP dialog the B2BUA took part
//! in: the A leg (inbound, from the caller) and zero or more B legs (outbound attempts,
//! including the ones that failed before the callee answered).

use serde::{Deserialize, Serialize};

use super::{CallRecordId, StoreError};

/// What is known when a call starts: written as an in-flight row, so a crash before the
/// call ends still leaves a trace that the next start turns into a CDR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStart {
    /// Key of the call record; the CDR written at the end must carry the same id.
    pub id: CallRecordId,
    /// SIP Call-ID of the A leg.
    pub call_id: String,
    /// Calling party (user part or number as routed).
    pub caller: String,
    /// Called party (user part or number as routed).
    pub callee: String,
    /// Free-form direction tag (e.g. "inbound", "outbound", "internal"), when known.
    pub direction: Option<String>,
    /// When the initial INVITE arrived.
    pub started_at_ms: i64,
}

/// One finished call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cdr {
    /// Same id as the call's [`CallStart`].
    pub id: CallRecordId,
    /// SIP Call-ID of the A leg.
    pub call_id: String,
    /// Calling party.
    pub caller: String,
    /// Called party.
    pub callee: String,
    /// Direction tag copied from the [`CallStart`].
    pub direction: Option<String>,
    /// When the initial INVITE arrived.
    pub started_at_ms: i64,
    /// When the caller got a 2xx, if ever.
    pub answered_at_ms: Option<i64>,
    /// When the call ended (BYE, CANCEL, failure or restart).
    pub ended_at_ms: i64,
    /// `ended_at_ms - started_at_ms`.
    pub duration_ms: i64,
    /// Time from answer to end; 0 for unanswered calls.
    pub billable_ms: i64,
    /// Final status sent to the caller (200 for answered calls; 0 when none was recorded,
    /// as for calls closed by [`Store::close_in_flight`](super::Store::close_in_flight)).
    pub sip_status: u16,
    /// Who ended the call.
    pub hangup_side: HangupSide,
    /// Why, in the switch's words ("normal_clearing", "no_answer", "restart", …).
    pub hangup_cause: String,
    /// The call's SIP dialogs, in the order they were created.
    pub legs: Vec<CdrLeg>,
    /// RTP per side as the relay counted it (empty when the media was not anchored).
    #[serde(default)]
    pub media: Vec<CdrMedia>,
}

/// RTP of one side of an anchored call, as the relay saw it: what that side's phone sent
/// (`_in`) and what the relay sent it (`_out`), loss from sequence numbers (RFC 3550
/// A.3) and interarrival jitter (A.8); and as the phone saw the stream the relay sent it,
/// from its last RTCP report (`reported_`; none when it sent no report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrMedia {
    pub role: LegRole,
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    pub rtcp_in: u64,
    pub lost: u64,
    pub jitter_us: u64,
    #[serde(default)]
    pub reported_lost: Option<u64>,
    #[serde(default)]
    pub reported_jitter_us: Option<u64>,
}

/// One SIP dialog (or failed attempt at one) of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrLeg {
    /// A (inbound, from the caller) or B (outbound, towards a callee).
    pub role: LegRole,
    /// The endpoint user or trunk name at the far end of this leg.
    pub peer: String,
    /// This leg's own SIP Call-ID.
    pub sip_call_id: String,
    /// Request-URI (B legs) or From URI (A leg) of the far end.
    pub remote_uri: String,
    /// When the leg's INVITE was received or sent.
    pub started_at_ms: i64,
    /// When the leg got (or sent) its 2xx, if ever.
    pub answered_at_ms: Option<i64>,
    /// When the leg ended.
    pub ended_at_ms: i64,
    /// The leg's final response status, if one was sent or received.
    pub final_status: Option<u16>,
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HangupSide {
    /// The calling party (BYE or CANCEL from the A leg).
    Caller,
    /// The called party (BYE or a final failure from a B leg).
    Callee,
    /// The switch itself: timeouts, routing failures, shutdown, restart.
    System,
}

impl HangupSide {
    /// The stored (and serialised) tag.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupSide::Caller => "caller",
            HangupSide::Callee => "callee",
            HangupSide::System => "system",
        }
    }

    pub(crate) fn from_stored(text: &str) -> Result<Self, StoreError> {
        match text {
            "caller" => Ok(HangupSide::Caller),
            "callee" => Ok(HangupSide::Callee),
            "system" => Ok(HangupSide::System),
            other => Err(StoreError::BadStoredValue {
                column: "cdrs.hangup_side",
                value: other.to_owned(),
            }),
        }
    }
}

/// The role of a leg in a back-to-back call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LegRole {
    /// Inbound: the dialog with the caller.
    A,
    /// Outbound: a dialog the switch created towards a callee.
    B,
}

impl LegRole {
    /// The stored (and serialised) tag.
    pub fn as_str(self) -> &'static str {
        match self {
            LegRole::A => "A",
            LegRole::B => "B",
        }
    }

    pub(crate) fn from_stored(text: &str) -> Result<Self, StoreError> {
        match text {
            "A" => Ok(LegRole::A),
            "B" => Ok(LegRole::B),
            other => Err(StoreError::BadStoredValue {
                column: "cdr_legs.role",
                value: other.to_owned(),
            }),
        }
    }
}

/// Filters for [`Store::cdrs`](super::Store::cdrs). Results come newest first (by start
/// time, then id); every filter is optional and they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CdrQuery {
    /// Only calls that started at or after this time.
    pub since_ms: Option<i64>,
    /// Only calls that started strictly before this time.
    pub until_ms: Option<i64>,
    /// Only calls from exactly this caller.
    pub caller: Option<String>,
    /// Only calls to exactly this callee.
    pub callee: Option<String>,
    /// Only the call whose A leg has this SIP Call-ID.
    pub call_id: Option<String>,
    /// Page size: [`CdrQuery::DEFAULT_LIMIT`] when `None`, at most [`CdrQuery::MAX_LIMIT`].
    pub limit: Option<u32>,
    /// How many matching records to skip (for paging).
    pub offset: u64,
}

impl CdrQuery {
    /// Page size when none is given.
    pub const DEFAULT_LIMIT: u32 = 100;
    /// Largest page returned; larger limits are lowered to this.
    pub const MAX_LIMIT: u32 = 1000;

    /// The page size actually used.
    pub fn effective_limit(&self) -> u32 {
        self.limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .min(Self::MAX_LIMIT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_tags_round_trip_and_match_serde() {
        for side in [HangupSide::Caller, HangupSide::Callee, HangupSide::System] {
            assert_eq!(HangupSide::from_stored(side.as_str()).ok(), Some(side));
            let json = serde_json::to_string(&side).expect("serialise");
            assert_eq!(json, format!("\"{}\"", side.as_str()));
        }
        for role in [LegRole::A, LegRole::B] {
            assert_eq!(LegRole::from_stored(role.as_str()).ok(), Some(role));
            let json = serde_json::to_string(&role).expect("serialise");
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
    }

    #[test]
    fn unknown_stored_tags_are_errors_not_panics() {
        assert!(matches!(
            HangupSide::from_stored("nobody"),
            Err(StoreError::BadStoredValue {
                column: "cdrs.hangup_side",
                ..
            })
        ));
        assert!(matches!(
            LegRole::from_stored("C"),
            Err(StoreError::BadStoredValue {
                column: "cdr_legs.role",
                ..
            })
        ));
    }

    #[test]
    fn limit_defaults_and_is_capped() {
        assert_eq!(
            CdrQuery::default().effective_limit(),
            CdrQuery::DEFAULT_LIMIT
        );
        let big = CdrQuery {
            limit: Some(1_000_000),
            ..CdrQuery::default()
        };
        assert_eq!(big.effective_limit(), CdrQuery::MAX_LIMIT);
        let small = CdrQuery {
            limit: Some(3),
            ..CdrQuery::default()
        };
        assert_eq!(small.effective_limit(), 3);
    }
}
