//! Calls the switch places itself (click-to-call, dialer, queue callbacks): the A leg is
//! an INVITE *we* send, with our own offer, to the party that should be connected first
//! (an agent's phone, or a customer over a trunk). When A answers, the call is in the same
//! state as an inbound call the switch answered, and its program runs (dial the other
//! party, queue, play…). The A leg is kept as fork 0 marked `is_a`, so credentials for
//! challenging carriers, CANCEL and late answers work as for any fork.

use std::time::Duration;

use bytes::Bytes;

use super::call::{build_b_invite, Call, CallState, Fork};
use super::cdr::CdrBuilder;
use super::local_sdp;
use super::media::CallMedia;
use super::script::{Script, Wait};
use super::{cause_for, CallEvent, CallIo, CallKey, Side, Target};
use crate::dialer::amd::{AmdConfig, AmdResult, AmdVerdict, BeepConfig};
use crate::dialer::progress::Listen;
use crate::dialplan::Action;
use crate::media::Detection;
use crate::media::{Leg, MediaCallId};
use crate::sip::dialog::{new_request, Dialog};
use crate::sip::message::{HasHeaders, HeaderName, Method, NameAddr, Response};
use crate::store::HangupSide;

/// What to originate.
#[derive(Debug, Clone)]
pub struct Originate {
    /// Who is called first (A).
    pub target: Target,
    /// How the call presents itself to A (From).
    pub caller: NameAddr,
    /// Ring time for A.
    pub ring_timeout: Duration,
    /// The originator's reference, echoed in `originate.*` events.
    pub tag: String,
    /// Whose early media is listened to for a special information tone.
    pub detect_sit: SitWatch,
    /// Tell a person from a machine when A answers, before the actions run.
    pub amd: Option<AmdPlan>,
}

/// Whose early media a call the switch places listens to for a special information tone
/// (number not in service): on hearing one the call gives that party up and reports it as 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SitWatch {
    Off,
    /// A, the party called first (a predictive call's customer).
    FirstParty,
    /// The party A's actions dial (a preview call's customer, after the agent answered).
    DialledParty,
}

/// Answering-machine detection for a call the switch places.
#[derive(Debug, Clone, PartialEq)]
pub struct AmdPlan {
    pub config: AmdConfig,
    /// Run instead of the rest of the actions when a machine answered (after its beep
    /// when `beep` is set, or after [`BEEP_WAIT`] without one).
    pub on_machine: Vec<Action>,
    pub beep: Option<BeepConfig>,
    /// From the end of a person's greeting to an agent (the 2-second rule): a queue the
    /// actions join waits only what detection left of it (`${QUEUE_MAX_WAIT_MS}`).
    pub bridge_window: Duration,
}

/// The longest wait for a machine's beep.
pub const BEEP_WAIT: Duration = Duration::from_secs(30);
/// Detection that has not decided by its own limit plus this is given up (not sure).
const AMD_GRACE: Duration = Duration::from_secs(1);

/// What a call the switch placed remembers about its originator's wishes.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub tag: String,
    pub detect_sit: SitWatch,
    /// The SIT listener is on the watched leg.
    pub listening: bool,
    /// A special information tone was heard: the call was given up for it.
    pub sit_heard: bool,
    pub amd: Option<AmdPlan>,
}

