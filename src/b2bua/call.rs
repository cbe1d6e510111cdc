//! One call: an inbound leg (A, we are its UAS) bridged to one or more outbound forks
//! (B, we are their UAC); the first fork to answer wins and the others are cancelled.
//!
//! ```text
//!   Routing ──INVITE B…──► Ringing ──2xx from a fork──► Answered ──BYE either side──► Ended
//!      │                      │ all forks failed / timeout / CANCEL from A
//!      └──────────────────────┴──────────────► final to A ──► Ended (forks cleaned up)
//! ```
//!
//! Offer/answer: the A leg's body goes on the B INVITE; a 2xx from B is ACKed at once
//! when the INVITE carried an offer, otherwise (late offer) B's ACK waits for A's ACK and
//! carries its answer. Re-INVITEs and UPDATEs (hold/unhold) are relayed the same way in
//! either direction; so are other in-dialog requests (INFO, MESSAGE, NOTIFY).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::cdr::CdrBuilder;
use super::local_sdp::Negotiated;
use super::media::{CallMedia, Sdp};
use super::script::{Script, Wait};
use super::{CallIo, CallKey, Side};
use crate::media::MediaCallId;
use crate::sip::dialog::{
    cancel_for, contact_uri_of_request, contact_uri_of_response, new_request, Dialog, LocalContact,
};
use crate::sip::dialog_auth::answer_challenge;
use crate::sip::layer::{ClientTsxId, Peer, ServerTsxId};
use crate::sip::message::{reason_phrase, HasHeaders, HeaderName, Method, Request, Response, Uri};
use crate::store::{HangupSide, LegRole};

/// A place to send one fork of the call.
#[derive(Debug, Clone)]
pub struct Target {
    /// Endpoint user or trunk name (for the CDR).
    pub label: String,
    pub uri: Uri,
    pub peer: Peer,
    /// To header URI (the dialled identity).
    pub to: Uri,
    /// Digest credentials for a carrier that challenges our requests (INVITE, BYE).
    pub credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Ringing,
    Answered,
    /// A final response went to A; remaining forks are being cleaned up.
    Ending,
}

pub(super) struct Fork {
    pub(super) target: Target,
    pub(super) invite: Request,
    pub(super) tsx: ClientTsxId,
    pub(super) provisional: bool,
    pub(super) final_status: Option<u16>,
    pub(super) cancel_wanted: bool,
    pub(super) cancel_sent: bool,
    pub(super) early: Option<Dialog>,
    /// We already answered one challenge on this fork (a second one is a failure).
    pub(super) authenticated: bool,
    /// The queue agent this fork rings (the ACD decides about its answer).
    pub(super) agent: Option<String>,
    /// This fork is the A leg of a call the switch originated.
    pub(super) is_a: bool,
}

impl Fork {
    /// A fork whose INVITE just went out on `tsx`.
    pub(super) fn new(target: Target, invite: Request, tsx: ClientTsxId, is_a: bool) -> Fork {
        Fork {
            target,
            invite,
            tsx,
            provisional: false,
            final_status: None,
            cancel_wanted: false,
            cancel_sent: false,
            early: None,
            authenticated: false,
            agent: None,
            is_a,
        }
    }
}

/// A relayed in-dialog request waiting for its response.
struct Relay {
    from: Side,
    server: ServerTsxId,
    request: Request,
}

/// ACK owed to one side once the other side ACKs (late offer).
struct PendingAck {
    to: Side,
    cseq: u32,
}

/// A BYE awaiting its final response, kept to answer a carrier's challenge once.
struct SentBye {
    request: Request,
    peer: Peer,
    authenticated: bool,
}

pub struct Call {
    pub key: CallKey,
    pub state: CallState,
    pub(super) a_invite: Request,
    /// The caller's INVITE server transaction (`None` when the switch originated the call).
    pub(super) a_tsx: Option<ServerTsxId>,
    /// [A, B] dialogs; B is set on answer.
    pub(super) dialogs: [Option<Dialog>; 2],
    pub(super) forks: Vec<Fork>,
    winner: Option<usize>,
    relays: HashMap<ClientTsxId, Relay>,
    byes: HashMap<ClientTsxId, SentBye>,
    pending_ack: Option<PendingAck>,
    /// The last ACK sent to B for a 2xx, re-sent when B retransmits its 2xx.
    last_b_ack: Option<(u32, Bytes)>,
    pub(super) cdr: CdrBuilder,
    /// The relay session, when the switch anchors this call's media.
    pub(super) media: Option<CallMedia>,
    finished: bool,
    /// The caller as B legs present it, and the Max-Forwards they carry.
    caller: crate::sip::message::NameAddr,
    max_forwards: u8,
    /// A's offer anchored at the relay: the body of INVITEs while A is not answered.
    b_body: Bytes,
    /// The dialplan actions this call executes.
    pub(super) script: Script,
    /// A got a 2xx: from an answered fork, or from the switch itself.
    pub(super) a_answered: bool,
    /// The codec agreed with A when the switch answered it itself.
    pub(super) a_codec: Option<Negotiated>,
    /// The dial in progress.
    pub(super) round: Option<Round>,
    pub(super) next_play: u64,
    /// `o=` version of the SDP the switch writes.
    pub(super) sdp_version: u32,
    /// The deadline last handed to the call table's timer heap.
    pub scheduled: Option<Instant>,
    /// The id of the prompt started last.
    pub(super) last_play: Option<u64>,
    /// Life in an ACD queue.
    pub(super) queue: Option<super::call_queue::QueueState>,
    /// The originator's reference when the switch placed this call itself.
    pub(super) origin: Option<super::call_originate::Origin>,
}

