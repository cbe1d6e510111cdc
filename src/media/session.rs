//! One call's relay state: owns both legs' sockets, latches, receiver statistics and DTMF
//! detectors, and runs the per-packet pipeline described in [`super`]. A relay thread
//! ([`super::reactor`]) owns the session and calls it when a socket is readable
//! ([`Session::on_readable`]), a command arrives ([`Session::apply`]) or a deadline is due
//! ([`Session::on_timer`], [`Session::on_tick`]); time is passed in. The control side
//! talks to it only through [`Control`] messages and reads its atomics.
//!
//! Media applications live here too, so they share the task's sockets and clock: per leg
//! (see [`super::leg`]) a [`Player`] (prompt to that phone, on the leg's own
//! [`super::outbound::RtpOut`] stream; while it plays, the peer's media to that phone is
//! muted), [`AudioTap`]s and a [`super::listen::Listener`] decoding what the phone sends
//! (only while a tap or the recorder needs it), and the [`Transcoding`] of its audio when
//! the other phone does not take its codec; per call a [`Recorder`]. Players and the
//! recorder run on absolute 20 ms deadlines: [`Session::on_tick`] returns the earliest of
//! them.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::audio::{AudioTap, FrameSource};
use super::codec::Encoder;
use super::latch::{RelatchPolicy, Verdict};
use super::leg::{route, LegRuntime, Route};
use super::offload::{Offload, OffloadShare};
use super::outbox::{self, Payer};
use super::play::{Player, Tick};
use super::record::Recorder;
use super::rtcp;
use super::rtp::{self, RtpHeader, TelephoneEvent};
use super::stats::{bump, LegCounters};
use super::transcoding::{Outcome, Transcoding};
use super::{Leg, MediaEvent, PortPool, RemoteMedia};
use crate::sip::sdp::Direction;

/// Largest datagram relayed whole; longer ones are truncated by the kernel (RTP stays
/// under the path MTU, so this only cuts garbage).
pub(crate) const DATAGRAM: usize = 2048;

/// A change to one leg's remote side. `media` replaces everything; otherwise only the
/// fields given change.
#[derive(Debug, Default)]
pub(crate) struct Patch {
    pub rtp: Option<SocketAddr>,
    pub direction: Option<Direction>,
    pub media: Option<RemoteMedia>,
}

pub(crate) enum Control {
    AddLeg {
        leg: Leg,
        port: u16,
        rtp: UdpSocket,
        rtcp: UdpSocket,
    },
    Remote {
        leg: Leg,
        patch: Patch,
    },
    /// Replace what plays to `leg` (the encoder is for the codec the control side knows;
    /// the task switches to the one the phone actually uses).
    Play {
        leg: Leg,
        id: u64,
        source: Box<dyn FrameSource>,
        encoder: Encoder,
        pt: u8,
    },
    StopPlay {
        leg: Leg,
    },
    /// Replace the call's recording (the old one's file is closed).
    RecordStart(Recorder),
    RecordStop,
    Tap {
        leg: Leg,
        tap: Box<dyn AudioTap>,
    },
}

/// What the control side shares with the task: counters, read any time.
#[derive(Debug)]
pub(crate) struct CallShared {
    pub counters: [LegCounters; 2],
    pub epoch: Instant,
    /// The wall clock at `epoch` (for the NTP time in sender reports).
    pub epoch_wall: SystemTime,
    pub created: Instant,
    /// The call's directions the kernel forwards, with the kernel's counts of them.
    pub offload: OffloadShare,
}

impl CallShared {
    pub(crate) fn new(epoch: Instant, epoch_wall: SystemTime, offload: OffloadShare) -> Self {
        let counters: [LegCounters; 2] = Default::default();
        for c in &counters {
            c.clock_rate.store(8000, Relaxed);
        }
        CallShared {
            counters,
            epoch,
            epoch_wall,
            created: Instant::now(),
            offload,
        }
    }

    /// The wall clock at `now` as a 64-bit NTP timestamp (RFC 3550 §4: seconds since 1900
    /// in the high word, the fraction in the low).
    pub(crate) fn ntp_at(&self, now: Instant) -> u64 {
        const UNIX_TO_NTP_S: u64 = 2_208_988_800;
        let wall = self.epoch_wall + now.saturating_duration_since(self.epoch);
        let since_unix = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since_unix.as_secs() + UNIX_TO_NTP_S;
        let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        (secs << 32) | fraction
    }
}

