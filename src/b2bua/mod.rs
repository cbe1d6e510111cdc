//! The call model: a back-to-back user agent. Each [`Call`] bridges an inbound leg to
//! outbound forks and relays signalling between them (provisional and final responses,
//! ACK, CANCEL, BYE, re-INVITE, UPDATE, INFO); it emits CDR records as it goes.
//!
//! Calls are sans-IO: they act through a [`CallIo`] (the transaction layer, the time,
//! our addresses) and never touch sockets or the clock. [`Calls`] owns every call and
//! the index that maps dialogs (Call-ID + our tag) and transactions back to them. It
//! does not parse SIP text and does not decide routing (see [`route`]).

mod call;
mod call_app;
mod call_originate;
mod call_queue;
mod call_transfer;
mod call_voicemail;
mod cdr;
mod live;
pub mod local_sdp;
pub mod media;
pub mod route;
mod script;

use std::collections::HashMap;
use std::time::Instant;

pub use call::{best_final, cause_for, Call, CallState, Target};
pub use call_originate::{AmdPlan, Originate, SitWatch, BEEP_WAIT};
pub use call_transfer::TransferError;
pub use live::{LiveCall, LiveCallRef, LiveState, ADMIN_HANGUP_CAUSE};
pub use script::status_for_cause;

use crate::config::Transport;
use crate::sip::dialog::LocalContact;
use crate::sip::layer::{ClientTsxId, Peer, ServerTsxId, TimerHeap, TransactionLayer};
use crate::sip::message::{NameAddr, Request, Response};
use crate::store::{CallStart, Cdr};

/// Methods we accept, for Allow headers.
pub const ALLOW: &str =
    "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, MESSAGE, NOTIFY, REGISTER";

/// Identifies a call inside this switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey(pub u64);

/// The two sides of a bridged call: A (the caller's leg) and B (the answered fork).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }

    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// The wall clock and the monotonic clock, read once per input by the runtime.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub at: Instant,
    pub unix_ms: i64,
}

/// Our Via/Contact identity per transport.
#[derive(Debug, Clone)]
pub struct Locals {
    pub udp: LocalContact,
    pub tcp: Option<LocalContact>,
}

impl Locals {
    pub fn for_peer(&self, peer: Peer) -> &LocalContact {
        match peer.transport {
            Transport::Tcp => self.tcp.as_ref().unwrap_or(&self.udp),
            Transport::Udp => &self.udp,
        }
    }
}

/// A dialog index change: (Call-ID, our tag, `Some(owner)` to add / `None` to remove).
pub type IndexChange = (String, String, Option<(CallKey, Side)>);

/// What a call may act upon while handling one input.
pub struct CallIo<'a> {
    pub layer: &'a mut TransactionLayer,
    pub now: Now,
    pub locals: &'a Locals,
    pub domain: &'a str,
    /// Dialog index changes.
    pub index: Vec<IndexChange>,
    pub started: Vec<CallStart>,
    pub ended: Vec<Cdr>,
    /// The media relay and the address to put in rewritten SDP, when media is anchored.
    pub media: Option<(&'a dyn media::MediaControl, std::net::IpAddr)>,
    /// Routing asked mid-call (IVR choices, transfers).
    pub router: &'a dyn route::Router,
    /// Dial targets to INVITE destinations.
    pub resolver: &'a dyn route::Resolver,
    /// What calls tell the ACD.
    pub notices: Vec<QueueNotice>,
    /// Events for the event stream (API, wallboard).
    pub events: Vec<CallEvent>,
    /// Responses that wait for the store (see [`HeldResponse`]).
    pub held: Vec<HeldResponse>,
}

/// A response that tells a peer "your call is recorded" (the 200 to a BYE, the 200 that
/// answers the caller): the switch sends it only once the store has the record it vouches
/// for, so a crash right after cannot lose a call the peer saw complete (issue 6).
#[derive(Debug)]
pub struct HeldResponse {
    pub tsx: ServerTsxId,
    pub resp: Response,
    pub after: AfterRecord,
    /// A 2xx to INVITE: the dialog's (Call-ID, our tag); retransmitted until the ACK.
    pub reliably: Option<(String, String)>,
}

/// Which record a [`HeldResponse`] waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterRecord {
    /// The in-flight row of this call (an answer).
    Start(crate::store::CallRecordId),
    /// Every record output so far, this step's included (a BYE's 200: the call's CDR).
    Everything,
}

impl CallIo<'_> {
    /// Sends `resp` on `tsx` once every record output so far (the CDR this step ends the
    /// call with included) is in the store.
    pub fn respond_when_recorded(&mut self, tsx: ServerTsxId, resp: Response) {
        self.held.push(HeldResponse {
            tsx,
            resp,
            after: AfterRecord::Everything,
            reliably: None,
        });
    }

    /// Answers the caller's INVITE (`resp` is a 2xx, retransmitted until ACK) once the call's
    /// start record `record` is in the store. A CANCEL meanwhile gets no 487: the INVITE is
    /// answered.
    pub fn answer_when_started(
        &mut self,
        record: &str,
        tsx: ServerTsxId,
        resp: Response,
        call_id: &str,
        local_tag: &str,
    ) {
        self.layer.hold_final(tsx);
        self.held.push(HeldResponse {
            tsx,
            resp,
            after: AfterRecord::Start(record.into()),
            reliably: Some((call_id.to_string(), local_tag.to_string())),
        });
    }
}

