//! The switch core: one sans-IO state machine that owns the transaction layer, the
//! registrar front, digest authentication and every call, and turns datagrams into
//! datagrams. The runtime feeds it ([`Switch::on_message`], [`Switch::on_timeout`]) and
//! drains it ([`Switch::poll_output`], [`Switch::poll_timeout`]); it never reads the
//! clock or touches a socket, so whole call flows run in tests on a virtual clock.
//!
//! Requests walk the named steps in [`pipeline`]; REGISTER goes to `register`;
//! INVITE is authenticated and routed in `invite` and becomes a [`crate::b2bua::Call`].

mod acd_driver;
mod directory;
mod invite;
mod originate;
pub mod pipeline;
mod recorded;
mod register;
pub mod router;
mod targets;
mod trunk_register;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use std::net::IpAddr;

use crate::b2bua::media::MediaControl;
use crate::b2bua::route::Router;
use crate::b2bua::{CallIo, Calls, HeldResponse, Locals, Now, ALLOW};
use crate::config::Config;
use crate::sip::auth::{Verifier, VerifierConfig};
use crate::sip::layer::{LayerEvent, Peer, ServerTsxId, TransactionLayer, Transmit};
use crate::sip::message::{parse, HasHeaders, HeaderName, Method, Request, Response, SipMessage};
use crate::sip::registrar::Registrar;
use crate::sip::txn::TimerConfig;
use crate::store::{CallStart, Cdr};
pub use acd_driver::acd_config;
pub use originate::{OriginateError, OriginateRequest};
use pipeline::{MethodRoute, Reject};
pub use recorded::RecordWait;
pub use trunk_register::RegistrationState;
use trunk_register::REGISTRATION_OWNER;

/// What the runtime must do for the switch.
///
/// Call records ([`SwitchOutput::CallStarted`], [`SwitchOutput::CallEnded`]) are numbered
/// 1, 2, 3… in the order they are output; the runtime writes them to the store in that
/// order and reports progress with [`Switch::on_recorded`] (see [`Switch::records_output`]).
/// Until then the responses that vouch for them (a BYE's 200, the caller's answer) are held.
#[derive(Debug)]
pub enum SwitchOutput {
    Transmit(Transmit),
    CallStarted(CallStart),
    CallEnded(Cdr),
    /// For the event stream (voicemail left, agent and queue changes).
    Event(crate::b2bua::CallEvent),
}

/// Counters an operator watches (exported to metrics by the runtime).
#[derive(Debug, Default, Clone)]
pub struct SwitchStats {
    pub dropped_unparseable: u64,
    pub rejected_invalid: u64,
    pub calls_started: u64,
    pub calls_ended: u64,
    /// Responses held for the store that left without their record committed (the store
    /// failed, or did not answer within [`RecordWait`]).
    pub sent_unrecorded: u64,
}

pub struct Switch {
    cfg: Arc<Config>,
    layer: TransactionLayer,
    registrar: Arc<Registrar>,
    verifier: Verifier,
    router: Arc<dyn Router>,
    targets: targets::Targets,
    calls: Calls,
    locals: Locals,
    /// Our own sent-by values (host:port), for loop detection.
    ours: Vec<String>,
    draining: bool,
    registrations: Vec<trunk_register::TrunkRegistration>,
    /// The media relay and the address it advertises, when calls' media is anchored.
    media: Option<(Arc<dyn MediaControl>, IpAddr)>,
    /// Queues and agents, when configured.
    acd: Option<crate::acd::Acd>,
    /// The ACD as configured, and the queues campaigns with agent lists added over it.
    acd_config: Option<crate::acd::AcdConfig>,
    campaign_queues: std::collections::BTreeMap<String, Vec<String>>,
    /// Queues whose callers are offered a callback in announcements.
    callback_queues: std::collections::HashSet<String>,
    /// How to reach callers whose place a queue keeps for a callback, by number.
    callbacks: std::collections::HashMap<String, crate::dialplan::DialTarget>,
    outputs: VecDeque<SwitchOutput>,
    /// Record numbering and the responses waiting for the store.
    recorded: recorded::Recorded<HeldResponse>,
    pub stats: SwitchStats,
}