pub(crate) struct Session {
    legs: [Option<LegRuntime>; 2],
    shared: Arc<CallShared>,
    events: mpsc::Sender<MediaEvent>,
    pool: Arc<PortPool>,
    relatch: RelatchPolicy,
    timeouts: Timeouts,
    last_media: Instant,
    timed_out: bool,
    recorder: Option<Recorder>,
    offload: Offload,
}

/// RTP silence limits: in conversation, and while either side holds (`None`: never).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub media: Duration,
    pub hold: Option<Duration>,
}

/// Which of a leg's two sockets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Stream {
    Rtp = 0,
    Rtcp = 1,
}

impl Session {
    pub(crate) fn new(
        shared: Arc<CallShared>,
        events: mpsc::Sender<MediaEvent>,
        pool: Arc<PortPool>,
        relatch: RelatchPolicy,
        timeouts: Timeouts,
    ) -> Self {
        let last_media = shared.created;
        Session {
            legs: [None, None],
            shared,
            events,
            pool,
            relatch,
            timeouts,
            last_media,
            timed_out: false,
            recorder: None,
            offload: Offload::default(),
        }
    }

    /// `leg`'s `stream` socket is readable: take one datagram through the pipeline (the
    /// relay thread's epoll is level-triggered, so a socket with more waiting comes back
    /// next round and no read is spent on an empty socket).
    pub(crate) fn on_readable(&mut self, i: usize, stream: Stream, buf: &mut [u8], now: Instant) {
        let Some(l) = self.legs.get(i).and_then(Option::as_ref) else {
            return;
        };
        let sock = match stream {
            Stream::Rtp => &l.rtp,
            Stream::Rtcp => &l.rtcp,
        };
        match sock.recv_from(buf) {
            Ok((n, src)) => self.on_datagram(i, stream, &mut buf[..n], src, now),
            // ICMP errors surface here on some systems; the next recv is fine.
            Err(e) => tracing::trace!(error = %e, "media recv"),
        }
    }

    /// The silence limit in force: none until every leg has an address (ringing; a call
    /// with no leg), the hold limit while a side is not sendrecv, else the media limit. A
    /// call of one leg (an IVR the switch answered itself) is watched on that leg alone.
    fn limit(&self) -> Option<Duration> {
        let mut conversation = true;
        let mut legs = 0;
        for l in self.legs.iter().flatten() {
            l.rtp_latch.active()?;
            conversation &= l.media.direction == Direction::SendRecv;
            legs += 1;
        }
        match (legs, conversation) {
            (0, _) => None,
            (_, true) => Some(self.timeouts.media),
            (_, false) => self.timeouts.hold,
        }
    }

    pub(crate) fn apply(&mut self, c: Control, now: Instant) {
        // whatever changes, the relay thread sees the next packets and decides afresh
        self.offload.withdraw(&self.shared.offload);
        let limit = self.limit();
        match c {
            Control::AddLeg {
                leg,
                port,
                rtp,
                rtcp,
            } => {
                let slot = &mut self.legs[leg.index()];
                if slot.is_some() {
                    drop((rtp, rtcp));
                    self.pool.release(port);
                    return;
                }
                let mut l = LegRuntime::new(port, rtp, rtcp, self.relatch);
                l.listen(self.recorder.is_some());
                *slot = Some(l);
            }
            Control::Remote { leg, patch } => {
                if let Some(l) = self.legs[leg.index()].as_mut() {
                    l.apply(patch, &self.shared.counters[leg.index()]);
                }
            }
            Control::Play {
                leg,
                id,
                source,
                encoder,
                pt,
            } => {
                self.stop_play(leg);
                match self.legs[leg.index()].as_mut() {
                    Some(l) => l.player = Some(Player::new(id, source, encoder, pt, now)),
                    None => self.emit(MediaEvent::PlayDone {
                        leg,
                        id,
                        interrupted: true,
                    }),
                }
            }
            Control::StopPlay { leg } => self.stop_play(leg),
            Control::RecordStart(r) => {
                // the old recording (if any) is closed by its writer when dropped here
                self.recorder = Some(r);
                for l in self.legs.iter_mut().flatten() {
                    l.listen(true);
                }
            }
            Control::RecordStop => {
                self.recorder = None;
                for l in self.legs.iter_mut().flatten() {
                    l.listen(!l.taps.is_empty());
                }
            }
            Control::Tap { leg, tap } => {
                if let Some(l) = self.legs[leg.index()].as_mut() {
                    l.taps.push(tap);
                    l.listen(true);
                }
            }
        }
        if self.limit() != limit {
            // the clock for the new limit starts now (answer, hold, resume)
            self.last_media = now;
            self.timed_out = false;
        }
    }

