//! `voicemail`: the caller hears the mailbox greeting and a beep, then speaks; the
//! message is recorded (the caller's side) to `voicemail/<mailbox>/<call>.wav` under the
//! recordings directory until `#`, the time limit or hang-up, and a `voicemail.message`
//! event names the file.

use std::time::Duration;

use super::call::Call;
use super::script::Wait;
use super::{CallEvent, CallIo};

/// Played when the mailbox has no greeting of its own.
const DEFAULT_GREETING: &str = "voicemail-greeting";
const BEEP: &str = "tone:beep";

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Phase {
    Greeting(u64),
    Beep(u64),
    Recording,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Voicemail {
    pub phase: Phase,
    mailbox: String,
    file: String,
    max: Duration,
    started_ms: i64,
}

impl Call {
    pub(super) fn voicemail(
        &mut self,
        io: &mut CallIo<'_>,
        mailbox: String,
        greeting: Option<String>,
        max_secs: u32,
    ) {
        if !self.answer_a(io) {
            return;
        }
        let greeting = greeting.unwrap_or_else(|| DEFAULT_GREETING.to_string());
        let file = format!("voicemail/{mailbox}/{}.wav", self.cdr.id());
        let mut vm = Voicemail {
            phase: Phase::Recording,
            mailbox,
            file,
            max: Duration::from_secs(u64::from(max_secs.max(1))),
            started_ms: io.now.unix_ms,
        };
        // A greeting that cannot play is skipped, not fatal: the message still records.
        if let Some(id) = self.play(io, &greeting, false) {
            vm.phase = Phase::Greeting(id);
        } else if let Some(id) = self.play(io, BEEP, false) {
            vm.phase = Phase::Beep(id);
        }
        let recording = vm.phase == Phase::Recording;
        self.script.wait = Wait::Voicemail(vm);
        if recording {
            self.start_message(io);
        }
    }

    /// A prompt of the voicemail ended: greeting → beep → record.
    pub(super) fn on_voicemail_play_done(&mut self, io: &mut CallIo<'_>, id: u64) {
        let Wait::Voicemail(vm) = &self.script.wait else {
            return;
        };
        match vm.phase {
            Phase::Greeting(g) if g == id => match self.play(io, BEEP, false) {
                Some(beep) => self.set_phase(Phase::Beep(beep)),
                None => self.start_message(io),
            },
            Phase::Beep(b) if b == id => self.start_message(io),
            _ => {}
        }
    }

    fn set_phase(&mut self, phase: Phase) {
        if let Wait::Voicemail(vm) = &mut self.script.wait {
            vm.phase = phase;
        }
    }

    fn start_message(&mut self, io: &mut CallIo<'_>) {
        let Wait::Voicemail(vm) = &mut self.script.wait else {
            return;
        };
        vm.phase = Phase::Recording;
        vm.started_ms = io.now.unix_ms;
        let (file, max) = (vm.file.clone(), vm.max);
        self.script.deadline = Some(io.now.at + max);
        self.record_to(io, Some(&file));
    }

    /// `#`, the time limit or the caller's hang-up ends the message.
    pub(super) fn end_message(&mut self, io: &mut CallIo<'_>) {
        let Wait::Voicemail(vm) = &self.script.wait else {
            return;
        };
        let vm = vm.clone();
        if vm.phase == Phase::Recording {
            self.record_to(io, None);
            io.events.push(CallEvent {
                kind: "voicemail.message",
                data: serde_json::json!({
                    "mailbox": vm.mailbox,
                    "file": vm.file,
                    "caller": self.script.caller,
                    "duration_ms": io.now.unix_ms - vm.started_ms,
                    "call": self.cdr.id(),
                }),
            });
        }
        self.script.deadline = None;
        self.script.wait = Wait::Nothing;
    }
}