/// Something a call reports to the event stream.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEvent {
    pub kind: &'static str,
    pub data: serde_json::Value,
}

/// What a call tells the switch about queues and agents (the switch feeds the ACD).
#[derive(Debug, Clone, PartialEq)]
pub enum QueueNotice {
    Join {
        key: CallKey,
        queue: String,
        caller: String,
        /// The action's `max_wait`, shortened by `${QUEUE_MAX_WAIT_MS}` when set (the
        /// dialer's 2-second window, less what answering-machine detection used of it).
        max_wait: Option<std::time::Duration>,
        /// Skills the caller needs (`${QUEUE_SKILLS}` = "french:50,billing:20").
        skills: Vec<(String, u8)>,
        /// Higher goes first (`${QUEUE_PRIORITY}`).
        priority: i32,
    },
    AgentAnswered {
        key: CallKey,
        agent: String,
    },
    AgentFailed {
        key: CallKey,
        agent: String,
        busy: bool,
    },
    /// The caller hung up while waiting (or while agents rang).
    CallerLeft {
        key: CallKey,
    },
    /// The bridged call with `agent` ended.
    AgentCallEnded {
        key: CallKey,
        agent: String,
    },
    /// The caller pressed `*` in a queue: call me back, keep my place.
    CallbackRequested {
        key: CallKey,
        number: String,
        /// How to reach the caller again.
        reach: Option<crate::dialplan::DialTarget>,
    },
    /// A star code or dialplan action changed an agent's state.
    AgentOp {
        agent: String,
        op: crate::dialplan::AgentOp,
        queue: Option<String>,
        reason: Option<String>,
    },
}

/// Every live call and the indexes to find them.
#[derive(Default)]
pub struct Calls {
    next: u64,
    calls: HashMap<CallKey, Call>,
    dialogs: HashMap<(String, String), (CallKey, Side)>,
    invites: HashMap<ServerTsxId, CallKey>,
    deadlines: TimerHeap<CallKey>,
    /// Calls by their media session, for the relay's events.
    by_media: HashMap<crate::media::MediaCallId, CallKey>,
}

