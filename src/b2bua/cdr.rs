//! Builds a call's detail record as the call progresses: legs as they are created,
//! answer and end times, the final status and who hung up. The record is handed to the
//! store when the call ends (and a start record when it begins, so a crash can close it).

use crate::sip::message::{HasHeaders, Request};
use crate::store::{CallRecordId, CallStart, Cdr, CdrLeg, HangupSide, LegRole};

pub struct CdrBuilder {
    id: CallRecordId,
    direction: Option<String>,
    call_id: String,
    caller: String,
    callee: String,
    started_at_ms: i64,
    answered_at_ms: Option<i64>,
    status: u16,
    /// legs[0] is A; legs[1..] are the forks in order.
    legs: Vec<CdrLeg>,
    /// The leg of each fork (an originated call's first fork is the A leg itself).
    fork_legs: Vec<usize>,
}

impl CdrBuilder {
    pub fn new(
        now_ms: i64,
        a_invite: &Request,
        caller: String,
        callee: String,
        direction: &str,
    ) -> Self {
        let call_id = a_invite.call_id().unwrap_or_default().to_string();
        let a_leg = CdrLeg {
            role: LegRole::A,
            peer: caller.clone(),
            sip_call_id: call_id.clone(),
            remote_uri: a_invite
                .from()
                .map(|f| f.uri.to_string())
                .unwrap_or_default(),
            started_at_ms: now_ms,
            answered_at_ms: None,
            ended_at_ms: now_ms,
            final_status: None,
        };
        CdrBuilder {
            id: CallRecordId::generate(now_ms),
            direction: Some(direction.to_string()),
            call_id,
            caller,
            callee,
            started_at_ms: now_ms,
            answered_at_ms: None,
            status: 0,
            legs: vec![a_leg],
            fork_legs: Vec::new(),
        }
    }

    /// The call record's id (also names the call's media session).
    pub fn id(&self) -> &str {
        self.id.as_str()
    }

    pub fn start_record(&self) -> CallStart {
        CallStart {
            id: self.id.clone(),
            call_id: self.call_id.clone(),
            caller: self.caller.clone(),
            callee: self.callee.clone(),
            direction: self.direction.clone(),
            started_at_ms: self.started_at_ms,
        }
    }

    /// The next fork is the A leg of an originated call (we called the caller side).
    pub fn a_leg_is_next_fork(&mut self, peer: &str) {
        self.legs[0].peer = peer.to_string();
        self.fork_legs.push(0);
    }

    pub fn add_leg(&mut self, role: LegRole, peer: &str, invite: &Request, now_ms: i64) {
        self.fork_legs.push(self.legs.len());
        self.legs.push(CdrLeg {
            role,
            peer: peer.to_string(),
            sip_call_id: invite.call_id().unwrap_or_default().to_string(),
            remote_uri: invite.uri.to_string(),
            started_at_ms: now_ms,
            answered_at_ms: None,
            ended_at_ms: now_ms,
            final_status: None,
        });
    }

    pub fn answered(&mut self, fork: usize, now_ms: i64, status: u16) {
        self.answered_at_ms = Some(now_ms);
        self.status = status;
        self.legs[0].answered_at_ms = Some(now_ms);
        self.legs[0].final_status = Some(status);
        self.leg_answered(fork, now_ms, status);
    }

    /// The switch answered the caller itself (IVR, queue).
    pub fn answered_by_switch(&mut self, now_ms: i64) {
        self.answered_at_ms = Some(now_ms);
        self.status = 200;
        self.legs[0].answered_at_ms = Some(now_ms);
        self.legs[0].final_status = Some(200);
    }

    /// A fork answered a call the switch had already answered (agent, transfer target).
    pub fn leg_answered(&mut self, fork: usize, now_ms: i64, status: u16) {
        if let Some(leg) = self.fork_legs.get(fork).and_then(|&l| self.legs.get_mut(l)) {
            leg.answered_at_ms = Some(now_ms);
            leg.final_status = Some(status);
        }
    }

    pub fn leg_ended(&mut self, fork: usize, now_ms: i64, status: Option<u16>) {
        if let Some(leg) = self.fork_legs.get(fork).and_then(|&l| self.legs.get_mut(l)) {
            leg.ended_at_ms = now_ms;
            if leg.final_status.is_none() {
                leg.final_status = status;
            }
        }
    }

    /// The final status the caller got (0 before any).
    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn finish(&mut self, now_ms: i64, status: u16, side: HangupSide, cause: &str) -> Cdr {
        self.status = status;
        for leg in &mut self.legs {
            if leg.answered_at_ms.is_some() || leg.ended_at_ms == leg.started_at_ms {
                leg.ended_at_ms = now_ms;
            }
        }
        if self.legs[0].final_status.is_none() {
            self.legs[0].final_status = Some(status);
        }
        Cdr {
            id: self.id.clone(),
            call_id: self.call_id.clone(),
            caller: self.caller.clone(),
            callee: self.callee.clone(),
            direction: self.direction.clone(),
            started_at_ms: self.started_at_ms,
            answered_at_ms: self.answered_at_ms,
            ended_at_ms: now_ms,
            duration_ms: now_ms - self.started_at_ms,
            billable_ms: self.answered_at_ms.map(|a| now_ms - a).unwrap_or(0),
            sip_status: status,
            hangup_side: side,
            hangup_cause: cause.to_string(),
            legs: self.legs.clone(),
            media: Vec::new(),
        }
    }
}