/// One `dial` in progress: its forks are `forks[first..]`.
pub(super) struct Round {
    pub first: usize,
    /// A was already answered (by the switch): forks carry our offer, not A's.
    pub late: bool,
    /// Targets still to ring one after the other (sequential ring group).
    pub sequence: VecDeque<Target>,
    /// Ring time per target (sequence) or for all (parallel).
    pub timeout: Duration,
}

impl Call {
    /// Starts the call (the layer already sent 100 Trying) and runs its program until it
    /// waits for something.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start(
        io: &mut CallIo<'_>,
        key: CallKey,
        a_tsx: ServerTsxId,
        a_invite: Request,
        a_peer: Peer,
        caller: crate::sip::message::NameAddr,
        direction: &str,
        script: Script,
    ) -> Call {
        let a_tag = crate::sip::dialog::new_tag();
        let a_dialog = Dialog::uas(&a_invite, &a_tag, a_peer);
        let cdr = CdrBuilder::new(
            io.now.unix_ms,
            &a_invite,
            caller.uri.user.clone().unwrap_or_default(),
            script.callee.clone(),
            direction,
        );
        if let Some(d) = &a_dialog {
            io.index.push((
                d.call_id.clone(),
                d.local_tag().to_string(),
                Some((key, Side::A)),
            ));
        }
        io.started.push(cdr.start_record());
        let max_forwards = a_invite
            .max_forwards()
            .ok()
            .flatten()
            .unwrap_or(70)
            .saturating_sub(1);
        // No media ports: the call is refused at once (503) and nothing is dialled.
        let mut refusal = None;
        let media = match io.media {
            Some((ctl, ip)) => match CallMedia::new(ctl, MediaCallId(cdr.id().to_string()), ip) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!(%e, "no media ports: call refused");
                    refusal = Some(e.status_code());
                    None
                }
            },
            None => None,
        };
        let b_body = match (&media, io.media) {
            (Some(m), Some((ctl, _))) => m.relay_body(ctl, Side::A, Sdp::Offer, &a_invite.body),
            _ => a_invite.body.clone(),
        };
        let mut call = Call::assemble(
            key,
            a_invite,
            Some(a_tsx),
            a_dialog,
            cdr,
            media,
            caller,
            max_forwards,
            b_body,
            script,
        );
        match refusal {
            Some(status) => {
                call.fail_a(io, status, "congestion", HangupSide::System);
                call.maybe_finish(io);
            }
            None => call.run_script(io),
        }
        call
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn assemble(
        key: CallKey,
        a_invite: Request,
        a_tsx: Option<ServerTsxId>,
        a_dialog: Option<Dialog>,
        cdr: CdrBuilder,
        media: Option<CallMedia>,
        caller: crate::sip::message::NameAddr,
        max_forwards: u8,
        b_body: Bytes,
        script: Script,
    ) -> Call {
        Call {
            key,
            state: CallState::Ringing,
            a_invite,
            a_tsx,
            dialogs: [a_dialog, None],
            forks: Vec::new(),
            winner: None,
            relays: HashMap::new(),
            byes: HashMap::new(),
            pending_ack: None,
            last_b_ack: None,
            cdr,
            media,
            finished: false,
            caller,
            max_forwards,
            b_body,
            script,
            a_answered: false,
            a_codec: None,
            round: None,
            next_play: 0,
            sdp_version: 1,
            scheduled: None,
            last_play: None,
            queue: None,
            origin: None,
        }
    }

    /// Sends an INVITE to one target: A's offer while A is unanswered, else our own.
    pub(super) fn launch_fork(&mut self, io: &mut CallIo<'_>, target: Target) {
        let me = io.locals.for_peer(target.peer);
        let mut invite = build_b_invite(
            &self.a_invite,
            &target,
            &self.caller,
            me,
            self.max_forwards,
            io.domain,
        );
        invite.body = if self.a_answered {
            invite
                .headers
                .set(HeaderName::CONTENT_TYPE, "application/sdp");
            self.own_offer()
        } else {
            self.b_body.clone()
        };
        self.cdr
            .add_leg(LegRole::B, &target.label, &invite, io.now.unix_ms);
        let tsx = io
            .layer
            .send_request(io.now.at, invite.clone(), target.peer, self.key.0);
        self.forks.push(Fork::new(target, invite, tsx, false));
    }

    /// A body from `from`'s phone on its way to the other phone, anchored at the relay
    /// when this call's media is relayed.
    fn anchor(&self, io: &CallIo<'_>, from: Side, role: Sdp, body: &Bytes) -> Bytes {
        match (&self.media, io.media) {
            (Some(m), Some((ctl, _))) => m.relay_body(ctl, from, role, body),
            _ => body.clone(),
        }
    }

    /// The A leg's INVITE server transaction (none for originated calls).
    pub fn a_tsx(&self) -> Option<ServerTsxId> {
        self.a_tsx
    }

    /// The call is over and may be dropped.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub(super) fn a_tag(&self) -> String {
        self.dialogs[0]
            .as_ref()
            .map(|d| d.local_tag().to_string())
            .unwrap_or_default()
    }

    /// A response for one of this call's client transactions.
    pub fn on_response(&mut self, io: &mut CallIo<'_>, tsx: ClientTsxId, resp: Response) {
        if let Some(i) = self.forks.iter().position(|f| f.tsx == tsx) {
            self.on_fork_response(io, i, resp);
        } else if let Some(relay) = self.relays.remove(&tsx) {
            self.on_relay_response(io, tsx, relay, resp);
        } else if let Some(bye) = self.byes.remove(&tsx) {
            if resp.status < 200 {
                self.byes.insert(tsx, bye);
            } else if !self.retry_bye_with_credentials(io, bye, &resp) {
                self.maybe_finish(io);
            }
        }
    }

    /// A carrier challenged our BYE (some challenge every request they get): send it again
    /// with the credentials of the target at that address (once). Without this the carrier
    /// keeps the call up, and billing, until its own timers give up.
    fn retry_bye_with_credentials(
        &mut self,
        io: &mut CallIo<'_>,
        bye: SentBye,
        resp: &Response,
    ) -> bool {
        if bye.authenticated {
            return false;
        }
        let credentials = self
            .forks
            .iter()
            .find(|f| f.target.peer == bye.peer)
            .and_then(|f| f.target.credentials.as_ref());
        let Some((user, pass)) = credentials else {
            return false;
        };
        let Some(retry) = answer_challenge(&bye.request, resp, user, pass) else {
            return false;
        };
        let tsx = io
            .layer
            .send_request(io.now.at, retry.clone(), bye.peer, self.key.0);
        self.byes.insert(
            tsx,
            SentBye {
                request: retry,
                peer: bye.peer,
                authenticated: true,
            },
        );
        true
    }

    /// Sends a BYE on dialog `d` (one of the call's, or one that is not or no longer part
    /// of it) and waits for its final response before the call may end.
    pub(super) fn send_bye(&mut self, io: &mut CallIo<'_>, d: &mut Dialog) {
        let me = io.locals.for_peer(d.peer);
        let request = d.request(Method::Bye, me);
        let tsx = io
            .layer
            .send_request(io.now.at, request.clone(), d.peer, self.key.0);
        self.byes.insert(
            tsx,
            SentBye {
                request,
                peer: d.peer,
                authenticated: false,
            },
        );
    }

    /// Timer B/F: the far side never answered.
    pub fn on_timeout(&mut self, io: &mut CallIo<'_>, tsx: ClientTsxId) {
        if let Some(i) = self.forks.iter().position(|f| f.tsx == tsx) {
            if self.forks[i].is_a {
                return self.on_a_failed(io, i, 408);
            }
            self.fork_failed(io, i, 408);
        } else if let Some(relay) = self.relays.remove(&tsx) {
            let resp = Response::for_request(&relay.request, 408, reason_phrase(408));
            io.layer.respond(io.now.at, relay.server, resp);
        } else if self.byes.remove(&tsx).is_some() {
            self.maybe_finish(io);
        }
    }

    fn on_fork_response(&mut self, io: &mut CallIo<'_>, i: usize, resp: Response) {
        if self.forks[i].is_a {
            return self.on_a_response(io, i, resp);
        }
        let status = resp.status;
        if status < 200 {
            if status == 100 {
                return;
            }
            let fork = &mut self.forks[i];
            fork.provisional = true;
            if fork.early.is_none() {
                fork.early = Dialog::uac(&fork.invite, &resp, fork.target.peer);
            }
            if fork.cancel_wanted && !fork.cancel_sent {
                self.send_cancel(io, i);
                return;
            }
            if !resp.body.is_empty() {
                self.on_b_early_media(io, &resp.body);
            }
            if self.state == CallState::Ringing && self.in_round(i) {
                let relay = self.response_to_a(status, resp.reason.as_str(), &resp, io);
                if let Some(tsx) = self.a_tsx {
                    io.layer.respond(io.now.at, tsx, relay);
                }
            }
            return;
        }
        if (200..300).contains(&status) {
            self.on_fork_answer(io, i, resp);
        } else if !self.retry_with_credentials(io, i, &resp) {
            self.fork_failed(io, i, status);
        }
    }

    /// A carrier challenged our INVITE: send it again with credentials (once).
    pub(super) fn retry_with_credentials(
        &mut self,
        io: &mut CallIo<'_>,
        i: usize,
        resp: &Response,
    ) -> bool {
        let fork = &mut self.forks[i];
        let Some((user, pass)) = fork.target.credentials.as_ref() else {
            return false;
        };
        if fork.authenticated || fork.cancel_wanted || self.state == CallState::Ending {
            return false;
        }
        let Some(retry) = answer_challenge(&fork.invite, resp, user, pass) else {
            return false;
        };
        fork.authenticated = true;
        fork.tsx = io
            .layer
            .send_request(io.now.at, retry.clone(), fork.target.peer, self.key.0);
        fork.invite = retry;
        true
    }

    /// Fork `i` belongs to the dial in progress and was not given up.
    fn in_round(&self, i: usize) -> bool {
        self.round.as_ref().is_some_and(|r| i >= r.first) && !self.forks[i].cancel_wanted
    }

    fn on_fork_answer(&mut self, io: &mut CallIo<'_>, i: usize, resp: Response) {
        let fork = &mut self.forks[i];
        fork.final_status = Some(resp.status);
        let Some(mut b) = Dialog::uac(&fork.invite, &resp, fork.target.peer) else {
            return;
        };
        let invite_cseq = fork.invite.cseq().map(|c| c.seq).unwrap_or(1);
        if !self.in_round(i) || self.state == CallState::Ending {
            // Answered too late (another fork won, its ring time ran out, or the caller
            // gave up): ACK and BYE.
            let me = io.locals.for_peer(b.peer);
            io.layer
                .send_stateless(b.peer, b.ack(invite_cseq, me).to_bytes());
            self.send_bye(io, &mut b);
            return;
        }
        if self.forks[i].agent.is_some() {
            // A queue agent: the ACD decides whether this answer wins.
            self.ack_b(io, &b, invite_cseq);
            return self.on_agent_answer(io, i, b, resp);
        }
        let late = self.round.as_ref().is_some_and(|r| r.late);
        self.take_winner(io, i, &b);
        if late {
            // We offered in the INVITE: ACK now, point the relay at B, stop A's ringback.
            self.ack_b(io, &b, invite_cseq);
            self.connect_b(io, i, b, &resp);
            return;
        }
        self.state = CallState::Answered;
        self.a_answered = true;
        self.cdr.answered(i, io.now.unix_ms, resp.status);
        // Offer in the INVITE → ACK now; late offer → wait for A's ACK.
        if self.a_invite.body.is_empty() {
            self.pending_ack = Some(PendingAck {
                to: Side::B,
                cseq: invite_cseq,
            });
        } else {
            let me = io.locals.for_peer(b.peer);
            let ack = b.ack(invite_cseq, me).to_bytes();
            io.layer.send_stateless(b.peer, ack.clone());
            self.last_b_ack = Some((invite_cseq, ack));
        }
        let ok = self.response_to_a(resp.status, &resp.reason, &resp, io);
        let a_tag = self.a_tag();
        if let Some(tsx) = self.a_tsx {
            let cid = self.a_invite_call_id();
            io.answer_when_started(self.cdr.id(), tsx, ok, &cid, &a_tag);
        }
        self.dialogs[1] = Some(b);
    }

    /// Fork `i` won: the dial is over, the other forks are cancelled.
    pub(super) fn take_winner(&mut self, io: &mut CallIo<'_>, i: usize, b: &Dialog) {
        self.round = None;
        self.script.wait = Wait::Bridged;
        self.script.deadline = None;
        self.winner = Some(i);
        io.index.push((
            b.call_id.clone(),
            b.local_tag().to_string(),
            Some((self.key, Side::B)),
        ));
        for j in 0..self.forks.len() {
            if j != i {
                self.cancel_fork(io, j);
            }
        }
    }

    /// ACKs B's 2xx to an INVITE that carried our offer (kept for B's retransmissions).
    pub(super) fn ack_b(&mut self, io: &mut CallIo<'_>, b: &Dialog, cseq: u32) {
        let me = io.locals.for_peer(b.peer);
        let ack = b.ack(cseq, me).to_bytes();
        io.layer.send_stateless(b.peer, ack.clone());
        self.last_b_ack = Some((cseq, ack));
    }

    /// B (answered after the switch answered A) joins A: media bridged at the relay. A
    /// call the switch placed reports it (`originate.bridged`: a preview call's customer
    /// answered the agent).
    pub(super) fn connect_b(&mut self, io: &mut CallIo<'_>, i: usize, b: Dialog, resp: &Response) {
        self.cdr.leg_answered(i, io.now.unix_ms, resp.status);
        self.bridge_media(io, &resp.body);
        self.dialogs[1] = Some(b);
        self.origin_event(io, "originate.bridged", resp.status);
    }

    /// B is gone (transferred away): the next dial starts from a clean slate.
    pub(super) fn forget_b(&mut self, io: &mut CallIo<'_>) {
        if let Some(w) = self.winner.take() {
            self.cdr.leg_ended(w, io.now.unix_ms, None);
        }
        self.pending_ack = None;
        self.last_b_ack = None;
    }

    pub(super) fn a_invite_call_id(&self) -> String {
        self.a_invite.call_id().unwrap_or_default().to_string()
    }

    fn fork_failed(&mut self, io: &mut CallIo<'_>, i: usize, status: u16) {
        let counted = self.in_round(i);
        self.forks[i].final_status = Some(status);
        self.cdr.leg_ended(i, io.now.unix_ms, Some(status));
        if let Some(agent) = self.forks[i].agent.clone() {
            if counted {
                self.on_agent_failed(io, agent, status);
            }
        } else if counted {
            self.ring_next_or_fail(io);
        }
        self.maybe_finish(io);
    }

    /// A fork of the dial in progress failed or ran out of time: ring the next target of
    /// a sequence, or, when none is left ringing, end the dial and go on with the program.
    fn ring_next_or_fail(&mut self, io: &mut CallIo<'_>) {
        let Some(round) = self.round.as_mut() else {
            return;
        };
        let first = round.first;
        let live = (first..self.forks.len())
            .any(|j| self.forks[j].final_status.is_none() && !self.forks[j].cancel_wanted);
        if live {
            return;
        }
        if let Some(next) = round.sequence.pop_front() {
            self.script.deadline = Some(io.now.at + round.timeout);
            self.launch_fork(io, next);
            return;
        }
        // Given up by us (ring time) when no target answered with a final status.
        let rejected: Vec<u16> = self.forks[first..]
            .iter()
            .filter(|f| !f.cancel_wanted)
            .filter_map(|f| f.final_status)
            .collect();
        self.round = None;
        match rejected.is_empty() {
            true => self.dial_failed(io, 480, HangupSide::System),
            false => self.dial_failed(io, best_final(rejected.into_iter()), HangupSide::Callee),
        }
    }

    /// Sends a final error to A and ends the call record.
    pub(super) fn fail_a(
        &mut self,
        io: &mut CallIo<'_>,
        status: u16,
        cause: &str,
        side: HangupSide,
    ) {
        self.fail_a_with(io, status, reason_phrase(status), cause, side);
    }

    /// As [`Self::fail_a`] with our own reason phrase.
    pub(super) fn fail_a_with(
        &mut self,
        io: &mut CallIo<'_>,
        status: u16,
        reason: &str,
        cause: &str,
        side: HangupSide,
    ) {
        self.script.stop();
        let resp = Response::for_request(&self.a_invite, status, reason);
        let resp = self.with_a_tag(resp);
        if let Some(tsx) = self.a_tsx {
            io.layer.respond(io.now.at, tsx, resp);
        }
        self.state = CallState::Ending;
        io.ended.push(self.finish_record(io, status, side, cause));
        self.cancel_pending_forks(io);
    }

    fn cancel_pending_forks(&mut self, io: &mut CallIo<'_>) {
        for j in 0..self.forks.len() {
            if self.forks[j].final_status.is_none() && !self.forks[j].cancel_sent {
                self.forks[j].cancel_wanted = true;
                if self.forks[j].provisional {
                    self.send_cancel(io, j);
                }
            }
        }
    }

    /// Gives up fork `i` if it has not ended: CANCEL once it rang (else when it does).
    pub(super) fn cancel_fork(&mut self, io: &mut CallIo<'_>, i: usize) {
        let fork = &mut self.forks[i];
        if fork.final_status.is_some() || fork.cancel_wanted {
            return;
        }
        fork.cancel_wanted = true;
        if fork.provisional {
            self.send_cancel(io, i);
        }
    }

    /// CANCEL fork `i` now (it has rung).
    pub(super) fn send_cancel(&mut self, io: &mut CallIo<'_>, i: usize) {
        let fork = &mut self.forks[i];
        fork.cancel_sent = true;
        let cancel = cancel_for(&fork.invite);
        io.layer
            .send_request(io.now.at, cancel, fork.target.peer, self.key.0);
    }

    /// The caller cancelled (the layer already answered 487 to A).
    pub fn on_cancelled(&mut self, io: &mut CallIo<'_>) {
        if self.state != CallState::Ringing {
            return;
        }
        self.state = CallState::Ending;
        self.script.stop();
        io.ended
            .push(self.finish_record(io, 487, HangupSide::Caller, "cancelled"));
        self.cancel_pending_forks(io);
        self.maybe_finish(io);
    }

    /// When the call wants [`Self::on_deadline`] (a dial's ring time, a digit timeout).
    pub fn deadline(&self) -> Option<Instant> {
        self.script.deadline
    }

    /// The deadline passed.
    pub fn on_deadline(&mut self, io: &mut CallIo<'_>) {
        if self.script.deadline.is_none_or(|d| d > io.now.at) {
            return;
        }
        self.script.deadline = None;
        match self.script.wait {
            Wait::Dial => self.on_ring_timeout(io),
            Wait::Originating => self.on_originate_timeout(io),
            Wait::Amd | Wait::Beep => self.on_detection_timeout(io),
            Wait::Input(_) => self.on_input_timeout(io),
            Wait::Voicemail(_) => {
                self.end_message(io);
                self.run_script(io);
            }
            _ => {}
        }
        self.maybe_finish(io);
    }

    /// The dial's ring time ran out: give up the ringing forks (CANCEL), then the next
    /// target of a sequence or the next action.
    fn on_ring_timeout(&mut self, io: &mut CallIo<'_>) {
        self.give_up_round(io, 480);
    }

    /// Cancels every target of the dial still ringing, recorded with `status`, and goes on
    /// (the next target of a sequence, or the dial's failure).
    pub(super) fn give_up_round(&mut self, io: &mut CallIo<'_>, status: u16) {
        let Some(first) = self.round.as_ref().map(|r| r.first) else {
            return;
        };
        for j in first..self.forks.len() {
            if self.forks[j].final_status.is_none() && !self.forks[j].cancel_wanted {
                self.forks[j].cancel_wanted = true;
                if self.forks[j].provisional {
                    self.send_cancel(io, j);
                }
                self.cdr.leg_ended(j, io.now.unix_ms, Some(status));
            }
        }
        self.ring_next_or_fail(io);
    }

    /// The relay saw no RTP for its limit: hang up both sides (cause `media_timeout`).
    pub fn on_media_timeout(&mut self, io: &mut CallIo<'_>) {
        if self.state == CallState::Answered {
            self.hangup(io, None, "media_timeout", HangupSide::System);
        }
    }

    /// The call's media session, when its media is relayed.
    pub fn media_id(&self) -> Option<&MediaCallId> {
        self.media.as_ref().map(CallMedia::id)
    }

    /// We answered A but its ACK never came: hang up both sides.
    pub fn on_answer_timeout(&mut self, io: &mut CallIo<'_>) {
        if self.state == CallState::Answered {
            self.hangup(io, None, "ack_timeout", HangupSide::System);
        }
    }

    /// Hangs up the answered call; `from` is the side that sent BYE (already answered).
    pub(super) fn hangup(
        &mut self,
        io: &mut CallIo<'_>,
        from: Option<Side>,
        cause: &str,
        side: HangupSide,
    ) {
        self.end_message(io);
        self.state = CallState::Ending;
        self.script.stop();
        self.cancel_pending_forks(io);
        self.leave_queue_on_hangup(io);
        io.ended
            .push(self.finish_record(io, self.cdr.status(), side, cause));
        for s in [Side::A, Side::B] {
            if Some(s) == from {
                continue;
            }
            if let Some(mut d) = self.dialogs[s.index()].take() {
                self.send_bye(io, &mut d);
                self.dialogs[s.index()] = Some(d);
            }
        }
        self.maybe_finish(io);
    }

    /// An in-dialog request from `from` (the layer matched it to this call).
    pub fn on_request(
        &mut self,
        io: &mut CallIo<'_>,
        from: Side,
        tsx: Option<ServerTsxId>,
        req: Request,
    ) {
        if let Some(d) = self.dialogs[from.index()].as_mut() {
            if let Ok(c) = req.cseq() {
                if req.method != Method::Ack {
                    d.remote_cseq = Some(c.seq);
                }
            }
        }
        match (&req.method, tsx) {
            (Method::Ack, _) => self.on_ack(io, from, req),
            (Method::Bye, Some(tsx)) => {
                // "Your call is over and recorded": only once the CDR is in the store.
                let ok = Response::for_request(&req, 200, "OK");
                io.respond_when_recorded(tsx, ok);
                match self.state {
                    CallState::Answered => {
                        let side = if from == Side::A {
                            HangupSide::Caller
                        } else {
                            HangupSide::Callee
                        };
                        self.hangup(io, Some(from), "normal_clearing", side);
                    }
                    CallState::Ringing if from == Side::A => {
                        // BYE on an early dialog from the caller: treat like CANCEL.
                        self.fail_a(io, 487, "cancelled", HangupSide::Caller);
                        self.maybe_finish(io);
                    }
                    _ => {}
                }
            }
            (Method::Options, Some(tsx)) => {
                io.layer
                    .respond(io.now.at, tsx, Response::for_request(&req, 200, "OK"));
            }
            (_, Some(tsx)) => self.relay_request(io, from, tsx, req),
            (_, None) => {}
        }
    }

    fn on_ack(&mut self, io: &mut CallIo<'_>, from: Side, req: Request) {
        if let Some(d) = &self.dialogs[from.index()] {
            io.layer.ack_received(&d.call_id, d.local_tag());
        }
        if from == Side::A && self.a_answered && self.a_codec.is_none() && !req.body.is_empty() {
            // We answered a late-offer INVITE with our offer: the answer is in the ACK.
            self.on_a_answer_in_ack(io, &req.body);
        }
        if let Some(p) = self.pending_ack.take_if(|p| p.to == from.other()) {
            let body = self.anchor(io, from, Sdp::Answer, &req.body);
            if let Some(d) = self.dialogs[p.to.index()].as_ref() {
                let me = io.locals.for_peer(d.peer);
                let mut ack = d.ack(p.cseq, me);
                copy_body(&req, &mut ack);
                ack.body = body;
                let bytes = ack.to_bytes();
                io.layer.send_stateless(d.peer, bytes.clone());
                if p.to == Side::B {
                    self.last_b_ack = Some((p.cseq, bytes));
                }
            }
        }
    }

    /// B retransmitted its 2xx after the INVITE transaction ended: re-send our ACK.
    pub fn on_stray_2xx(&mut self, io: &mut CallIo<'_>, resp: &Response) {
        let seq = resp.cseq().map(|c| c.seq).unwrap_or(0);
        if let (Some((ack_seq, bytes)), Some(b)) = (&self.last_b_ack, &self.dialogs[1]) {
            if *ack_seq == seq {
                io.layer.send_stateless(b.peer, bytes.clone());
            }
        }
    }

    fn relay_request(&mut self, io: &mut CallIo<'_>, from: Side, tsx: ServerTsxId, req: Request) {
        let to = from.other();
        if self.dialogs[to.index()].is_none() && self.a_codec.is_some() {
            // The switch itself is A's far end (IVR, queue): answer here.
            return self.local_request(io, tsx, req);
        }
        if self.dialogs[to.index()].is_none() {
            let resp = Response::for_request(&req, 481, "Call/Transaction Does Not Exist");
            io.layer.respond(io.now.at, tsx, resp);
            return;
        }
        if let Some(c) = contact_uri_of_request(&req) {
            if let Some(src) = self.dialogs[from.index()].as_mut() {
                src.refresh_target(Some(c));
            }
        }
        let body = self.anchor(io, from, Sdp::Offer, &req.body);
        let d = self.dialogs[to.index()].as_mut().expect("checked above");
        let me = io.locals.for_peer(d.peer);
        let mut out = d.request(req.method.clone(), me);
        copy_body(&req, &mut out);
        out.body = body;
        let peer = d.peer;
        let relay = Relay {
            from,
            server: tsx,
            request: req,
        };
        let ctsx = io.layer.send_request(io.now.at, out, peer, self.key.0);
        self.relays.insert(ctsx, relay);
    }

    fn on_relay_response(
        &mut self,
        io: &mut CallIo<'_>,
        tsx: ClientTsxId,
        relay: Relay,
        resp: Response,
    ) {
        let to = relay.from.other();
        let mut out = with_body_of(
            Response::for_request(&relay.request, resp.status, &resp.reason),
            &resp,
        );
        // A request without a body gets the offer in its response (RFC 3264 §4).
        let role = match relay.request.body.is_empty() {
            true => Sdp::Offer,
            false => Sdp::Answer,
        };
        out.body = self.anchor(io, to, role, &out.body);
        if resp.status < 200 {
            if resp.status > 100 {
                io.layer.respond(io.now.at, relay.server, out);
            }
            // Still waiting for the final response.
            self.relays.insert(tsx, relay);
            return;
        }
        let ok = (200..300).contains(&resp.status);
        if ok {
            if let Some(d) = self.dialogs[to.index()].as_mut() {
                d.refresh_target(contact_uri_of_response(&resp));
            }
        }
        if relay.request.method != Method::Invite || !ok {
            io.layer.respond(io.now.at, relay.server, out);
            return;
        }
        let cseq = resp.cseq().map(|c| c.seq).unwrap_or(0);
        if relay.request.body.is_empty() {
            self.pending_ack = Some(PendingAck { to, cseq });
        } else if let Some(d) = self.dialogs[to.index()].as_ref() {
            let me = io.locals.for_peer(d.peer);
            let ack = d.ack(cseq, me).to_bytes();
            io.layer.send_stateless(d.peer, ack.clone());
            if to == Side::B {
                self.last_b_ack = Some((cseq, ack));
            }
        }
        if let Some(d) = self.dialogs[relay.from.index()].as_ref() {
            let mut out = out;
            out.headers
                .push(HeaderName::CONTACT, io.locals.for_peer(d.peer).contact());
            let (cid, tag) = (d.call_id.clone(), d.local_tag().to_string());
            io.layer
                .respond_2xx_reliably(io.now.at, relay.server, out, &cid, &tag);
        }
    }

    /// The call record, with the relay's RTP counters when the media was anchored.
    pub(super) fn finish_record(
        &mut self,
        io: &CallIo<'_>,
        status: u16,
        side: HangupSide,
        cause: &str,
    ) -> crate::store::Cdr {
        let mut cdr = self.cdr.finish(io.now.unix_ms, status, side, cause);
        if let (Some(m), Some((ctl, _))) = (&self.media, io.media) {
            cdr.media = m.cdr_media(ctl);
        }
        cdr
    }

    pub(super) fn maybe_finish(&mut self, io: &mut CallIo<'_>) {
        if self.state != CallState::Ending || !self.byes.is_empty() {
            return;
        }
        if self.forks.iter().any(|f| f.final_status.is_none()) && self.winner.is_none() {
            return;
        }
        self.finished = true;
        if let (Some(m), Some((ctl, _))) = (&self.media, io.media) {
            m.release(ctl);
        }
        for d in self.dialogs.iter().flatten() {
            io.index
                .push((d.call_id.clone(), d.local_tag().to_string(), None));
        }
    }

    fn with_a_tag(&self, mut resp: Response) -> Response {
        if let Ok(mut to) = resp.to() {
            if to.tag().is_none() {
                to.set_tag(&self.a_tag());
                resp.headers.set(HeaderName::TO, to.to_string());
            }
        }
        resp
    }

    /// A response to A's INVITE mirroring B's (status, reason, body), with our tag and Contact.
    fn response_to_a(&self, status: u16, reason: &str, b: &Response, io: &CallIo<'_>) -> Response {
        let mut resp = Response::for_request(&self.a_invite, status, reason);
        resp = self.with_a_tag(resp);
        if let Some(d) = &self.dialogs[0] {
            resp.headers
                .push(HeaderName::CONTACT, io.locals.for_peer(d.peer).contact());
        }
        let mut resp = with_body_of(resp, b);
        let role = match self.a_invite.body.is_empty() {
            true => Sdp::Offer,
            false => Sdp::Answer,
        };
        resp.body = self.anchor(io, Side::B, role, &resp.body);
        resp
    }
}

