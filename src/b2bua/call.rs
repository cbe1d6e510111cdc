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

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;

use super::cdr::CdrBuilder;
use super::media::CallMedia;
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
    /// Digest credentials for a carrier that challenges our INVITE (username, password).
    pub credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Ringing,
    Answered,
    /// A final response went to A; remaining forks are being cleaned up.
    Ending,
}

struct Fork {
    target: Target,
    invite: Request,
    tsx: ClientTsxId,
    provisional: bool,
    final_status: Option<u16>,
    cancel_wanted: bool,
    cancel_sent: bool,
    early: Option<Dialog>,
    /// We already answered one challenge on this fork (a second one is a failure).
    authenticated: bool,
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

pub struct Call {
    pub key: CallKey,
    pub state: CallState,
    a_invite: Request,
    a_tsx: ServerTsxId,
    /// [A, B] dialogs; B is set on answer.
    dialogs: [Option<Dialog>; 2],
    forks: Vec<Fork>,
    winner: Option<usize>,
    relays: HashMap<ClientTsxId, Relay>,
    byes: HashMap<ClientTsxId, Side>,
    pending_ack: Option<PendingAck>,
    /// The last ACK sent to B for a 2xx, re-sent when B retransmits its 2xx.
    last_b_ack: Option<(u32, Bytes)>,
    pub dial_deadline: Option<Instant>,
    cdr: CdrBuilder,
    /// The relay session, when the switch anchors this call's media.
    media: Option<CallMedia>,
    finished: bool,
}

impl Call {
    /// Starts the call: answers nothing yet (the layer already sent 100 Trying) and
    /// sends one INVITE per target.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        io: &mut CallIo<'_>,
        key: CallKey,
        a_tsx: ServerTsxId,
        a_invite: Request,
        a_peer: Peer,
        caller: crate::sip::message::NameAddr,
        callee: &str,
        direction: &str,
        targets: Vec<Target>,
        dial_deadline: Option<Instant>,
    ) -> Call {
        let a_tag = crate::sip::dialog::new_tag();
        let a_dialog = Dialog::uas(&a_invite, &a_tag, a_peer);
        let mut cdr = CdrBuilder::new(
            io.now.unix_ms,
            &a_invite,
            caller.uri.user.clone().unwrap_or_default(),
            callee.to_string(),
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
        // No media ports: the call is refused at once (503) and no fork is sent.
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
        let targets = if refusal.is_some() {
            Vec::new()
        } else {
            targets
        };
        let b_body = match (&media, io.media) {
            (Some(m), Some((ctl, _))) => m.relay_body(ctl, Side::A, &a_invite.body),
            _ => a_invite.body.clone(),
        };
        let mut forks = Vec::with_capacity(targets.len());
        for target in targets {
            let me = io.locals.for_peer(target.peer);
            let mut invite =
                build_b_invite(&a_invite, &target, &caller, me, max_forwards, io.domain);
            invite.body = b_body.clone();
            cdr.add_leg(LegRole::B, &target.label, &invite, io.now.unix_ms);
            let tsx = io
                .layer
                .send_request(io.now.at, invite.clone(), target.peer, key.0);
            forks.push(Fork {
                target,
                invite,
                tsx,
                provisional: false,
                final_status: None,
                cancel_wanted: false,
                cancel_sent: false,
                early: None,
                authenticated: false,
            });
        }
        let mut call = Call {
            key,
            state: CallState::Ringing,
            a_invite,
            a_tsx,
            dialogs: [a_dialog, None],
            forks,
            winner: None,
            relays: HashMap::new(),
            byes: HashMap::new(),
            pending_ack: None,
            last_b_ack: None,
            dial_deadline,
            cdr,
            media,
            finished: false,
        };
        if let Some(status) = refusal {
            call.fail_a(io, status, "congestion", HangupSide::System);
            call.maybe_finish(io);
        }
        call
    }

    /// A body from `from`'s phone on its way to the other phone, anchored at the relay
    /// when this call's media is relayed.
    fn anchor(&self, io: &CallIo<'_>, from: Side, body: &Bytes) -> Bytes {
        match (&self.media, io.media) {
            (Some(m), Some((ctl, _))) => m.relay_body(ctl, from, body),
            _ => body.clone(),
        }
    }

    /// The A leg's INVITE server transaction.
    pub fn a_tsx(&self) -> ServerTsxId {
        self.a_tsx
    }

    /// The call is over and may be dropped.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn a_tag(&self) -> String {
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
        } else if resp.status >= 200 && self.byes.remove(&tsx).is_some() {
            self.maybe_finish(io);
        }
    }

    /// Timer B/F: the far side never answered.
    pub fn on_timeout(&mut self, io: &mut CallIo<'_>, tsx: ClientTsxId) {
        if let Some(i) = self.forks.iter().position(|f| f.tsx == tsx) {
            self.fork_failed(io, i, 408);
        } else if let Some(relay) = self.relays.remove(&tsx) {
            let resp = Response::for_request(&relay.request, 408, reason_phrase(408));
            io.layer.respond(io.now.at, relay.server, resp);
        } else if self.byes.remove(&tsx).is_some() {
            self.maybe_finish(io);
        }
    }

    fn on_fork_response(&mut self, io: &mut CallIo<'_>, i: usize, resp: Response) {
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
            if self.state == CallState::Ringing {
                let relay = self.response_to_a(status, resp.reason.as_str(), &resp, io);
                io.layer.respond(io.now.at, self.a_tsx, relay);
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
    fn retry_with_credentials(&mut self, io: &mut CallIo<'_>, i: usize, resp: &Response) -> bool {
        let fork = &mut self.forks[i];
        let Some((user, pass)) = fork.target.credentials.as_ref() else {
            return false;
        };
        if fork.authenticated || fork.cancel_wanted || self.state != CallState::Ringing {
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

    fn on_fork_answer(&mut self, io: &mut CallIo<'_>, i: usize, resp: Response) {
        let fork = &mut self.forks[i];
        fork.final_status = Some(resp.status);
        let Some(mut b) = Dialog::uac(&fork.invite, &resp, fork.target.peer) else {
            return;
        };
        let invite_cseq = fork.invite.cseq().map(|c| c.seq).unwrap_or(1);
        if self.state != CallState::Ringing {
            // Answered too late (another fork won, or the caller gave up): ACK and BYE.
            let me = io.locals.for_peer(b.peer);
            io.layer
                .send_stateless(b.peer, b.ack(invite_cseq, me).to_bytes());
            let bye = b.request(Method::Bye, me);
            let tsx = io.layer.send_request(io.now.at, bye, b.peer, self.key.0);
            self.byes.insert(tsx, Side::B);
            return;
        }
        self.state = CallState::Answered;
        self.winner = Some(i);
        self.cdr.answered(i, io.now.unix_ms, resp.status);
        io.index.push((
            b.call_id.clone(),
            b.local_tag().to_string(),
            Some((self.key, Side::B)),
        ));
        // Cancel the other forks.
        for j in 0..self.forks.len() {
            if j != i && self.forks[j].final_status.is_none() {
                self.forks[j].cancel_wanted = true;
                if self.forks[j].provisional {
                    self.send_cancel(io, j);
                }
            }
        }
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
        io.layer
            .respond_2xx_reliably(io.now.at, self.a_tsx, ok, &self.a_invite_call_id(), &a_tag);
        self.dialogs[1] = Some(b);
    }

    fn a_invite_call_id(&self) -> String {
        self.a_invite.call_id().unwrap_or_default().to_string()
    }

    fn fork_failed(&mut self, io: &mut CallIo<'_>, i: usize, status: u16) {
        self.forks[i].final_status = Some(status);
        self.cdr.leg_ended(i, io.now.unix_ms, Some(status));
        if self.forks.iter().any(|f| f.final_status.is_none()) {
            return;
        }
        if self.state == CallState::Ringing {
            let best = best_final(self.forks.iter().filter_map(|f| f.final_status));
            self.fail_a(io, best, cause_for(best), HangupSide::Callee);
        }
        self.maybe_finish(io);
    }

    /// Sends a final error to A and ends the call record.
    fn fail_a(&mut self, io: &mut CallIo<'_>, status: u16, cause: &str, side: HangupSide) {
        let resp = Response::for_request(&self.a_invite, status, reason_phrase(status));
        let resp = self.with_a_tag(resp);
        io.layer.respond(io.now.at, self.a_tsx, resp);
        self.state = CallState::Ending;
        io.ended
            .push(self.cdr.finish(io.now.unix_ms, status, side, cause));
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

    fn send_cancel(&mut self, io: &mut CallIo<'_>, i: usize) {
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
        io.ended.push(
            self.cdr
                .finish(io.now.unix_ms, 487, HangupSide::Caller, "cancelled"),
        );
        self.cancel_pending_forks(io);
        self.maybe_finish(io);
    }

    /// The dial timeout from the route expired without an answer.
    pub fn on_dial_timeout(&mut self, io: &mut CallIo<'_>) {
        self.dial_deadline = None;
        if self.state == CallState::Ringing {
            self.fail_a(io, 480, "no_answer", HangupSide::System);
            self.maybe_finish(io);
        }
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
    fn hangup(&mut self, io: &mut CallIo<'_>, from: Option<Side>, cause: &str, side: HangupSide) {
        self.state = CallState::Ending;
        io.ended.push(
            self.cdr
                .finish(io.now.unix_ms, self.cdr.status(), side, cause),
        );
        for s in [Side::A, Side::B] {
            if Some(s) == from {
                continue;
            }
            if let Some(d) = self.dialogs[s.index()].as_mut() {
                let me = io.locals.for_peer(d.peer);
                let bye = d.request(Method::Bye, me);
                let tsx = io.layer.send_request(io.now.at, bye, d.peer, self.key.0);
                self.byes.insert(tsx, s);
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
                let ok = Response::for_request(&req, 200, "OK");
                io.layer.respond(io.now.at, tsx, ok);
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
        if let Some(p) = self.pending_ack.take_if(|p| p.to == from.other()) {
            let body = self.anchor(io, from, &req.body);
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
        let body = self.anchor(io, from, &req.body);
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
        out.body = self.anchor(io, to, &out.body);
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

    fn maybe_finish(&mut self, io: &mut CallIo<'_>) {
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
        resp.body = self.anchor(io, Side::B, &resp.body);
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

fn build_b_invite(
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
