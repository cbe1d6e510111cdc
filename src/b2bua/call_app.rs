//! The call carrying out its program ([`super::script`]): each dialplan action becomes
//! SIP and media operations on the call — answering the caller with the switch's own SDP,
//! prompts and digit collection through the relay, dials (parallel or sequential, before
//! or after the switch answered), re-routing for menus and transfers.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::call::{Call, CallState, Round};
use super::local_sdp::{self, Negotiated};
use super::media::leg;
use super::route::{RouteQuery, Routing};
use super::script::{cause_name, status_for_cause, Input, InputFor, Wait};
use super::{CallIo, Side};
use crate::dialplan::{Action, DialTarget, IvrMenu, RingStrategy};
use crate::media::Leg;
use crate::sip::layer::ServerTsxId;
use crate::sip::message::{HasHeaders, HeaderName, Method, Request, Response};
use crate::sip::sdp::SessionDescription;
use crate::store::HangupSide;

/// Ring time of a `dial` that gives none (RFC 3261 §16.6 Timer C is "greater than 3
/// minutes": after a 1xx no transaction timer ends a ringing INVITE).
const RING_LIMIT: Duration = Duration::from_secs(181);

/// The prompt played to the caller while an agent's phone rings after the switch answered.
const RINGBACK: &str = "tone:ringback";

impl Call {
    /// Runs actions until the program waits for something or the call ends.
    pub(super) fn run_script(&mut self, io: &mut CallIo<'_>) {
        while self.state != CallState::Ending {
            if let Some(action) = self.script.next() {
                self.execute(io, action);
                continue;
            }
            if self.script.exhausted() {
                self.script_finished(io);
            }
            return;
        }
    }

    fn script_finished(&mut self, io: &mut CallIo<'_>) {
        self.script.stop();
        if !self.a_answered {
            let (status, side) = self
                .script
                .last_failure
                .unwrap_or((480, HangupSide::System));
            self.fail_a(io, status, super::cause_for(status), side);
        } else {
            self.hangup(io, None, "normal_clearing", HangupSide::System);
        }
        self.maybe_finish(io);
    }

    fn execute(&mut self, io: &mut CallIo<'_>, action: Action) {
        match action {
            Action::Answer => {
                self.answer_a(io);
            }
            Action::Playback { prompt } => {
                if self.answer_a(io) {
                    let prompt = self.script.expand(&prompt);
                    if let Some(id) = self.play(io, &prompt, false) {
                        self.script.wait = Wait::Play(id);
                    }
                }
            }
            Action::Ivr(menu) => {
                if self.answer_a(io) {
                    let (prompt, max, timeout) =
                        (menu.prompt.clone(), menu.max_digits, menu.timeout_secs);
                    self.collect(io, InputFor::Menu(menu), Some(&prompt), max, timeout);
                }
            }
            Action::Collect {
                var,
                prompt,
                max_digits,
                timeout_secs,
                terminator,
            } => {
                if self.answer_a(io) {
                    let terminator = terminator.and_then(|t| t.chars().next());
                    let purpose = InputFor::Collect { var, terminator };
                    self.collect(io, purpose, prompt.as_deref(), max_digits, timeout_secs);
                }
            }
            Action::Dial {
                targets,
                strategy,
                timeout_secs,
                ..
            } => self.dial(io, targets, strategy, timeout_secs),
            Action::RecordStart { file } => {
                let file = self.script.expand(&file);
                self.record_to(io, Some(&file));
            }
            Action::RecordStop => self.record_to(io, None),
            Action::Set { var, value } => {
                let value = self.script.expand(&value);
                self.script.vars.insert(var, value);
            }
            Action::Goto { context, exten } | Action::Transfer { context, exten } => {
                let exten = self.script.expand(&exten);
                self.reroute(io, &context, &exten);
            }
            Action::Hangup { cause } => {
                if self.a_answered {
                    self.hangup(io, None, &cause_name(cause), HangupSide::System);
                } else {
                    let (status, reason) = status_for_cause(cause);
                    self.fail_a_with(io, status, reason, &cause_name(cause), HangupSide::System);
                }
                self.maybe_finish(io);
            }
            Action::Queue {
                name,
                max_wait_secs,
            } => {
                let name = self.script.expand(&name);
                self.join_queue(io, name, max_wait_secs);
            }
            Action::QueueAgent {
                op,
                agent,
                queue,
                reason,
            } => io.notices.push(super::QueueNotice::AgentOp {
                agent: self.script.expand(&agent),
                op,
                queue: queue.map(|q| self.script.expand(&q)),
                reason: reason.map(|r| self.script.expand(&r)),
            }),
            Action::Voicemail {
                mailbox,
                greeting,
                max_secs,
            } => {
                let mailbox = self.script.expand(&mailbox);
                let greeting = greeting.map(|g| self.script.expand(&g));
                self.voicemail(io, mailbox, greeting, max_secs);
            }
        }
    }

