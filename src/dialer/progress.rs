//! Call-progress listeners on a leg's decoded audio (the relay's [`AudioTap`] seam):
//! special information tones in early media ([`SitDetector`]). Each reports what it found
//! once, through the callback the relay glue gives it, and then stays quiet.

use std::time::Duration;

use super::sit::SitDetector;
use crate::media::audio::{AudioTap, Frame};
use crate::media::{Detection, Leg};

/// What to listen for.
#[derive(Debug, Clone, PartialEq)]
pub enum Listen {
    /// A special information tone (early media of an outbound call).
    Sit,
}

/// Where a listener reports.
pub type Report = Box<dyn FnMut(Leg, Detection) + Send>;

/// One listener on one leg.
pub struct ProgressTap {
    sit: Option<SitDetector>,
    report: Report,
}

impl ProgressTap {
    pub fn new(what: Listen, report: Report) -> Self {
        let sit = match what {
            Listen::Sit => Some(SitDetector::new()),
        };
        ProgressTap { sit, report }
    }
}

impl AudioTap for ProgressTap {
    fn on_frame(&mut self, leg: Leg, _at: Duration, frame: &Frame) {
        if let Some(sit) = &mut self.sit {
            if sit.push(frame) {
                self.sit = None;
                (self.report)(leg, Detection::Sit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_sit_is_reported_once_with_its_leg() {
        let found = Arc::new(Mutex::new(Vec::new()));
        let sink = found.clone();
        let mut tap = ProgressTap::new(
            Listen::Sit,
            Box::new(move |leg, what| sink.lock().unwrap().push((leg, what))),
        );
        let mut phase = 0.0f64;
        for (freq, frames) in [(913.8, 14), (1370.6, 14), (1776.7, 19), (913.8, 50)] {
            for _ in 0..frames {
                let mut frame = [0i16; 160];
                for s in frame.iter_mut() {
                    *s = (8_000.0 * phase.sin()) as i16;
                    phase += 2.0 * std::f64::consts::PI * freq / 8_000.0;
                }
                tap.on_frame(Leg::A, Duration::ZERO, &frame);
            }
        }
        assert_eq!(*found.lock().unwrap(), [(Leg::A, Detection::Sit)]);
    }
}
