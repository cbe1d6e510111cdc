//! Call-progress listeners on a leg's decoded audio (the relay's [`AudioTap`] seam):
//! special information tones in early media ([`SitDetector`]), answering-machine
//! detection on the greeting ([`AmdDetector`]), the voicemail beep to leave a message
//! after ([`BeepDetector`]). Each reports what it found once, through the callback the
//! relay glue gives it, and then stays quiet.

use std::time::Duration;

use super::amd::{AmdConfig, AmdDetector, BeepConfig, BeepDetector};
use super::sit::SitDetector;
use crate::media::audio::{AudioTap, Frame};
use crate::media::{Detection, Leg};

/// What to listen for.
#[derive(Debug, Clone, PartialEq)]
pub enum Listen {
    /// A special information tone (early media of an outbound call).
    Sit,
    /// Person or machine (the first seconds after the answer).
    Machine(AmdConfig),
    /// The beep after a machine's greeting.
    Beep(BeepConfig),
}

/// Where a listener reports.
pub type Report = Box<dyn FnMut(Leg, Detection) + Send>;

enum Detector {
    Sit(SitDetector),
    Machine(Box<AmdDetector>),
    Beep(Box<BeepDetector>),
}

/// One listener on one leg.
pub struct ProgressTap {
    detector: Option<Detector>,
    report: Report,
}

impl ProgressTap {
    pub fn new(what: Listen, report: Report) -> Self {
        let detector = match what {
            Listen::Sit => Detector::Sit(SitDetector::new()),
            Listen::Machine(cfg) => Detector::Machine(Box::new(AmdDetector::new(cfg))),
            Listen::Beep(cfg) => Detector::Beep(Box::new(BeepDetector::new(cfg))),
        };
        ProgressTap {
            detector: Some(detector),
            report,
        }
    }
}

impl AudioTap for ProgressTap {
    fn on_frame(&mut self, leg: Leg, _at: Duration, frame: &Frame) {
        let found = match self.detector.as_mut() {
            None => return,
            Some(Detector::Sit(d)) => d.push(frame).then_some(Detection::Sit),
            Some(Detector::Machine(d)) => d.push(frame).map(Detection::Amd),
            Some(Detector::Beep(d)) => d.push(frame).map(|at_ms| Detection::Beep { at_ms }),
        };
        if let Some(what) = found {
            self.detector = None;
            (self.report)(leg, what);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn tone_frames(tap: &mut ProgressTap, freq: f64, frames: usize, phase: &mut f64) {
        for _ in 0..frames {
            let mut frame = [0i16; 160];
            for s in frame.iter_mut() {
                *s = (8_000.0 * phase.sin()) as i16;
                *phase += 2.0 * std::f64::consts::PI * freq / 8_000.0;
            }
            tap.on_frame(Leg::A, Duration::ZERO, &frame);
        }
    }

    type Found = Arc<Mutex<Vec<(Leg, Detection)>>>;

    fn collecting(what: Listen) -> (ProgressTap, Found) {
        let found = Arc::new(Mutex::new(Vec::new()));
        let sink = found.clone();
        let tap = ProgressTap::new(
            what,
            Box::new(move |leg, what| sink.lock().unwrap().push((leg, what))),
        );
        (tap, found)
    }

    #[test]
    fn a_sit_is_reported_once_with_its_leg() {
        let (mut tap, found) = collecting(Listen::Sit);
        let mut phase = 0.0f64;
        for (freq, frames) in [(913.8, 14), (1370.6, 14), (1776.7, 19), (913.8, 50)] {
            tone_frames(&mut tap, freq, frames, &mut phase);
        }
        assert_eq!(*found.lock().unwrap(), [(Leg::A, Detection::Sit)]);
    }

    #[test]
    fn a_greeting_gets_one_verdict_and_a_beep_its_time() {
        use crate::dialer::amd::synth::{greeting, Kind, SynthConfig};
        use crate::dialer::amd::AmdResult;
        let g = greeting(Kind::MachineGreeting, 7, &SynthConfig::default());
        let (mut tap, found) = collecting(Listen::Machine(AmdConfig::default()));
        for chunk in g.samples.chunks_exact(160) {
            let frame: Frame = chunk.try_into().unwrap();
            tap.on_frame(Leg::A, Duration::ZERO, &frame);
        }
        let found = found.lock().unwrap();
        assert_eq!(found.len(), 1);
        assert!(
            matches!(found[0].1, Detection::Amd(v) if v.result == AmdResult::Machine),
            "{found:?}"
        );
        let (mut tap, beeps) = collecting(Listen::Beep(BeepConfig::default()));
        let mut phase = 0.0;
        tone_frames(&mut tap, 1_000.0, 25, &mut phase);
        for _ in 0..10 {
            // a beep is known when it ends (a tone that goes on is a dial tone or a fax)
            tap.on_frame(Leg::A, Duration::ZERO, &[0; 160]);
        }
        assert!(matches!(
            beeps.lock().unwrap().as_slice(),
            [(Leg::A, Detection::Beep { .. })]
        ));
    }
}