    /// Answers A with the switch's own SDP (the relay endpoint of A); `false` when it
    /// cannot (no media relay, no common codec) and the call was refused.
    pub(super) fn answer_a(&mut self, io: &mut CallIo<'_>) -> bool {
        if self.a_answered {
            return true;
        }
        let (Some(media), Some((ctl, _))) = (&self.media, io.media) else {
            self.fail_a_with(
                io,
                501,
                "Not Implemented (answering needs [media] mode = \"relay\")",
                "not_implemented",
                HangupSide::System,
            );
            self.maybe_finish(io);
            return false;
        };
        let (ip, port, id) = (
            media.ip(),
            media.endpoint(Side::A).rtp.port(),
            media.id().clone(),
        );
        let body = if self.a_invite.body.is_empty() {
            // Late offer: offer ourselves; A answers in its ACK.
            local_sdp::offer(None, ip, port, self.sdp_version)
        } else {
            let negotiated = SessionDescription::parse(&self.a_invite.body)
                .ok()
                .and_then(|offer| {
                    let n = local_sdp::choose(&offer)?;
                    let remote = local_sdp::remote_of(&offer, &n).ok()?;
                    Some((n, remote))
                });
            let Some((n, remote)) = negotiated else {
                self.fail_a(io, 488, "incompatible_codecs", HangupSide::System);
                self.maybe_finish(io);
                return false;
            };
            if let Err(e) = ctl.update(&id, Leg::A, remote) {
                tracing::warn!(%e, "relay refused A's media");
            }
            self.a_codec = Some(n);
            local_sdp::answer(&n, ip, port, self.sdp_version)
        };
        let mut ok = Response::for_request(&self.a_invite, 200, "OK");
        let a_tag = self.a_tag();
        if let Ok(mut to) = ok.to() {
            to.set_tag(&a_tag);
            ok.headers.set(HeaderName::TO, to.to_string());
        }
        if let Some(d) = &self.dialogs[0] {
            ok.headers
                .push(HeaderName::CONTACT, io.locals.for_peer(d.peer).contact());
        }
        ok.headers.push(HeaderName::ALLOW, super::ALLOW);
        ok.headers.push(HeaderName::CONTENT_TYPE, "application/sdp");
        ok.body = body;
        let cid = self.a_invite_call_id();
        if let Some(tsx) = self.a_tsx {
            // Not held for the in-flight row like a relayed answer: the program goes on at
            // once (a prompt, a BYE), and must not reach the caller before the answer.
            io.layer
                .respond_2xx_reliably(io.now.at, tsx, ok, &cid, &a_tag);
        }
        self.state = CallState::Answered;
        self.a_answered = true;
        self.cdr.answered_by_switch(io.now.unix_ms);
        true
    }

    /// A answered our late-offer 200 in its ACK.
    pub(super) fn on_a_answer_in_ack(&mut self, io: &mut CallIo<'_>, body: &Bytes) {
        let (Some(media), Some((ctl, _))) = (&self.media, io.media) else {
            return;
        };
        let Ok(answer) = SessionDescription::parse(body) else {
            tracing::warn!("unparseable SDP answer in ACK");
            return;
        };
        if let Some(n) = local_sdp::choose(&answer) {
            if let Ok(remote) = local_sdp::remote_of(&answer, &n) {
                let _ = ctl.update(media.id(), Leg::A, remote);
            }
            self.a_codec = Some(n);
        }
    }

    /// Our offer to a B leg of an answered call: A's codec, at B's relay endpoint.
    pub(super) fn own_offer(&mut self) -> Bytes {
        let Some(media) = &self.media else {
            return Bytes::new();
        };
        self.sdp_version += 1;
        local_sdp::offer(
            self.a_codec.as_ref(),
            media.ip(),
            media.endpoint(Side::B).rtp.port(),
            self.sdp_version,
        )
    }