    /// Returns when to look again.
    pub(crate) fn on_timer(&mut self, now: Instant) -> Instant {
        let Some(limit) = self.limit() else {
            return now + self.timeouts.media;
        };
        let mut idle = now.saturating_duration_since(self.last_media);
        if idle >= limit {
            // the kernel may have forwarded what the thread did not see
            if let Some(at) = self.offload.last_packet(&self.shared.offload) {
                self.last_media = self.last_media.max(at);
                idle = now.saturating_duration_since(self.last_media);
            }
        }
        if idle < limit {
            return self.last_media + limit;
        }
        if !self.timed_out {
            self.timed_out = true;
            if self.events.try_send(MediaEvent::Timeout { idle }).is_err() {
                bump(&self.shared.counters[0].events_dropped);
            }
        }
        now + limit
    }

    /// Events for the B2BUA never wait: a full channel drops (counted).
    fn emit(&self, ev: MediaEvent) {
        if self.events.try_send(ev).is_err() {
            bump(&self.shared.counters[0].events_dropped);
        }
    }

    /// End what plays to `leg`, if anything: PlayDone, interrupted.
    fn stop_play(&mut self, leg: Leg) {
        let Some(p) = self.legs[leg.index()]
            .as_mut()
            .and_then(|l| l.player.take())
        else {
            return;
        };
        self.emit(MediaEvent::PlayDone {
            leg,
            id: p.id,
            interrupted: true,
        });
    }

    /// Players and the recorder: do what is due at `now`; returns when next to wake.
    pub(crate) fn on_tick(&mut self, now: Instant) -> Option<Instant> {
        for i in 0..2 {
            let leg = Leg::from_index(i);
            let c = &self.shared.counters[i];
            let recorder = &mut self.recorder;
            let Some(l) = self.legs[i].as_mut() else {
                continue;
            };
            let send_codec = l.send_codec();
            let Some(p) = l.player.as_mut() else { continue };
            if let Some((pt, kind)) = send_codec.filter(|&(_, k)| k != p.codec()) {
                // the phone turned out to use another codec than its SDP put first
                if let Ok(e) = Encoder::new(kind) {
                    p.set_codec(e, pt);
                }
            }
            // RFC 3264 §5.1: nothing to a phone that does not receive (hold)
            let receives = l.media.direction.receives();
            let dst = l.rtp_latch.active();
            let sock = &l.rtp;
            let done = p.on_timeout(now, &mut l.out, |pkt, frame| {
                if let Some(r) = recorder.as_mut() {
                    r.played(leg, frame);
                }
                match dst {
                    Some(dst) if receives => send_own(sock, pkt, dst, c),
                    Some(_) => bump(&c.dropped_hold),
                    None => bump(&c.dropped_no_peer),
                }
            });
            l.report_if_due(now, self.shared.ntp_at(now), c);
            let Some(p) = l.player.as_mut() else { continue };
            if done == Tick::Done {
                let id = p.id;
                l.player = None;
                self.emit(MediaEvent::PlayDone {
                    leg,
                    id,
                    interrupted: false,
                });
            }
        }
        if let Some(r) = self.recorder.as_mut() {
            r.on_timeout(now);
        }
        let players = self
            .legs
            .iter()
            .flatten()
            .filter_map(|l| l.player.as_ref().map(Player::poll_timeout));
        players
            .chain(self.recorder.as_ref().map(Recorder::poll_timeout))
            .min()
    }

