//! Playing a [`FrameSource`] to a leg's phone: one frame every 20 ms on absolute deadlines
//! (`start + n × 20 ms`, so wake-up lateness never accumulates into drift), encoded in the
//! codec the leg receives and sent as RTP on the leg's own stream ([`RtpOut`]: our SSRC,
//! sequence and timestamp continuing, marker bit on the first packet, RFC 3551 §4.1).
//!
//! Sans-IO: the relay task asks [`Player::poll_timeout`] when to wake and hands every
//! finished packet to a callback that sends it. After a stall of the task, up to
//! [`MAX_CATCH_UP`] late frames go out at once; a longer stall is skipped over (the
//! timestamp still advances by the time lost, so the phone hears a gap, not a drift).

use std::time::Instant;

use super::audio::{Frame, FrameSource, FRAME_DURATION, FRAME_SAMPLES};
use super::codec::{CodecKind, Encoder};
use super::outbound::{RtpOut, Stamp, Writer};

/// Late frames sent back to back after a stall.
pub const MAX_CATCH_UP: u32 = 5;

/// Largest payload we encode (an Opus frame stays far below).
const MAX_PAYLOAD: usize = 1500;

/// Whether a player goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tick {
    Playing,
    /// The source ran out.
    Done,
}

pub(crate) struct Player {
    pub id: u64,
    source: Box<dyn FrameSource>,
    encoder: Encoder,
    pt: u8,
    next: Instant,
    /// Timestamp of the next packet; `None` before the first.
    ts: Option<u32>,
    payload: Vec<u8>,
    packet: Vec<u8>,
}

impl Player {
    /// The first frame is due at once.
    pub(crate) fn new(
        id: u64,
        source: Box<dyn FrameSource>,
        encoder: Encoder,
        pt: u8,
        now: Instant,
    ) -> Self {
        Player {
            id,
            source,
            encoder,
            pt,
            next: now,
            ts: None,
            payload: Vec::with_capacity(MAX_PAYLOAD),
            packet: Vec::with_capacity(MAX_PAYLOAD + 64),
        }
    }

    pub(crate) fn codec(&self) -> CodecKind {
        self.encoder.kind()
    }

    /// The leg now receives another codec: the next frames are encoded with it. The stream
    /// goes on (the timestamp is rescaled by [`RtpOut`] at the next talkspurt start).
    pub(crate) fn set_codec(&mut self, encoder: Encoder, pt: u8) {
        self.encoder = encoder;
        self.pt = pt;
        self.ts = None;
    }

    pub(crate) fn poll_timeout(&self) -> Instant {
        self.next
    }

    /// Encode and hand to `send` every frame due at `now` (the packet, and the frame it
    /// carries for a recorder). [`Tick::Done`] when the source is exhausted.
    pub(crate) fn on_timeout(
        &mut self,
        now: Instant,
        out: &mut RtpOut,
        mut send: impl FnMut(&[u8], &Frame),
    ) -> Tick {
        let kind = self.encoder.kind();
        let ticks = kind.rtp_ticks_per_frame();
        let mut sent = 0;
        while self.next <= now {
            if sent == MAX_CATCH_UP {
                let behind = now.saturating_duration_since(self.next);
                let frames = (behind.as_nanos() / FRAME_DURATION.as_nanos()) as u32 + 1;
                self.next += FRAME_DURATION * frames;
                self.ts = self.ts.map(|t| t.wrapping_add(ticks.wrapping_mul(frames)));
                break;
            }
            let mut frame: Frame = [0; FRAME_SAMPLES];
            if !self.source.next_frame(&mut frame) {
                return Tick::Done;
            }
            let first = self.ts.is_none();
            let ts = match self.ts {
                Some(ts) => ts,
                None => out.timestamp_at(self.next, kind.clock_rate()),
            };
            self.ts = Some(ts.wrapping_add(ticks));
            // the frame's own time, not the (later) wake-up: the stream's clock stays exact
            let due = self.next;
            self.next += FRAME_DURATION;
            sent += 1;
            if self.encoder.encode(&frame, &mut self.payload).is_err() {
                // (only Opus can refuse) the frame is lost, the timestamp moves on
                continue;
            }
            let stamp = Stamp {
                pt: self.pt,
                marker: first,
                ts,
                clock_rate: kind.clock_rate(),
            };
            out.packet(&mut self.packet, stamp, Writer::Player, due, &self.payload);
            send(&self.packet, &frame);
        }
        Tick::Playing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::RtpHeader;
    use std::time::Duration;

    /// `n` frames whose samples carry the frame number.
    struct Counted(i16, i16);
    impl FrameSource for Counted {
        fn next_frame(&mut self, out: &mut Frame) -> bool {
            if self.0 == self.1 {
                return false;
            }
            out.fill(self.0 * 100);
            self.0 += 1;
            true
        }
    }

    fn player(n: i16, kind: CodecKind, t0: Instant) -> Player {
        let pt = kind.static_pt().unwrap_or(96);
        Player::new(
            7,
            Box::new(Counted(0, n)),
            Encoder::new(kind).unwrap(),
            pt,
            t0,
        )
    }

    #[test]
    fn frames_go_out_on_absolute_deadlines_with_continuous_timestamps() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut p = player(4, CodecKind::Pcmu, t0);
        let mut out = RtpOut::new();
        let mut got = Vec::new();
        let mut on = |now, p: &mut Player, out: &mut RtpOut| {
            p.on_timeout(now, out, |pkt, f| {
                let h = RtpHeader::parse(pkt).unwrap();
                got.push((
                    h.sequence(),
                    h.timestamp(),
                    h.marker(),
                    f[0],
                    h.payload().len(),
                ));
            })
        };
        assert_eq!(on(t0, &mut p, &mut out), Tick::Playing);
        // woken 7 ms late: the next deadline is still t0 + 40, not 47
        assert_eq!(on(ms(27), &mut p, &mut out), Tick::Playing);
        assert_eq!(p.poll_timeout(), ms(40));
        assert_eq!(on(ms(40), &mut p, &mut out), Tick::Playing);
        assert_eq!(on(ms(60), &mut p, &mut out), Tick::Playing);
        assert_eq!(on(ms(80), &mut p, &mut out), Tick::Done);
        assert_eq!(got.len(), 4);
        let (seq0, ts0) = (got[0].0, got[0].1);
        for (k, g) in got.iter().enumerate() {
            let k16 = k as u16;
            assert_eq!(g.0, seq0.wrapping_add(k16));
            assert_eq!(g.1, ts0.wrapping_add(160 * k as u32));
            assert_eq!(g.2, k == 0, "marker on the first packet only");
            assert_eq!(g.3, 100 * k as i16);
            assert_eq!(g.4, 160, "one G.711 byte per sample");
        }
    }