    /// B answered our offer: tell the relay where B receives, stop A's ringback.
    pub(super) fn bridge_media(&mut self, io: &mut CallIo<'_>, answer: &Bytes) {
        let (Some(media), Some((ctl, _))) = (&self.media, io.media) else {
            return;
        };
        ctl.stop_play(media.id(), Leg::A);
        self.learn_b_media(io, answer);
    }

    /// Points the relay's B leg at the media B's SDP (answer or early) names.
    pub(super) fn learn_b_media(&self, io: &mut CallIo<'_>, answer: &Bytes) {
        let (Some(media), Some((ctl, _))) = (&self.media, io.media) else {
            return;
        };
        match SessionDescription::parse(answer)
            .map_err(|e| e.to_string())
            .and_then(|sdp| crate::media::RemoteMedia::from_sdp(&sdp, 0).map_err(|e| e.to_string()))
        {
            Ok(remote) => {
                if let Err(e) = ctl.update(media.id(), Leg::B, remote) {
                    tracing::warn!(%e, "relay refused B's media");
                }
            }
            Err(e) => tracing::warn!(%e, "B answered without usable SDP"),
        }
    }

    /// Plays `prompt` to A; `None` (logged) when the relay cannot.
    pub(super) fn play(&mut self, io: &mut CallIo<'_>, prompt: &str, looping: bool) -> Option<u64> {
        let (Some(media), Some((ctl, _))) = (&self.media, io.media) else {
            return None;
        };
        self.next_play += 1;
        let id = self.next_play;
        match ctl.play(media.id(), Leg::A, prompt, looping, id) {
            Ok(()) => {
                self.last_play = Some(id);
                Some(id)
            }
            Err(e) => {
                tracing::warn!(%e, prompt, "prompt not played");
                None
            }
        }
    }

    pub(super) fn record_to(&mut self, io: &mut CallIo<'_>, file: Option<&str>) {
        if let (Some(media), Some((ctl, _))) = (&self.media, io.media) {
            match ctl.record(media.id(), file) {
                Err(e) => tracing::warn!(%e, ?file, "recording not started/stopped"),
                // For the recordings index: the relay's RecordDone for this media session
                // (which may come after the call is gone) completes the entry.
                Ok(()) => {
                    if let Some(file) = file {
                        io.events.push(super::CallEvent {
                            kind: "recording.started",
                            data: serde_json::json!({
                                "media": media.id().0,
                                "call": self.cdr.id(),
                                "call_id": self.a_invite.call_id().unwrap_or(""),
                                "file": file,
                                "started_at_ms": io.now.unix_ms,
                            }),
                        });
                    }
                }
            }
        }
    }

    /// Starts collecting digits, with an optional prompt the first digit interrupts.
    fn collect(
        &mut self,
        io: &mut CallIo<'_>,
        purpose: InputFor,
        prompt: Option<&str>,
        max_digits: u32,
        timeout_secs: u32,
    ) {
        let prompt = prompt.map(|p| self.script.expand(p));
        let playing = prompt.and_then(|p| self.play(io, &p, false));
        let timeout = Duration::from_secs(u64::from(timeout_secs.max(1)));
        // The digit timer starts when the prompt ends.
        self.script.deadline = playing.is_none().then(|| io.now.at + timeout);
        self.script.wait = Wait::Input(Input {
            purpose,
            max_digits: max_digits.max(1) as usize,
            timeout,
            playing,
            digits: String::new(),
        });
    }

    /// A digit from a phone (RFC 4733 event, or SIP INFO).
    pub fn on_dtmf(&mut self, io: &mut CallIo<'_>, from: Leg, digit: char) {
        if from != Leg::A {
            return;
        }
        if digit == '*' && self.script.wait == Wait::Queue {
            io.notices.push(super::QueueNotice::CallbackRequested {
                key: self.key,
                number: self.script.caller.clone(),
                reach: self.script.reach_back.clone(),
            });
            return;
        }
        if digit == '#' && matches!(self.script.wait, Wait::Voicemail(_)) {
            self.end_message(io);
            self.run_script(io);
            return;
        }
        let Wait::Input(input) = &mut self.script.wait else {
            return;
        };
        input.digits.push(digit);
        let stop = input.playing.take();
        let (complete, timeout) = (input.complete(), input.timeout);
        if let (Some(_), Some(media), Some((ctl, _))) = (stop, &self.media, io.media) {
            ctl.stop_play(media.id(), Leg::A);
        }
        if complete {
            self.input_done(io);
        } else {
            self.script.deadline = Some(io.now.at + timeout);
        }
        self.maybe_finish(io);
    }

