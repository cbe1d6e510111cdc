//! RFC 4733 telephone-event reception: turns the packet stream of one event (several
//! start/update packets, then the end packet sent three times, §2.5.1.4) into exactly one
//! [`Dtmf`]. Pure: fed by the relay with the RTP timestamp and the decoded payload.

use super::rtp::TelephoneEvent;

/// One completed named event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dtmf {
    /// RFC 4733 §3.2 event code (0–9, 10 `*`, 11 `#`, 12–15 `A`–`D`, 16 flash).
    pub event: u8,
    pub digit: Option<char>,
    /// In timestamp units, as the sender reported it.
    pub duration: u16,
    pub duration_ms: u32,
    pub volume: u8,
    /// RTP timestamp of the event (identifies it).
    pub timestamp: u32,
}

/// Collapses the packets of one event into one [`Dtmf`].
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    clock_rate: u32,
    current: Option<(u32, TelephoneEvent)>,
    ended: Option<u32>,
}

impl DtmfDetector {
    pub fn new(clock_rate: u32) -> Self {
        DtmfDetector {
            clock_rate: clock_rate.max(1),
            current: None,
            ended: None,
        }
    }

    pub fn set_clock_rate(&mut self, clock_rate: u32) {
        self.clock_rate = clock_rate.max(1);
    }

    /// Feed one telephone-event packet; `emit` is called for each event completed by it
    /// (at most two: an earlier event whose end packets were all lost, then this one).
    pub fn on_packet(&mut self, timestamp: u32, ev: TelephoneEvent, mut emit: impl FnMut(Dtmf)) {
        if self.ended == Some(timestamp) {
            return; // repeated end packet, or a late retransmission of an event already reported
        }
        if let Some((ts, prev)) = self.current {
            if ts != timestamp {
                // a new event began before the previous one ended: report what we saw
                emit(self.complete(ts, prev));
            }
        }
        if ev.end {
            emit(self.complete(timestamp, ev));
        } else {
            self.current = Some((timestamp, ev));
        }
    }

    fn complete(&mut self, timestamp: u32, ev: TelephoneEvent) -> Dtmf {
        self.current = None;
        self.ended = Some(timestamp);
        Dtmf {
            event: ev.event,
            digit: ev.digit(),
            duration: ev.duration,
            duration_ms: (u64::from(ev.duration) * 1000 / u64::from(self.clock_rate)) as u32,
            volume: ev.volume,
            timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: u8, end: bool, duration: u16) -> TelephoneEvent {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
    }

    fn feed(d: &mut DtmfDetector, packets: &[(u32, TelephoneEvent)]) -> Vec<Dtmf> {
        let mut out = Vec::new();
        for &(ts, e) in packets {
            d.on_packet(ts, e, |x| out.push(x));
        }
        out
    }

    #[test]
    fn three_starts_three_ends_make_one_digit() {
        let mut d = DtmfDetector::new(8000);
        let got = feed(
            &mut d,
            &[
                (1000, ev(5, false, 160)),
                (1000, ev(5, false, 320)),
                (1000, ev(5, false, 480)),
                (1000, ev(5, true, 800)),
                (1000, ev(5, true, 800)),
                (1000, ev(5, true, 800)),
            ],
        );
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].digit, got[0].duration, got[0].duration_ms),
            (Some('5'), 800, 100)
        );
    }

    #[test]
    fn same_digit_twice_is_two_events() {
        let mut d = DtmfDetector::new(8000);
        let got = feed(
            &mut d,
            &[
                (1000, ev(1, true, 400)),
                (1000, ev(1, true, 400)),
                (5000, ev(1, true, 400)),
            ],
        );
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn lost_end_packets_are_reported_when_the_next_event_starts() {
        let mut d = DtmfDetector::new(8000);
        let got = feed(
            &mut d,
            &[
                (1000, ev(2, false, 320)),
                (4000, ev(3, false, 160)),
                (4000, ev(3, true, 640)),
            ],
        );
        let digits: Vec<_> = got.iter().map(|x| (x.digit, x.duration)).collect();
        assert_eq!(digits, [(Some('2'), 320), (Some('3'), 640)]);
    }

    #[test]
    fn wideband_clock_rate_scales_duration() {
        let mut d = DtmfDetector::new(48000);
        let got = feed(&mut d, &[(7, ev(10, true, 4800))]);
        assert_eq!((got[0].digit, got[0].duration_ms), (Some('*'), 100));
    }
}