impl Call {
    pub(super) fn originate(
        io: &mut CallIo<'_>,
        key: CallKey,
        o: Originate,
        script: Script,
    ) -> Call {
        let me = io.locals.for_peer(o.target.peer);
        let template = new_request(Method::Invite, o.target.uri.clone());
        let mut invite = build_b_invite(&template, &o.target, &o.caller, me, 70, io.domain);
        let cdr = CdrBuilder::new(
            io.now.unix_ms,
            &invite,
            o.caller.uri.user.clone().unwrap_or_default(),
            script.callee.clone(),
            "outbound",
        );
        io.started.push(cdr.start_record());
        let media = io.media.and_then(|(ctl, ip)| {
            CallMedia::new(ctl, MediaCallId(cdr.id().to_string()), ip)
                .inspect_err(|e| tracing::warn!(%e, "no media ports: originate refused"))
                .ok()
        });
        let relayed = io.media.is_some();
        let mut call = Call::assemble(
            key,
            invite.clone(),
            None,
            None,
            cdr,
            media,
            o.caller.clone(),
            70,
            Bytes::new(),
            script,
        );
        call.origin = Some(Origin {
            tag: o.tag.clone(),
            detect_sit: o.detect_sit,
            listening: false,
            sit_heard: false,
            amd: o.amd.clone(),
        });
        if relayed && call.media.is_none() {
            call.originate_failed(io, 503, HangupSide::System);
            return call;
        }
        if let Some(m) = &call.media {
            invite.body = local_sdp::offer(
                None,
                m.ip(),
                m.endpoint(Side::A).rtp.port(),
                call.sdp_version,
            );
            invite
                .headers
                .set(HeaderName::CONTENT_TYPE, "application/sdp");
        }
        call.cdr.a_leg_is_next_fork(&o.target.label);
        let tsx = io
            .layer
            .send_request(io.now.at, invite.clone(), o.target.peer, key.0);
        call.forks.push(Fork::new(o.target, invite, tsx, true));
        call.script.wait = Wait::Originating;
        call.script.deadline = Some(io.now.at + o.ring_timeout);
        call
    }

    /// A response to our INVITE to A.
    pub(super) fn on_a_response(&mut self, io: &mut CallIo<'_>, i: usize, resp: Response) {
        let status = resp.status;
        if status < 200 {
            if status > 100 && !resp.body.is_empty() {
                self.on_a_early_media(io, &resp);
            }
            let fork = &mut self.forks[i];
            if status > 100 {
                fork.provisional = true;
                if fork.cancel_wanted && !fork.cancel_sent {
                    self.send_cancel(io, i);
                }
            }
            return;
        }
        if !(200..300).contains(&status) {
            if !self.retry_with_credentials(io, i, &resp) {
                self.on_a_failed(io, i, status);
            }
            return;
        }
        let fork = &mut self.forks[i];
        fork.final_status = Some(status);
        let Some(mut a) = Dialog::uac(&fork.invite, &resp, fork.target.peer) else {
            return;
        };
        let cseq = fork.invite.cseq().map(|c| c.seq).unwrap_or(1);
        let me = io.locals.for_peer(a.peer);
        io.layer.send_stateless(a.peer, a.ack(cseq, me).to_bytes());
        if self.state == CallState::Ending || fork.cancel_wanted {
            // Answered after we gave up on it (ring time, hang-up from the API).
            self.send_bye(io, &mut a);
            return;
        }
        io.index.push((
            a.call_id.clone(),
            a.local_tag().to_string(),
            Some((self.key, Side::A)),
        ));
        self.learn_a_media(io, &resp);
        self.dialogs[0] = Some(a);
        self.state = CallState::Answered;
        self.a_answered = true;
        self.cdr.answered(i, io.now.unix_ms, status);
        self.script.wait = Wait::Nothing;
        self.script.deadline = None;
        self.origin_event(io, "originate.answered", status);
        if !self.start_amd(io) {
            self.run_script(io);
        }
    }

    /// Starts answering-machine detection on A when the originator asked for it; false
    /// when there is none to do (or the relay cannot listen).
    fn start_amd(&mut self, io: &mut CallIo<'_>) -> bool {
        let Some(plan) = self.origin.as_ref().and_then(|o| o.amd.clone()) else {
            return false;
        };
        let (Some(m), Some((ctl, _))) = (&self.media, io.media) else {
            return false;
        };
        if let Err(e) = ctl.listen(m.id(), Leg::A, Listen::Machine(plan.config)) {
            tracing::warn!(%e, "answering-machine detection not started");
            return false;
        }
        let limit = Duration::from_millis(u64::from(plan.config.total_analysis_ms));
        self.script.wait = Wait::Amd;
        self.script.deadline = Some(io.now.at + limit + AMD_GRACE);
        true
    }