    /// A prompt ended.
    pub fn on_play_done(&mut self, io: &mut CallIo<'_>, at: Leg, id: u64) {
        if at != Leg::A {
            return;
        }
        match &mut self.script.wait {
            Wait::Play(p) if *p == id => {
                self.script.wait = Wait::Nothing;
                self.run_script(io);
            }
            Wait::Input(input) if input.playing == Some(id) => {
                input.playing = None;
                self.script.deadline = Some(io.now.at + input.timeout);
            }
            Wait::Queue => self.on_queue_play_done(io, id),
            Wait::Voicemail(_) => self.on_voicemail_play_done(io, id),
            _ => {}
        }
        self.maybe_finish(io);
    }

    pub(super) fn on_input_timeout(&mut self, io: &mut CallIo<'_>) {
        self.input_done(io);
    }

    /// The input ended (complete, or timed out with what was typed).
    fn input_done(&mut self, io: &mut CallIo<'_>) {
        let Wait::Input(input) = std::mem::replace(&mut self.script.wait, Wait::Nothing) else {
            return;
        };
        self.script.deadline = None;
        let value = input.value();
        match input.purpose {
            InputFor::Collect { var, .. } => {
                self.script.vars.insert(var, value);
                self.run_script(io);
            }
            InputFor::Menu(menu) => self.menu_choice(io, menu, &value),
        }
    }

    /// Routes a menu choice in the menu's context; nothing or an unknown option retries.
    fn menu_choice(&mut self, io: &mut CallIo<'_>, menu: IvrMenu, digits: &str) {
        if !digits.is_empty() {
            if let Some(routing) = self.ask_router(io, &menu.context, digits) {
                self.follow(io, &menu.context, digits, routing);
                return;
            }
        }
        if menu.attempts > 1 {
            let mut again = vec![];
            if let Some(p) = &menu.invalid_prompt {
                again.push(Action::Playback { prompt: p.clone() });
            }
            again.push(Action::Ivr(IvrMenu {
                attempts: menu.attempts - 1,
                ..menu
            }));
            self.script.push_front(again);
            self.run_script(io);
            return;
        }
        if let Some(p) = &menu.invalid_prompt {
            // Tell the caller before giving up on the menu.
            self.script.push_front(vec![
                Action::Playback { prompt: p.clone() },
                Action::Transfer {
                    context: menu.context.clone(),
                    exten: menu.on_failure.clone(),
                },
            ]);
            self.run_script(io);
            return;
        }
        self.reroute(io, &menu.context, &menu.on_failure);
    }

    /// Routing for `exten` in `context`; `None` when the plan has no such extension.
    fn ask_router(&self, io: &CallIo<'_>, context: &str, exten: &str) -> Option<Routing> {
        let routing = io.router.route(&RouteQuery {
            context,
            caller: &self.script.caller,
            callee: exten,
            vars: &self.script.vars,
            now_unix_ms: io.now.unix_ms,
            plan: self.script.plan.as_ref(),
        });
        match routing {
            Routing::Reject { status: 404, .. } => None,
            r => Some(r),
        }
    }

    /// Continues the call at `exten` in `context` (transfer, menu failure).
    pub(super) fn reroute(&mut self, io: &mut CallIo<'_>, context: &str, exten: &str) {
        let routing = self
            .ask_router(io, context, exten)
            .unwrap_or(Routing::Reject {
                status: 404,
                reason: "Not Found".into(),
            });
        self.follow(io, context, exten, routing);
    }

    fn follow(&mut self, io: &mut CallIo<'_>, context: &str, exten: &str, routing: Routing) {
        match routing {
            Routing::Actions { actions, vars } => {
                self.script.replace(context, exten, actions, vars);
                self.run_script(io);
            }
            Routing::Reject { status, reason } => {
                if self.a_answered {
                    self.hangup(io, None, super::cause_for(status), HangupSide::System);
                } else {
                    self.fail_a_with(
                        io,
                        status,
                        &reason,
                        super::cause_for(status),
                        HangupSide::System,
                    );
                }
                self.maybe_finish(io);
            }
        }
    }