    #[test]
    fn opus_frames_step_the_48_khz_clock_and_switching_codec_mid_play_keeps_going() {
        type Got = Vec<(u8, u32, bool)>;
        fn step(now: Instant, p: &mut Player, out: &mut RtpOut, got: &mut Got) -> Tick {
            p.on_timeout(now, out, |pkt, _| {
                let h = RtpHeader::parse(pkt).unwrap();
                got.push((h.payload_type(), h.timestamp(), h.marker()));
            })
        }
        let t0 = Instant::now();
        let mut p = player(4, CodecKind::Opus, t0);
        let (mut out, mut got) = (RtpOut::new(), Got::new());
        step(t0 + Duration::from_millis(20), &mut p, &mut out, &mut got);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, 96);
        assert_eq!(got[1].1.wrapping_sub(got[0].1), 960, "20 ms at 48 kHz");
        // the phone turns out to send µ-law: the rest goes out as µ-law, a new talkspurt
        p.set_codec(Encoder::new(CodecKind::Pcmu).unwrap(), 0);
        assert_eq!(p.codec(), CodecKind::Pcmu);
        let t = t0 + Duration::from_millis(60);
        assert_eq!(step(t, &mut p, &mut out, &mut got), Tick::Playing);
        assert_eq!(got.len(), 4);
        assert_eq!((got[2].0, got[2].2), (0, true));
        assert_eq!(got[3].1.wrapping_sub(got[2].1), 160);
    }

    #[test]
    fn a_short_stall_catches_up_and_a_long_one_is_skipped_with_the_timestamp_moving_on() {
        let t0 = Instant::now();
        let mut p = player(100, CodecKind::Pcma, t0);
        let mut out = RtpOut::new();
        let mut ts = Vec::new();
        p.on_timeout(t0 + Duration::from_millis(60), &mut out, |pkt, _| {
            ts.push(RtpHeader::parse(pkt).unwrap().timestamp())
        });
        assert_eq!(ts.len(), 4, "t0, 20, 40, 60 all due");
        ts.clear();
        p.on_timeout(t0 + Duration::from_millis(1000), &mut out, |pkt, _| {
            ts.push(RtpHeader::parse(pkt).unwrap().timestamp())
        });
        assert_eq!(ts.len(), MAX_CATCH_UP as usize);
        assert!(p.poll_timeout() > t0 + Duration::from_millis(1000));
        let last = *ts.last().unwrap();
        let mut next = 0;
        p.on_timeout(p.poll_timeout(), &mut out, |pkt, _| {
            next = RtpHeader::parse(pkt).unwrap().timestamp()
        });
        let next_ms = p.poll_timeout().duration_since(t0).as_millis() as u32 - 20;
        assert_eq!(next.wrapping_sub(ts[0]), (next_ms - 80) * 8, "no drift");
        assert!(
            next.wrapping_sub(last) > 160,
            "the skipped time shows in the timestamp"
        );
    }
}