    /// Detection's verdict: a person (or not sure) goes on with the actions, within what
    /// is left of the bridge window; a machine gets the machine actions (after the beep).
    fn on_amd_verdict(&mut self, io: &mut CallIo<'_>, v: AmdVerdict) {
        let Some(plan) = self.origin.as_ref().and_then(|o| o.amd.clone()) else {
            return;
        };
        self.script.deadline = None;
        self.script.wait = Wait::Nothing;
        let vars = &mut self.script.vars;
        vars.insert("AMDSTATUS".into(), v.result.as_str().into());
        vars.insert("AMDCAUSE".into(), v.cause.as_str().into());
        if let Some(o) = &self.origin {
            io.events.push(CallEvent {
                kind: "originate.amd",
                data: serde_json::json!({
                    "tag": o.tag,
                    "call": self.cdr.id(),
                    "key": self.key.0,
                    "result": v.result,
                    "cause": v.cause,
                    "decided_after_ms": v.decided_after_ms,
                    "greeting_end_ms": v.greeting_end_ms,
                }),
            });
        }
        if v.result == AmdResult::Machine {
            let listening = match (&self.media, io.media, plan.beep) {
                (Some(m), Some((ctl, _)), Some(beep)) => {
                    ctl.listen(m.id(), Leg::A, Listen::Beep(beep)).is_ok()
                }
                _ => false,
            };
            if listening {
                self.script.wait = Wait::Beep;
                self.script.deadline = Some(io.now.at + BEEP_WAIT);
                return;
            }
            return self.run_machine_actions(io, plan.on_machine);
        }
        // The 2-second rule counts from the greeting's end, which detection heard some
        // time ago (its after-greeting silence).
        let used = v
            .greeting_end_ms
            .map_or(0, |end| v.decided_after_ms.saturating_sub(end));
        let left = plan
            .bridge_window
            .saturating_sub(Duration::from_millis(u64::from(used)));
        self.script
            .vars
            .insert("QUEUE_MAX_WAIT_MS".into(), left.as_millis().to_string());
        self.run_script(io);
    }

    fn run_machine_actions(&mut self, io: &mut CallIo<'_>, actions: Vec<Action>) {
        let (context, callee) = (self.script.context.clone(), self.script.callee.clone());
        self.script
            .replace(&context, &callee, actions, Default::default());
        self.run_script(io);
    }

    /// Detection or the beep wait ran out.
    pub(super) fn on_detection_timeout(&mut self, io: &mut CallIo<'_>) {
        match self.script.wait {
            Wait::Amd => {
                // Not sure: treated as a person, as Asterisk's NOTSURE usually is.
                self.script.wait = Wait::Nothing;
                self.script
                    .vars
                    .insert("AMDSTATUS".into(), "NOTSURE".into());
                self.run_script(io);
            }
            Wait::Beep => {
                let actions = self
                    .origin
                    .as_ref()
                    .and_then(|o| o.amd.as_ref())
                    .map(|p| p.on_machine.clone())
                    .unwrap_or_default();
                self.run_machine_actions(io, actions);
            }
            _ => {}
        }
    }

    /// A's SDP (early media or answer) tells the relay where A's RTP comes from and in
    /// which codec.
    fn learn_a_media(&mut self, io: &mut CallIo<'_>, resp: &Response) {
        let (Some(m), Some((ctl, _))) = (&self.media, io.media) else {
            return;
        };
        let Ok(sdp) = crate::sip::sdp::SessionDescription::parse(&resp.body) else {
            return;
        };
        if let Some(n) = local_sdp::choose(&sdp) {
            if let Ok(remote) = local_sdp::remote_of(&sdp, &n) {
                let _ = ctl.update(m.id(), Leg::A, remote);
            }
            self.a_codec = Some(n);
        }
    }

    /// A 18x with SDP: early media from A (ringback, announcements); listened to for a
    /// special information tone when the originator asked.
    fn on_a_early_media(&mut self, io: &mut CallIo<'_>, resp: &Response) {
        self.learn_a_media(io, resp);
        let (Some(m), Some((ctl, _))) = (&self.media, io.media) else {
            return;
        };
        if let Some(o) = self
            .origin
            .as_mut()
            .filter(|o| o.detect_sit == SitWatch::FirstParty && !o.listening)
        {
            match ctl.listen(m.id(), Leg::A, crate::dialer::progress::Listen::Sit) {
                Ok(()) => o.listening = true,
                Err(e) => tracing::debug!(%e, "early media not listened to"),
            }
        }
    }