fn copy_body(from: &Request, to: &mut Request) {
    if !from.body.is_empty() {
        if let Some(ct) = from.headers.get(&HeaderName::CONTENT_TYPE) {
            to.headers.push(HeaderName::CONTENT_TYPE, ct.to_string());
        }
        to.body = from.body.clone();
    }
}

fn with_body_of(mut resp: Response, from: &Response) -> Response {
    if !from.body.is_empty() {
        if let Some(ct) = from.headers.get(&HeaderName::CONTENT_TYPE) {
            resp.headers.set(HeaderName::CONTENT_TYPE, ct.to_string());
        }
        resp.body = from.body.clone();
    }
    resp
}

/// RFC 3261 §16.7 step 6, simplified for a B2BUA: a 6xx wins; otherwise the lowest
/// class, preferring 486 (busy) over other 4xx so a busy callee is reported as busy.
pub fn best_final(statuses: impl Iterator<Item = u16>) -> u16 {
    let all: Vec<u16> = statuses.collect();
    if let Some(s) = all.iter().find(|s| **s >= 600) {
        return *s;
    }
    if all.contains(&486) {
        return 486;
    }
    all.into_iter()
        .min_by_key(|s| (s / 100, *s))
        .map(|s| if s == 408 { 480 } else { s })
        .unwrap_or(480)
}