    /// The per-packet pipeline. No allocation, no await.
    fn on_datagram(
        &mut self,
        i: usize,
        stream: Stream,
        buf: &mut [u8],
        src: SocketAddr,
        now: Instant,
    ) {
        let shared = &*self.shared;
        let c = &shared.counters[i];
        let out = &shared.counters[1 - i];
        let [a, b] = &mut self.legs;
        let (me, peer) = if i == 0 { (a, b) } else { (b, a) };
        let Some(me) = me.as_mut() else { return };

        // RTCP on the RTP port is told apart by packet type (RFC 5761 §4), muxed or not.
        if stream == Stream::Rtcp || rtp::is_rtcp(buf) {
            let latch = if stream == Stream::Rtcp {
                &mut me.rtcp_latch
            } else {
                &mut me.rtp_latch
            };
            if latch.on_packet(src) == Verdict::Stranger {
                bump(&c.dropped_stranger);
                return;
            }
            bump(&c.rtcp_in);
            if let Some(report) = rtcp::first_report(buf) {
                c.on_report(&report);
            }
            // RTCP keeps flowing on hold (RFC 3264 §5.1).
            let Some(peer) = peer.as_ref() else {
                return bump(&c.dropped_no_peer);
            };
            let (sock, dst) = peer.rtcp_route();
            let Some(dst) = dst else {
                return bump(&c.dropped_no_peer);
            };
            return send(sock, buf, dst, c, out);
        }

        let Ok(hdr) = RtpHeader::parse(buf) else {
            return bump(&c.dropped_malformed);
        };
        if me.rtp_latch.learned().is_some_and(|l| l != src)
            && self.offload.latched_spoke_lately(&shared.offload, i, now)
        {
            // the kernel's packets from the latched phone were not in this queue: a stranger
            // queued behind them is no run of its own
            me.rtp_latch.forget_candidate();
        }
        match me.rtp_latch.on_packet(src) {
            Verdict::Stranger => {
                self.offload.stranger(&shared.offload, i, now);
                return bump(&c.dropped_stranger);
            }
            Verdict::Latched => self.offload.relatched(&shared.offload, i, src),
            // the latched phone, but a packet the kernel left to us (another payload type:
            // an event): its direction comes back here, so the kernel's count of sequence
            // numbers never jumps over ours
            Verdict::Accept => self.offload.withdraw_one(&shared.offload, i),
        }
        c.packets_in.fetch_add(1, Relaxed);
        c.bytes_in.fetch_add(buf.len() as u64, Relaxed);
        c.touch(shared.epoch, now);
        self.last_media = now;
        self.timed_out = false;

        let pt = hdr.payload_type();
        let is_event = me.media.telephone_event == Some(pt);
        let rate = if is_event {
            me.media.telephone_event_rate
        } else {
            me.media.clock_rate
        };
        let since = now.saturating_duration_since(shared.epoch).as_micros() as u64;
        let arrival = (since.wrapping_mul(u64::from(rate)) / 1_000_000) as u32;
        if let Some(k) = self.offload.forwarded_since(&shared.offload, i) {
            me.reception.resume(k.ssrc, k.last_seq);
        }
        let seen = me.reception.on_packet(
            hdr.ssrc(),
            hdr.sequence(),
            hdr.timestamp(),
            arrival,
            !is_event,
        );
        if seen.ssrc_changed {
            bump(&c.ssrc_changes);
        }
        if seen.gap {
            bump(&c.seq_gaps);
        }
        c.lost.store(me.reception.lost(), Relaxed);
        c.jitter.store(me.reception.jitter(), Relaxed);
        if is_event {
            if let Some(ev) = TelephoneEvent::parse(hdr.payload()) {
                let events = &self.events;
                let leg = Leg::from_index(i);
                me.dtmf.on_packet(hdr.timestamp(), ev, |dtmf| {
                    if events.try_send(MediaEvent::Dtmf { leg, dtmf }).is_err() {
                        bump(&c.events_dropped);
                    }
                });
            }
        }
        let kind = match is_event {
            true => None,
            false => me.media.codec_of(pt),
        };
        if let Some(kind) = kind {
            me.last_rx = Some((pt, kind));
            if let Some(listener) = me.listener.as_mut() {
                let leg = Leg::from_index(i);
                let at = now.saturating_duration_since(shared.created);
                let (recorder, taps) = (&mut self.recorder, &mut me.taps);
                let heard = |s: &[i16]| {
                    if let Some(r) = recorder.as_mut() {
                        r.heard(leg, s);
                    }
                };
                let frame = |f: &_| {
                    for t in taps.iter_mut() {
                        t.on_frame(leg, at, f);
                    }
                };
                if listener
                    .on_payload(kind, hdr.payload(), heard, frame)
                    .is_err()
                {
                    bump(&c.decode_errors);
                }
            }
        }

        let Some(peer) = peer.as_mut() else {
            return bump(&c.dropped_no_peer);
        };
        if peer.player.is_some() {
            // the switch is playing to that phone
            return bump(&c.dropped_muted);
        }
        if !me.media.direction.sends() || !peer.media.direction.receives() {
            return bump(&c.dropped_hold);
        }
        let Some(dst) = peer.rtp_latch.active() else {
            return bump(&c.dropped_no_peer);
        };
        let sock = &peer.rtp;
        if is_event {
            if let Some(x) = me.transcoding.as_mut() {
                // the audio of this direction is ours: its events join our stream
                let Some(te) = peer.media.telephone_event else {
                    return bump(&c.dropped_codec);
                };
                let rates = (
                    me.media.telephone_event_rate,
                    peer.media.telephone_event_rate,
                );
                let send = |p: &[u8]| send_raw(sock, p, dst, c, out);
                return x.on_event(&hdr, rates, te, &mut peer.out, now, send);
            }
            if let Some(theirs) = peer.media.telephone_event.filter(|&p| p != pt) {
                rtp::set_payload_type(buf, theirs);
            }
            return send(sock, buf, dst, c, out);
        }
        match route(kind, pt, me.transcoding.is_some(), peer) {
            Route::Pass => {
                me.transcoding = None;
                if me.listener.is_none() {
                    // the route first: once the phone has this packet, its next goes by it
                    self.offload
                        .offer(&shared.offload, i, src, me.port, sock, dst, &hdr, now);
                }
                return send(sock, buf, dst, c, out);
            }
            Route::Remap(theirs) => {
                me.transcoding = None;
                rtp::set_payload_type(buf, theirs);
            }
            Route::Drop => return bump(&c.dropped_codec),
            Route::Transcode(from, (to_pt, to)) => {
                let x = match &mut me.transcoding {
                    Some(x) if x.is(from, to, to_pt) => x,
                    slot => match Transcoding::new(from, to, to_pt) {
                        // a codec pair appears: set up once, not per packet
                        Ok(x) => slot.insert(x),
                        Err(_) => return bump(&c.dropped_codec),
                    },
                };
                let send = |p: &[u8]| send_raw(sock, p, dst, c, out);
                // counted before the packet leaves (the phone may read the stats the
                // moment it has it: the relay runs on a thread of its own), taken back if
                // nothing was transcoded
                bump(&c.transcoded);
                let outcome = x.on_audio(&hdr, &mut peer.out, now, send);
                if !matches!(outcome, Ok(Outcome::Transcoded)) {
                    c.transcoded.fetch_sub(1, Relaxed);
                }
                return match outcome {
                    Ok(Outcome::Transcoded) => {
                        peer.report_if_due(now, shared.ntp_at(now), out);
                    }
                    Ok(Outcome::Stale) => bump(&c.dropped_codec),
                    Err(_) => bump(&c.decode_errors),
                };
            }
        }
        send(sock, buf, dst, c, out)
    }