impl Switch {
    pub fn new(
        cfg: Arc<Config>,
        locals: Locals,
        registrar: Arc<Registrar>,
        router: Arc<dyn Router>,
    ) -> Switch {
        let timers = TimerConfig {
            t1: cfg.sip.t1,
            t2: cfg.sip.t2,
            t4: cfg.sip.t4,
            d: (cfg.sip.t1 * 64).max(std::time::Duration::from_secs(32)),
        };
        let mut ours = vec![locals.udp.host_port.clone()];
        ours.extend(locals.tcp.iter().map(|l| l.host_port.clone()));
        Switch {
            layer: TransactionLayer::new(timers),
            registrar: registrar.clone(),
            verifier: Verifier::with_random_secret(VerifierConfig {
                algorithms: cfg.sip.digest_algorithms.clone(),
                ..VerifierConfig::default()
            }),
            router,
            targets: targets::Targets {
                cfg: cfg.clone(),
                registrar,
            },
            calls: Calls::default(),
            locals,
            ours,
            draining: false,
            registrations: cfg
                .trunks
                .iter()
                .filter(|t| t.register)
                .map(|t| trunk_register::TrunkRegistration::new(t.clone(), &cfg.sip.domain))
                .collect(),
            media: None,
            acd: None,
            acd_config: None,
            campaign_queues: Default::default(),
            callbacks: Default::default(),
            callback_queues: Default::default(),
            outputs: VecDeque::new(),
            recorded: recorded::Recorded::default(),
            stats: SwitchStats::default(),
            cfg,
        }
    }

    /// Live calls.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Live transactions (for metrics, and tests that check nothing leaks).
    pub fn transactions(&self) -> usize {
        self.layer.len()
    }

    /// Every live call not already ending (read-only; for the API).
    pub fn calls_snapshot(&self) -> Vec<crate::b2bua::LiveCall> {
        self.calls.snapshot()
    }