/// A hangup cause for a failed call.
pub fn cause_for(status: u16) -> &'static str {
    match status {
        486 | 600 => "busy",
        404 | 604 => "unallocated_number",
        480 | 408 => "no_answer",
        487 => "cancelled",
        603 => "declined",
        500..=599 => "congestion",
        _ => "call_rejected",
    }
}

pub(super) fn build_b_invite(
    a: &Request,
    target: &Target,
    caller: &crate::sip::message::NameAddr,
    me: &LocalContact,
    max_forwards: u8,
    domain: &str,
) -> Request {
    let mut req = new_request(Method::Invite, target.uri.clone());
    let h = &mut req.headers;
    h.push(HeaderName::VIA, me.via());
    h.push(HeaderName::MAX_FORWARDS, max_forwards.to_string());
    let mut from = caller.clone();
    from.params.clear();
    from.set_tag(&crate::sip::dialog::new_tag());
    h.push(HeaderName::FROM, from.to_string());
    h.push(HeaderName::TO, format!("<{}>", target.to));
    h.push(HeaderName::CALL_ID, crate::sip::dialog::new_call_id(domain));
    h.push(HeaderName::CSEQ, "1 INVITE");
    h.push(HeaderName::CONTACT, me.contact());
    h.push(HeaderName::ALLOW, super::ALLOW);
    copy_body(a, &mut req);
    req
}