    /// Early media from a party A's actions dial: listened to for a special information
    /// tone when the originator asked ([`SitWatch::DialledParty`]).
    pub(super) fn on_b_early_media(&mut self, io: &mut CallIo<'_>, sdp: &Bytes) {
        let watched = self
            .origin
            .as_ref()
            .is_some_and(|o| o.detect_sit == SitWatch::DialledParty && !o.listening);
        if !watched {
            return;
        }
        self.learn_b_media(io, sdp);
        let (Some(m), Some((ctl, _))) = (&self.media, io.media) else {
            return;
        };
        if let Some(o) = self.origin.as_mut() {
            match ctl.listen(m.id(), Leg::B, crate::dialer::progress::Listen::Sit) {
                Ok(()) => o.listening = true,
                Err(e) => tracing::debug!(%e, "early media not listened to"),
            }
        }
    }

    /// A call-progress listener found something on a leg.
    pub(super) fn on_detected(&mut self, io: &mut CallIo<'_>, leg: Leg, what: Detection) {
        match what {
            Detection::Amd(v) if self.script.wait == Wait::Amd => self.on_amd_verdict(io, v),
            Detection::Beep { .. } if self.script.wait == Wait::Beep => {
                self.script.deadline = None;
                let actions = self
                    .origin
                    .as_ref()
                    .and_then(|o| o.amd.as_ref())
                    .map(|p| p.on_machine.clone())
                    .unwrap_or_default();
                self.run_machine_actions(io, actions);
            }
            Detection::Amd(_) | Detection::Beep { .. } => {}
            Detection::Sit if leg == Leg::B => {
                if self.script.wait != Wait::Dial {
                    return;
                }
                // Recorded as 404 (the 487 to our CANCEL does not overwrite a leg's status).
                self.give_up_round(io, 404);
            }
            Detection::Sit => {
                if self.script.wait != Wait::Originating {
                    return;
                }
                if let Some(o) = self.origin.as_mut() {
                    o.sit_heard = true;
                }
                // The 487 to our CANCEL ends it, reported as the SIT's 404.
                self.on_originate_timeout(io);
            }
        }
    }

    /// A refused, or never answered.
    pub(super) fn on_a_failed(&mut self, io: &mut CallIo<'_>, i: usize, status: u16) {
        self.forks[i].final_status = Some(status);
        self.cdr.leg_ended(i, io.now.unix_ms, Some(status));
        let side = if self.forks[i].cancel_wanted {
            HangupSide::System
        } else {
            HangupSide::Callee
        };
        if self.state != CallState::Ending {
            let status = if self.origin.as_ref().is_some_and(|o| o.sit_heard) {
                404
            } else if side == HangupSide::System {
                480
            } else {
                status
            };
            self.originate_failed(io, status, side);
        }
        self.maybe_finish(io);
    }

    fn originate_failed(&mut self, io: &mut CallIo<'_>, status: u16, side: HangupSide) {
        self.state = CallState::Ending;
        self.script.stop();
        let record = self.finish_record(io, status, side, cause_for(status));
        io.ended.push(record);
        self.origin_event(io, "originate.failed", status);
        self.maybe_finish(io);
    }

    /// A's ring time ran out: CANCEL it (the 487 ends the call as not answered).
    pub(super) fn on_originate_timeout(&mut self, io: &mut CallIo<'_>) {
        if let Some(i) = self.forks.iter().position(|f| f.is_a) {
            self.cancel_fork(io, i);
        }
    }

    /// Reports `kind` (`originate.answered|failed|bridged`) of a call the switch placed.
    pub(super) fn origin_event(&self, io: &mut CallIo<'_>, kind: &'static str, status: u16) {
        if let Some(o) = &self.origin {
            io.events.push(CallEvent {
                kind,
                data: serde_json::json!({
                    "sit": o.sit_heard,
                    "tag": o.tag,
                    "call": self.cdr.id(),
                    "key": self.key.0,
                    "status": status,
                }),
            });
        }
    }
}