    /// Rings the targets of a `dial` (all at once, or one after the other).
    fn dial(
        &mut self,
        io: &mut CallIo<'_>,
        targets: Vec<DialTarget>,
        strategy: RingStrategy,
        timeout_secs: u32,
    ) {
        let mut resolved: VecDeque<_> = targets
            .iter()
            .map(|t| match t {
                DialTarget::Endpoint(e) => DialTarget::Endpoint(self.script.expand(e)),
                DialTarget::Trunk { trunk, number } => DialTarget::Trunk {
                    trunk: self.script.expand(trunk),
                    number: self.script.expand(number),
                },
            })
            .flat_map(|t| io.resolver.resolve(&t, io.now.at))
            .collect();
        if resolved.is_empty() {
            // nobody to ring (not registered): as if nobody answered
            self.script.last_failure = Some((480, HangupSide::System));
            return;
        }
        let timeout = match timeout_secs {
            0 => RING_LIMIT,
            s => Duration::from_secs(u64::from(s)),
        };
        let now_ringing: Vec<_> = match strategy {
            RingStrategy::Parallel => resolved.drain(..).collect(),
            RingStrategy::Sequence => resolved.pop_front().into_iter().collect(),
        };
        self.round = Some(Round {
            first: self.forks.len(),
            late: self.a_answered,
            sequence: resolved,
            timeout,
        });
        self.script.wait = Wait::Dial;
        self.script.deadline = Some(io.now.at + timeout);
        if self.a_answered {
            self.play(io, RINGBACK, true);
        }
        for target in now_ringing {
            self.launch_fork(io, target);
        }
    }

    /// Nobody answered the dial: the next action runs.
    pub(super) fn dial_failed(&mut self, io: &mut CallIo<'_>, status: u16, side: HangupSide) {
        self.script.last_failure = Some((status, side));
        self.script.wait = Wait::Nothing;
        self.script.deadline = None;
        if let (Some(media), Some((ctl, _))) = (&self.media, io.media) {
            if self.a_answered {
                ctl.stop_play(media.id(), Leg::A);
            }
        }
        self.run_script(io);
    }

    /// An in-dialog request from A while the switch itself is A's far end.
    pub(super) fn local_request(&mut self, io: &mut CallIo<'_>, tsx: ServerTsxId, req: Request) {
        let mut resp = Response::for_request(&req, 200, "OK");
        match req.method {
            Method::Invite | Method::Update if !req.body.is_empty() => {
                match self.accept_reoffer(io, &req.body) {
                    Some(body) => {
                        resp.headers
                            .push(HeaderName::CONTENT_TYPE, "application/sdp");
                        resp.body = body;
                    }
                    None => resp = Response::for_request(&req, 488, "Not Acceptable Here"),
                }
            }
            Method::Invite | Method::Update => {}
            Method::Info => {
                if let Some(digit) = info_digit(&req.body) {
                    self.on_dtmf(io, Leg::A, digit);
                }
            }
            _ => resp = Response::for_request(&req, 501, "Not Implemented"),
        }
        let ok = (200..300).contains(&resp.status);
        if req.method == Method::Invite && ok {
            if let Some(d) = &self.dialogs[0] {
                resp.headers
                    .push(HeaderName::CONTACT, io.locals.for_peer(d.peer).contact());
                let (cid, tag) = (d.call_id.clone(), d.local_tag().to_string());
                io.layer
                    .respond_2xx_reliably(io.now.at, tsx, resp, &cid, &tag);
                return;
            }
        }
        io.layer.respond(io.now.at, tsx, resp);
    }

    /// A new offer from A (hold, address change): the relay follows, our answer is the same.
    fn accept_reoffer(&mut self, io: &mut CallIo<'_>, body: &Bytes) -> Option<Bytes> {
        let (media, (ctl, _)) = (self.media.as_ref()?, io.media?);
        let offer = SessionDescription::parse(body).ok()?;
        let n: Negotiated = local_sdp::choose(&offer)?;
        let remote = local_sdp::remote_of(&offer, &n).ok()?;
        ctl.update(media.id(), leg(Side::A), remote).ok()?;
        self.a_codec = Some(n);
        self.sdp_version += 1;
        Some(local_sdp::answer(
            &n,
            media.ip(),
            media.endpoint(Side::A).rtp.port(),
            self.sdp_version,
        ))
    }
}

/// The digit of an `application/dtmf-relay` INFO body (`Signal=5`).
fn info_digit(body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    let value = text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        k.trim().eq_ignore_ascii_case("signal").then(|| v.trim())
    })?;
    let c = value.chars().next()?;
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
}