impl Calls {
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Starts a new call for an authenticated, routed INVITE.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &mut self,
        io: &mut CallIo<'_>,
        a_tsx: ServerTsxId,
        invite: Request,
        a_peer: Peer,
        caller: NameAddr,
        direction: &str,
        route: route::Routing,
        context: &str,
        callee: &str,
        relay: bool,
        plan: Option<route::PlanPin>,
        reach_back: Option<crate::dialplan::DialTarget>,
    ) {
        let (actions, vars) = match route {
            route::Routing::Actions { actions, vars } => (actions, vars),
            route::Routing::Reject { .. } => (Vec::new(), Default::default()),
        };
        let caller_user = caller.uri.user.clone().unwrap_or_default();
        let mut program = script::Script::new(actions, vars, context, &caller_user, callee);
        program.plan = plan;
        program.reach_back = reach_back;
        self.next += 1;
        let key = CallKey(self.next);
        let bypassed = io.media.take_if(|_| !relay);
        let call = Call::start(io, key, a_tsx, invite, a_peer, caller, direction, program);
        if bypassed.is_some() {
            io.media = bypassed;
        }
        self.invites.insert(a_tsx, key);
        if let Some(id) = call.media_id() {
            self.by_media.insert(id.clone(), key);
        }
        self.calls.insert(key, call);
        self.apply(io, key);
    }

    /// Places a call: rings `o.target` first and runs `actions` once it answers.
    pub fn originate(
        &mut self,
        io: &mut CallIo<'_>,
        o: Originate,
        context: &str,
        callee: &str,
        actions: Vec<route::Action>,
        vars: std::collections::BTreeMap<String, String>,
    ) -> CallKey {
        let caller_user = o.caller.uri.user.clone().unwrap_or_default();
        let program = script::Script::new(actions, vars, context, &caller_user, callee);
        self.next += 1;
        let key = CallKey(self.next);
        let call = Call::originate(io, key, o, program);
        if let Some(id) = call.media_id() {
            self.by_media.insert(id.clone(), key);
        }
        self.calls.insert(key, call);
        self.apply(io, key);
        key
    }

    /// The call and side an in-dialog request or response belongs to.
    pub fn find_dialog(&self, call_id: &str, local_tag: &str) -> Option<(CallKey, Side)> {
        self.dialogs
            .get(&(call_id.to_string(), local_tag.to_string()))
            .copied()
    }

    pub fn on_request(
        &mut self,
        io: &mut CallIo<'_>,
        key: CallKey,
        side: Side,
        tsx: Option<ServerTsxId>,
        req: Request,
    ) {
        if let Some(c) = self.calls.get_mut(&key) {
            c.on_request(io, side, tsx, req);
        }
        self.apply(io, key);
    }

    pub fn on_response(
        &mut self,
        io: &mut CallIo<'_>,
        owner: u64,
        tsx: ClientTsxId,
        resp: Response,
    ) {
        let key = CallKey(owner);
        if let Some(c) = self.calls.get_mut(&key) {
            c.on_response(io, tsx, resp);
        }
        self.apply(io, key);
    }

    pub fn on_timeout(&mut self, io: &mut CallIo<'_>, owner: u64, tsx: ClientTsxId) {
        let key = CallKey(owner);
        if let Some(c) = self.calls.get_mut(&key) {
            c.on_timeout(io, tsx);
        }
        self.apply(io, key);
    }

    pub fn on_cancelled(&mut self, io: &mut CallIo<'_>, tsx: ServerTsxId) {
        if let Some(&key) = self.invites.get(&tsx) {
            if let Some(c) = self.calls.get_mut(&key) {
                c.on_cancelled(io);
            }
            self.apply(io, key);
        }
    }

    pub fn on_stray_2xx(&mut self, io: &mut CallIo<'_>, key: CallKey, resp: &Response) {
        if let Some(c) = self.calls.get_mut(&key) {
            c.on_stray_2xx(io, resp);
        }
    }

    pub fn on_answer_timeout(&mut self, io: &mut CallIo<'_>, call_id: &str, local_tag: &str) {
        if let Some((key, _)) = self.find_dialog(call_id, local_tag) {
            if let Some(c) = self.calls.get_mut(&key) {
                c.on_answer_timeout(io);
            }
            self.apply(io, key);
        }
    }

    /// An event of the relay for this call's media: no RTP for too long, a DTMF digit, a
    /// prompt that ended.
    pub fn on_media_event(
        &mut self,
        io: &mut CallIo<'_>,
        media: &crate::media::MediaCallId,
        event: crate::media::MediaEvent,
    ) {
        use crate::media::MediaEvent;
        let Some(&key) = self.by_media.get(media) else {
            return;
        };
        if let Some(c) = self.calls.get_mut(&key) {
            match event {
                MediaEvent::Timeout { .. } => c.on_media_timeout(io),
                MediaEvent::Dtmf { leg, dtmf } => {
                    if let Some(digit) = dtmf.digit {
                        c.on_dtmf(io, leg, digit);
                    }
                }
                MediaEvent::PlayDone { leg, id, .. } => c.on_play_done(io, leg, id),
                // the recording's file is complete (its index entry could be committed here)
                MediaEvent::RecordDone { .. } => {}
                MediaEvent::Detected { leg, what } => c.on_detected(io, leg, what),
            }
        }
        self.apply(io, key);
    }

    /// The queue call `key` waits in.
    pub fn queue_of(&self, key: CallKey) -> Option<&str> {
        self.calls.get(&key).and_then(Call::queue_name)
    }

    /// Lets the switch act on one call (the ACD's decisions), then applies what changed.
    pub fn act(
        &mut self,
        io: &mut CallIo<'_>,
        key: CallKey,
        f: impl FnOnce(&mut Call, &mut CallIo<'_>),
    ) {
        if let Some(c) = self.calls.get_mut(&key) {
            f(c, io);
        }
        self.apply(io, key);
    }

    /// Fires call deadlines (ring time, digit timeouts) due at `now`.
    pub fn on_tick(&mut self, io: &mut CallIo<'_>) {
        while let Some(key) = self.deadlines.pop_due(io.now.at) {
            if let Some(c) = self.calls.get_mut(&key) {
                c.scheduled = None;
                c.on_deadline(io);
            }
            self.apply(io, key);
        }
    }

    /// The earliest call deadline (possibly of a call that no longer needs it).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.next()
    }

    /// Applies index changes from `io` and drops the call if it finished.
    fn apply(&mut self, io: &mut CallIo<'_>, key: CallKey) {
        for (cid, tag, owner) in io.index.drain(..) {
            match owner {
                Some(o) => {
                    self.dialogs.insert((cid, tag), o);
                }
                None => {
                    self.dialogs.remove(&(cid, tag));
                }
            }
        }
        if let Some(c) = self.calls.get_mut(&key) {
            if let Some(at) = c.deadline().filter(|at| c.scheduled != Some(*at)) {
                c.scheduled = Some(at);
                self.deadlines.schedule(at, key);
            }
        }
        if self.calls.get(&key).is_some_and(|c| c.is_finished()) {
            if let Some(call) = self.calls.remove(&key) {
                if let Some(tsx) = call.a_tsx() {
                    self.invites.remove(&tsx);
                }
                if let Some(id) = call.media_id() {
                    self.by_media.remove(id);
                }
            }
        }
    }
}