    /// Every live call not already ending, borrowed (no allocation; for the core task's
    /// look for answered calls).
    pub fn live_calls(&self) -> impl Iterator<Item = crate::b2bua::LiveCallRef<'_>> {
        self.calls.live()
    }

    /// Hangs up the call with this record id (operator action); false if not live.
    pub fn hang_up(&mut self, now: Now, id: &str) -> bool {
        let mut found = false;
        self.with_calls(now, |calls, io| found = calls.hang_up(io, id));
        found
    }

    /// How long a response waits for its record before it leaves anyway (default 2 s).
    pub fn with_record_wait(mut self, wait: RecordWait) -> Switch {
        self.recorded = recorded::Recorded::with_wait(wait);
        self
    }

    /// The number of the last call record output (records are numbered from 1 in output
    /// order); the runtime tells the store writer, which reports it back when committed.
    pub fn records_output(&self) -> u64 {
        self.recorded.output()
    }

    /// The store is done with every call record numbered up to `through` (`committed`:
    /// false when some could not be written). The responses held for them leave now.
    pub fn on_recorded(&mut self, now: Now, through: u64, committed: bool) {
        let released = self.recorded.on_done(through, committed);
        self.send_held_all(now, released, "the store could not write some records");
    }

    /// Responses waiting for the store (a draining switch waits for them too).
    pub fn awaiting_store(&self) -> usize {
        self.recorded.len()
    }

    /// Blind transfer: the live call `id`'s caller is routed to `exten` in `context` (the
    /// call's own context when empty), the other party hung up.
    pub fn transfer(
        &mut self,
        now: Now,
        id: &str,
        context: &str,
        exten: &str,
    ) -> Result<(), crate::b2bua::TransferError> {
        let mut done = Err(crate::b2bua::TransferError::NoSuchCall);
        self.with_calls(now, |calls, io| {
            done = calls.transfer(io, id, context, exten)
        });
        done
    }

    /// Stop taking new calls (503); calls in progress go on.
    pub fn drain(&mut self) {
        self.draining = true;
    }

    /// One datagram (or one framed stream message) from `peer`.
    pub fn on_message(&mut self, now: Now, data: Bytes, peer: Peer) {
        let msg = match parse(data) {
            Ok(m) => m,
            Err(e) => {
                self.stats.dropped_unparseable += 1;
                tracing::debug!(%e, from = %peer.addr, "dropped unparseable message");
                return;
            }
        };
        if let Err(reject) = pipeline::sanity(&msg) {
            self.stats.rejected_invalid += 1;
            if let SipMessage::Request(req) = &msg {
                if req.method != Method::Ack {
                    self.reply_stateless(req, peer, &reject);
                }
            }
            return;
        }
        match msg {
            SipMessage::Request(mut req) => {
                pipeline::nat_fixup(&mut req, peer.addr);
                self.layer.on_request(now.at, req, peer);
            }
            SipMessage::Response(resp) => self.layer.on_response(now.at, resp, peer),
        }
        self.process(now);
    }

    /// Anchors every call's media at `relay`, advertising `ip` in rewritten SDP.
    pub fn with_media(mut self, relay: Arc<dyn MediaControl>, ip: IpAddr) -> Switch {
        self.media = Some((relay, ip));
        self
    }

    /// Starts what the switch does on its own (carrier registrations).
    pub fn start(&mut self, now: Now) {
        self.tick_registrations(now);
    }

    /// State of each carrier registration, by trunk name.
    pub fn registrations(&self) -> Vec<(String, trunk_register::RegistrationState)> {
        self.registrations
            .iter()
            .filter(|r| !r.retired)
            .map(|r| (r.trunk_name().to_string(), r.state))
            .collect()
    }

    /// An event from the media relay for one call's session.
    pub fn on_media_event(
        &mut self,
        now: Now,
        media: &crate::media::MediaCallId,
        event: crate::media::MediaEvent,
    ) {
        if let crate::media::MediaEvent::Timeout { idle } = event {
            tracing::info!(call = %media.0, ?idle, "no RTP: hanging up");
        }
        self.with_calls(now, |calls, io| calls.on_media_event(io, media, event));
    }

    /// Timers due at `now`.
    pub fn on_timeout(&mut self, now: Now) {
        let released = self.recorded.on_timeout(now.at);
        self.send_held_all(now, released, "the store did not answer in time");
        self.layer.on_timeout(now.at);
        self.tick_registrations(now);
        self.with_calls(now, |calls, io| calls.on_tick(io));
        self.acd_timeout(now);
        self.process(now);
    }

    pub fn poll_output(&mut self) -> Option<SwitchOutput> {
        if let Some(t) = self.layer.poll_transmit() {
            return Some(SwitchOutput::Transmit(t));
        }
        self.outputs.pop_front()
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        [
            self.layer.poll_timeout(),
            self.calls.next_deadline(),
            self.acd.as_ref().and_then(|a| a.poll_timeout()),
            self.recorded.next_deadline(),
        ]
        .into_iter()
        .chain(
            self.registrations
                .iter()
                .filter(|r| !r.retired)
                .map(|r| r.next_at()),
        )
        .flatten()
        .min()
    }

    fn io(&mut self, now: Now) -> CallIo<'_> {
        CallIo {
            layer: &mut self.layer,
            now,
            locals: &self.locals,
            domain: &self.cfg.sip.domain,
            index: Vec::new(),
            started: Vec::new(),
            ended: Vec::new(),
            media: self.media.as_ref().map(|(c, ip)| (c.as_ref(), *ip)),
            router: self.router.as_ref(),
            resolver: &self.targets,
            notices: Vec::new(),
            events: Vec::new(),
            held: Vec::new(),
        }
    }

    fn emit(&mut self, started: Vec<CallStart>, ended: Vec<Cdr>) {
        self.stats.calls_started += started.len() as u64;
        self.stats.calls_ended += ended.len() as u64;
        for c in started {
            self.recorded.start_output(&c.id);
            self.outputs.push_back(SwitchOutput::CallStarted(c));
        }
        for c in ended {
            self.recorded.end_output();
            self.outputs.push_back(SwitchOutput::CallEnded(c));
        }
    }

    /// Holds a response until the store has its record (or sends it, if it has).
    fn hold(&mut self, now: Now, held: HeldResponse) {
        let after = self.recorded.number_of(&held.after);
        if let Some(held) = self.recorded.hold(now.at, after, held) {
            self.send_held(now, held, recorded::Release::Recorded);
        }
    }

    /// Sends released responses; one warning for those sent without their record.
    fn send_held_all(
        &mut self,
        now: Now,
        released: Vec<(HeldResponse, recorded::Release)>,
        cause: &'static str,
    ) {
        let unrecorded = released
            .iter()
            .filter(|(_, why)| *why == recorded::Release::Unrecorded)
            .count();
        if unrecorded > 0 {
            tracing::warn!(
                responses = unrecorded,
                "{cause}: answers/BYE 200s sent without their call record committed"
            );
        }
        for (held, why) in released {
            self.send_held(now, held, why);
        }
    }

    fn send_held(&mut self, now: Now, held: HeldResponse, why: recorded::Release) {
        if why == recorded::Release::Unrecorded {
            self.stats.sent_unrecorded += 1;
        }
        match held.reliably {
            Some((call_id, tag)) => self
                .layer
                .respond_2xx_reliably(now.at, held.tsx, held.resp, &call_id, &tag),
            None => self.layer.respond(now.at, held.tsx, held.resp),
        }
    }

    /// Handles everything the layer reported.
    fn process(&mut self, now: Now) {
        while let Some(ev) = self.layer.poll_event() {
            match ev {
                LayerEvent::Request { tsx, req, peer } => self.on_request(now, tsx, req, peer),
                LayerEvent::Response { owner, resp, .. } if owner & REGISTRATION_OWNER != 0 => {
                    self.on_registration_response(now, owner, Some(resp))
                }
                LayerEvent::Timeout { owner, .. } if owner & REGISTRATION_OWNER != 0 => {
                    self.on_registration_response(now, owner, None)
                }
                LayerEvent::Response { tsx, owner, resp } => {
                    self.with_calls(now, |calls, io| calls.on_response(io, owner, tsx, resp))
                }
                LayerEvent::Timeout { tsx, owner } => {
                    self.with_calls(now, |calls, io| calls.on_timeout(io, owner, tsx))
                }
                LayerEvent::Cancelled { tsx } => {
                    self.with_calls(now, |calls, io| calls.on_cancelled(io, tsx))
                }
                LayerEvent::StrayResponse { resp, .. } => self.on_stray_response(now, resp),
                LayerEvent::AnswerTimeout { call_id, local_tag } => self
                    .with_calls(now, |calls, io| {
                        calls.on_answer_timeout(io, &call_id, &local_tag)
                    }),
            }
        }
    }

    fn with_calls(&mut self, now: Now, f: impl FnOnce(&mut Calls, &mut CallIo<'_>)) {
        let mut calls = std::mem::take(&mut self.calls);
        let mut io = self.io(now);
        f(&mut calls, &mut io);
        let (started, ended, events, notices, held) = (
            std::mem::take(&mut io.started),
            std::mem::take(&mut io.ended),
            std::mem::take(&mut io.events),
            std::mem::take(&mut io.notices),
            std::mem::take(&mut io.held),
        );
        self.calls = calls;
        self.emit(started, ended);
        for h in held {
            self.hold(now, h);
        }
        self.outputs
            .extend(events.into_iter().map(SwitchOutput::Event));
        if !notices.is_empty() {
            self.feed_acd(now, notices);
        }
    }

    fn on_stray_response(&mut self, now: Now, resp: Response) {
        let is_invite_2xx = (200..300).contains(&resp.status)
            && resp
                .cseq()
                .map(|c| c.method == Method::Invite)
                .unwrap_or(false);
        if !is_invite_2xx {
            return;
        }
        let (Ok(cid), Ok(from)) = (resp.call_id(), resp.from()) else {
            return;
        };
        if let Some((key, _)) = self.calls.find_dialog(cid, from.tag().unwrap_or("")) {
            self.with_calls(now, |calls, io| calls.on_stray_2xx(io, key, &resp));
        }
    }

    fn on_request(&mut self, now: Now, tsx: Option<ServerTsxId>, req: Request, peer: Peer) {
        // In-dialog: the To tag names one of our dialogs.
        if let Ok(to) = req.to() {
            if let Some(tag) = to.tag() {
                let cid = req.call_id().unwrap_or("").to_string();
                match self.calls.find_dialog(&cid, tag) {
                    Some((key, side)) => {
                        self.with_calls(now, |calls, io| calls.on_request(io, key, side, tsx, req));
                    }
                    None => {
                        if let Some(tsx) = tsx {
                            self.answer(
                                now,
                                tsx,
                                &req,
                                &Reject::new(481, "Call/Transaction Does Not Exist"),
                            );
                        }
                    }
                }
                return;
            }
        }
        let Some(tsx) = tsx else {
            // A stray ACK, or a request without a usable branch.
            if req.method != Method::Ack {
                self.reply_stateless(&req, peer, &Reject::new(400, "Bad Via: missing branch"));
            }
            return;
        };
        match pipeline::method(&req, ALLOW) {
            Ok(MethodRoute::Register) => self.on_register(now, tsx, req, peer),
            Ok(MethodRoute::Options) => {
                let mut resp = Response::for_request(&req, 200, "OK");
                resp.headers.push(HeaderName::ALLOW, ALLOW);
                resp.headers.push(HeaderName::ACCEPT, "application/sdp");
                self.respond_tagged(now, tsx, resp);
            }
            Ok(MethodRoute::Invite) => self.on_invite(now, tsx, req, peer),
            Ok(MethodRoute::Drop) => {}
            Err(reject) => self.answer(now, tsx, &req, &reject),
        }
    }

    /// Answers a request on its transaction with a reject (adds our To tag).
    fn answer(&mut self, now: Now, tsx: ServerTsxId, req: &Request, reject: &Reject) {
        let mut resp = Response::for_request(req, reject.status, &reject.reason);
        for (n, v) in &reject.headers {
            resp.headers.push(n.clone(), v.clone());
        }
        self.respond_tagged(now, tsx, resp);
    }

    fn respond_tagged(&mut self, now: Now, tsx: ServerTsxId, mut resp: Response) {
        if let Ok(mut to) = resp.to() {
            if to.tag().is_none() {
                to.set_tag(&crate::sip::dialog::new_tag());
                resp.headers.set(HeaderName::TO, to.to_string());
            }
        }
        self.layer.respond(now.at, tsx, resp);
    }

    /// A 400 (or other reject) for a request that has no transaction.
    fn reply_stateless(&mut self, req: &Request, peer: Peer, reject: &Reject) {
        if req.top_via().is_err() {
            return; // nowhere to send it
        }
        let mut resp = Response::for_request(req, reject.status, &reject.reason);
        for (n, v) in &reject.headers {
            resp.headers.push(n.clone(), v.clone());
        }
        self.layer.send_stateless(peer, resp.to_bytes());
    }
}

#[cfg(test)]
mod tests;