    pub(crate) fn close(mut self) {
        self.offload.close(&self.shared.offload);
        self.stop_play(Leg::A);
        self.stop_play(Leg::B);
        let pool = self.pool;
        for leg in self.legs.into_iter().flatten() {
            let port = leg.port;
            drop(leg);
            pool.release(port);
        }
    }
}

/// A packet the switch originated to `to`'s phone, from that leg's own socket.
fn send_own(sock: &UdpSocket, buf: &[u8], dst: SocketAddr, to: &LegCounters) {
    bump(&to.played);
    send_out(sock, buf, dst, to, Payer::Own);
}

/// A packet we made for `to`'s phone out of `from`'s media (transcoded audio, re-stamped
/// events), from `to`'s socket.
fn send_raw(sock: &UdpSocket, buf: &[u8], dst: SocketAddr, from: &LegCounters, to: &LegCounters) {
    send(sock, buf, dst, from, to)
}

/// Never waits (the socket is non-blocking): a full socket buffer drops the packet (counted
/// on the sending side).
fn send(sock: &UdpSocket, buf: &[u8], dst: SocketAddr, from: &LegCounters, to: &LegCounters) {
    send_out(sock, buf, dst, to, Payer::From(from));
}

/// `sendto` (or queued on the relay thread's [`outbox`] in io_uring mode), with `to`'s out
/// counters raised *before* the packet leaves: the relay runs on a thread of its own, and
/// whoever receives the packet may read the counters at once. A failed send takes them back
/// and charges `payer`.
fn send_out(sock: &UdpSocket, buf: &[u8], dst: SocketAddr, to: &LegCounters, payer: Payer<'_>) {
    let len = buf.len() as u64;
    to.packets_out.fetch_add(1, Relaxed);
    to.bytes_out.fetch_add(len, Relaxed);
    if outbox::queue(sock, buf, dst, to, payer) {
        return;
    }
    if sock.send_to(buf, dst).is_err() {
        outbox::unsent(to, len, payer);
    }
}
