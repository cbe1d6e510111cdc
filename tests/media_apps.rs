//! Media applications in the relay over real UDP sockets on 127.0.0.1 (test sockets play
//! the phones): prompts played to a leg, muting and resuming the peer, recording both
//! directions to a stereo WAV, taps on decoded audio. Every wait is bounded (2 s) so a bug
//! fails instead of hanging; phones send in real time (20 ms apart) only where the feature
//! is about time.

use std::net::SocketAddr;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use switchboard::media::audio::{AudioTap, Frame, FRAME_SAMPLES};
use switchboard::media::codec::{g711, CodecKind};
use switchboard::media::prompt::Prompt;
use switchboard::media::rtp::RtpHeader;
use switchboard::media::{
    goertzel, repair_recordings, wav, Leg, LocalEndpoint, MediaCallId, MediaConfig, MediaEngine,
    MediaError, MediaEvent, RemoteMedia,
};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(2);

fn engine(ports: std::ops::RangeInclusive<u16>) -> MediaEngine {
    MediaEngine::new(MediaConfig::new("127.0.0.1".parse().unwrap(), ports)).unwrap()
}

async fn phone() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

fn addr(s: &UdpSocket) -> SocketAddr {
    s.local_addr().unwrap()
}

fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

async fn recv(s: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = [0u8; 2048];
    let (n, from) = tokio::time::timeout(WAIT, s.recv_from(&mut buf))
        .await
        .expect("timed out waiting for a packet")
        .unwrap();
    (buf[..n].to_vec(), from)
}

fn nothing_queued(s: &UdpSocket) -> bool {
    let mut buf = [0u8; 2048];
    matches!(s.try_recv_from(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Poll a condition every 2 ms, for at most 2 s.
async fn until(mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "condition not reached within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn event(rx: &mut mpsc::Receiver<MediaEvent>) -> MediaEvent {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("timed out waiting for a media event")
        .expect("event channel open")
}

/// `n` samples of a sine at `freq` Hz, amplitude 8000.
fn tone(freq: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| ((i as f64 * freq * 2.0 * std::f64::consts::PI / 8000.0).sin() * 8000.0) as i16)
        .collect()
}

/// The strongest of `freqs` in `samples`.
fn dominant(samples: &[i16], freqs: &[f32]) -> f32 {
    freqs[goertzel::dominant(samples, freqs, 8000).unwrap().0]
}

const FREQS: [f32; 4] = [400.0, 1000.0, 1400.0, 2200.0];

fn decode_ulaw(payload: &[u8]) -> Vec<i16> {
    payload.iter().map(|&b| g711::ulaw_decode(b)).collect()
}

struct Call {
    engine: MediaEngine,
    id: MediaCallId,
    a: UdpSocket,
    b: UdpSocket,
    ep_a: LocalEndpoint,
    ep_b: LocalEndpoint,
    events: mpsc::Receiver<MediaEvent>,
}

async fn call(ports: std::ops::RangeInclusive<u16>) -> Call {
    let engine = engine(ports);
    let (a, b) = (phone().await, phone().await);
    let id = MediaCallId::from("apps");
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    let ep_b = engine.offer(&id, Leg::B, Some(addr(&b))).unwrap();
    let events = engine.take_events(&id).unwrap();
    Call {
        engine,
        id,
        a,
        b,
        ep_a,
        ep_b,
        events,
    }
}

#[tokio::test]
async fn a_prompt_reaches_the_phone_in_20_ms_steps_and_ends_with_one_play_done() {
    // an IVR call: the switch answered A itself, B was never offered
    let engine = engine(22300..=22309);
    let a = phone().await;
    let id = MediaCallId::from("ivr");
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    let mut events = engine.take_events(&id).unwrap();
    // 11 frames: 10 whole and one half, padded with silence
    let prompt = Prompt::from_samples(tone(1000.0, 10 * FRAME_SAMPLES + 80));
    engine.play(&id, Leg::A, prompt.source(), 42).unwrap();

    let mut packets = Vec::new();
    for _ in 0..11 {
        let (p, from) = recv(&a).await;
        assert_eq!(from, ep_a.rtp, "sent from A's own relay port");
        packets.push(p);
    }
    assert_eq!(
        event(&mut events).await,
        MediaEvent::PlayDone {
            leg: Leg::A,
            id: 42,
            interrupted: false
        }
    );
    assert!(nothing_queued(&a), "exactly the prompt's frames");
    let first = RtpHeader::parse(&packets[0]).unwrap();
    let mut audio = Vec::new();
    for (k, p) in packets.iter().enumerate() {
        let h = RtpHeader::parse(p).unwrap();
        assert_eq!(h.payload_type(), 0, "PCMU, the default");
        assert_eq!(h.ssrc(), first.ssrc());
        assert_eq!(h.sequence(), first.sequence().wrapping_add(k as u16));
        assert_eq!(
            h.timestamp(),
            first.timestamp().wrapping_add(160 * k as u32),
            "20 ms apart in RTP time"
        );
        assert_eq!(h.marker(), k == 0, "marker on the first packet only");
        assert_eq!(h.payload().len(), FRAME_SAMPLES);
        audio.extend(decode_ulaw(h.payload()));
    }
    assert_eq!(dominant(&audio[..1600], &FREQS), 1000.0);
    assert!(audio[1680..].iter().all(|&s| s.abs() < 16), "padded");
    let s = engine.stats(&id).unwrap();
    assert_eq!(s.leg(Leg::A).played, 11);
    assert!(matches!(
        engine.play(&id, Leg::B, prompt.source(), 1),
        Err(MediaError::NoSuchLeg(_, Leg::B))
    ));
}

#[tokio::test]
async fn a_phone_hearing_a_prompt_gets_sender_reports_for_our_stream() {
    let engine = engine(22310..=22319);
    let (a, a_rtcp) = (phone().await, phone().await);
    let id = MediaCallId::from("ivr-sr");
    let remote = RemoteMedia {
        rtp: Some(addr(&a)),
        rtcp: Some(addr(&a_rtcp)),
        ..Default::default()
    };
    let ep_a = engine.offer_media(&id, Leg::A, remote).unwrap();
    // 2 s of prompt: the first report comes about 1 s after the first packet.
    let prompt = Prompt::from_samples(tone(1000.0, 100 * FRAME_SAMPLES));
    engine.play(&id, Leg::A, prompt.source(), 7).unwrap();
    let (first, _) = recv(&a).await;
    let ssrc = RtpHeader::parse(&first).unwrap().ssrc();
    let (report, from) = tokio::time::timeout(Duration::from_secs(3), recv(&a_rtcp))
        .await
        .expect("a sender report within 3 s");
    assert_eq!(from, ep_a.rtcp, "from A's own RTCP port");
    assert_eq!(&report[..2], &[0x80, 200], "an SR");
    let word = |i: usize| u32::from_be_bytes(report[i..i + 4].try_into().unwrap());
    assert_eq!(word(4), ssrc, "about the prompt's stream");
    let (packets, octets) = (word(20), word(24));
    assert!(packets > 0, "counts the packets sent so far");
    assert_eq!(
        octets,
        packets * FRAME_SAMPLES as u32,
        "PCMU: 160 octets each"
    );
    assert_eq!(report[29], 202, "with our SDES CNAME");
}

#[tokio::test]
async fn prompts_follow_the_codec_and_payload_type_the_phone_uses() {
    let engine = engine(22310..=22319);
    let a = phone().await;
    let id = MediaCallId::from("pcma");
    // the SDP put PCMU first, but the phone sends A-law: it gets A-law back
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    a.send_to(&rtp(8, 1, 0, 9, &[0xd5; 160]), ep_a.rtp)
        .await
        .unwrap();
    until(|| engine.stats(&id).unwrap().leg(Leg::A).packets_in == 1).await;
    let prompt = Prompt::from_samples(tone(400.0, 4 * FRAME_SAMPLES));
    let mut events = engine.take_events(&id).unwrap();
    engine.play(&id, Leg::A, prompt.source(), 1).unwrap();
    let mut audio = Vec::new();
    for _ in 0..4 {
        let p = recv(&a).await.0;
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h.payload_type(), 8);
        audio.extend(h.payload().iter().map(|&b| g711::alaw_decode(b)));
    }
    assert_eq!(dominant(&audio, &FREQS), 400.0);
    assert!(matches!(
        event(&mut events).await,
        MediaEvent::PlayDone { id: 1, .. }
    ));

    // a phone whose SDP names no codec the switch can encode (G.722 only)
    let g722 = RemoteMedia {
        rtp: Some(addr(&a)),
        codec: None,
        payload_type: Some(9),
        codecs: vec![],
        ..Default::default()
    };
    engine.update_media(&id, Leg::A, g722).unwrap();
    let err = engine.play(&id, Leg::A, prompt.source(), 2).unwrap_err();
    assert!(matches!(err, MediaError::UnsupportedCodec(_, Leg::A)));
    assert_eq!(err.status_code(), 488);
}

#[tokio::test]
async fn while_a_prompt_plays_the_peer_is_muted_and_after_stop_play_it_is_heard_again() {
    let mut c = call(22320..=22329).await;
    let music = Prompt::from_samples(tone(400.0, 3 * FRAME_SAMPLES));
    c.engine.play(&c.id, Leg::A, music.looping(), 7).unwrap();
    let player_ssrc = RtpHeader::parse(&recv(&c.a).await.0).unwrap().ssrc();

    // B talks while A hears music: B's packets do not reach A
    for seq in 0..5u16 {
        c.b.send_to(
            &rtp(0, seq, 160 * u32::from(seq), 0xb, &[0x11; 160]),
            c.ep_b.rtp,
        )
        .await
        .unwrap();
        let h = recv(&c.a).await.0;
        assert_eq!(RtpHeader::parse(&h).unwrap().ssrc(), player_ssrc);
    }
    // a replacing play interrupts the first
    c.engine.play(&c.id, Leg::A, music.looping(), 8).unwrap();
    assert_eq!(
        event(&mut c.events).await,
        MediaEvent::PlayDone {
            leg: Leg::A,
            id: 7,
            interrupted: true
        }
    );
    c.engine.stop_play(&c.id, Leg::A).unwrap();
    assert_eq!(
        event(&mut c.events).await,
        MediaEvent::PlayDone {
            leg: Leg::A,
            id: 8,
            interrupted: true
        }
    );
    // the stop is handled before this packet: it reaches A, after the last music packets
    let resumed = rtp(0, 5, 800, 0xb, &[0x22; 160]);
    c.b.send_to(&resumed, c.ep_b.rtp).await.unwrap();
    loop {
        let p = recv(&c.a).await.0;
        if p == resumed {
            break;
        }
        assert_eq!(RtpHeader::parse(&p).unwrap().ssrc(), player_ssrc);
    }
    assert!(nothing_queued(&c.a), "the music stopped");
    let s = c.engine.stats(&c.id).unwrap();
    assert!(s.leg(Leg::B).dropped_muted >= 5);
    c.engine.stop_play(&c.id, Leg::A).unwrap();
    assert!(
        c.events.try_recv().is_err(),
        "stopping nothing says nothing"
    );
}

#[tokio::test]
async fn deleting_the_call_interrupts_its_prompt() {
    let c = call(22330..=22339).await;
    let mut events = c.events;
    let music = Prompt::from_samples(tone(400.0, FRAME_SAMPLES));
    c.engine.play(&c.id, Leg::B, music.looping(), 3).unwrap();
    recv(&c.b).await;
    assert!(c.engine.delete(&c.id).await);
    assert_eq!(
        event(&mut events).await,
        MediaEvent::PlayDone {
            leg: Leg::B,
            id: 3,
            interrupted: true
        }
    );
}

/// Sends `n` PCMU packets of a tone every 20 ms from `from` to `to`.
async fn talk(from: &UdpSocket, to: SocketAddr, freq: f64, n: usize, ssrc: u32) {
    let audio = tone(freq, n * FRAME_SAMPLES);
    let mut every = tokio::time::interval(Duration::from_millis(20));
    for (k, frame) in audio.chunks(FRAME_SAMPLES).enumerate() {
        every.tick().await;
        let payload: Vec<u8> = frame.iter().map(|&s| g711::ulaw_encode(s)).collect();
        let p = rtp(0, k as u16, (k * FRAME_SAMPLES) as u32, ssrc, &payload);
        from.send_to(&p, to).await.unwrap();
    }
}

#[tokio::test]
async fn a_recording_has_a_on_the_left_and_b_on_the_right_in_time() {
    let mut c = call(22340..=22349).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call.wav");
    let started = Instant::now();
    c.engine.record_start(&c.id, &path).unwrap();
    // both talk at once for 300 ms: A at 1000 Hz, B at 2200 Hz
    tokio::join!(
        talk(&c.a, c.ep_a.rtp, 1000.0, 15, 0xa),
        talk(&c.b, c.ep_b.rtp, 2200.0, 15, 0xb),
    );
    // the last packets have been relayed (so seen by the recorder) before it stops
    for _ in 0..15 {
        recv(&c.a).await;
        recv(&c.b).await;
    }
    c.engine.record_stop(&c.id).unwrap();
    let elapsed = started.elapsed();
    let MediaEvent::RecordDone {
        frames,
        dropped,
        failed,
    } = event(&mut c.events).await
    else {
        panic!("expected RecordDone");
    };
    assert!(!failed);
    assert_eq!(dropped, 0);

    let bytes = std::fs::read(&path).unwrap();
    let w = wav::parse(&bytes).unwrap();
    assert_eq!((w.format.channels, w.format.sample_rate), (2, 8000));
    assert_eq!(w.format.encoding, wav::WavEncoding::Pcm16);
    assert_eq!(&bytes[4..8], &(bytes.len() as u32 - 8).to_le_bytes());
    assert_eq!(w.data.len() as u64, frames * 4 * FRAME_SAMPLES as u64);
    // the file lasts as long as the recording did: all 300 ms of speech, no more than the wall time
    let ms = frames * 20;
    assert!(ms >= 300, "{ms} ms recorded");
    // (plus what the FIFOs still held at the stop: a frame or two)
    assert!(
        ms <= elapsed.as_millis() as u64 + 60,
        "{ms} ms in {elapsed:?}"
    );

    let samples: Vec<i16> = w
        .data
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(dominant(&left, &FREQS), 1000.0);
    assert_eq!(dominant(&right, &FREQS), 2200.0);
    assert!(
        goertzel::amplitude(&left, 2200.0, 8000) < 300.0,
        "no crosstalk"
    );
    // aligned: both sides start speaking within a frame or two of each other
    let onset = |ch: &[i16]| ch.iter().position(|s| s.abs() > 2000).unwrap();
    let (l, r) = (onset(&left), onset(&right));
    assert!(l.abs_diff(r) <= 2 * FRAME_SAMPLES, "onsets {l} and {r}");

    // a crash cut the header short: repair at start-up sets it right
    let mut cut = bytes.clone();
    cut[4..8].copy_from_slice(&36u32.to_le_bytes());
    cut[40..44].copy_from_slice(&0u32.to_le_bytes());
    std::fs::write(&path, &cut).unwrap();
    assert_eq!(repair_recordings(dir.path()).unwrap(), vec![path.clone()]);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn a_recording_of_an_ivr_call_holds_the_caller_and_the_prompt_it_heard() {
    let engine = engine(22350..=22359);
    let a = phone().await;
    let id = MediaCallId::from("ivr-rec");
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    let mut events = engine.take_events(&id).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ivr.wav");
    engine.record_start(&id, &path).unwrap();
    let prompt = Prompt::from_samples(tone(400.0, 10 * FRAME_SAMPLES));
    engine.play(&id, Leg::A, prompt.source(), 5).unwrap();
    talk(&a, ep_a.rtp, 1400.0, 10, 0xa).await;
    assert!(matches!(
        event(&mut events).await,
        MediaEvent::PlayDone { id: 5, .. }
    ));
    engine.record_stop(&id).unwrap();
    assert!(matches!(
        event(&mut events).await,
        MediaEvent::RecordDone { failed: false, .. }
    ));
    let bytes = std::fs::read(&path).unwrap();
    let w = wav::parse(&bytes).unwrap();
    let samples: Vec<i16> = w
        .data
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(dominant(&left, &FREQS), 1400.0, "the caller");
    assert_eq!(dominant(&right, &FREQS), 400.0, "what the caller heard");
}

#[tokio::test]
async fn record_start_on_an_unknown_call_is_an_error() {
    let engine = engine(22360..=22361);
    let id = MediaCallId::from("nope");
    assert!(matches!(
        engine.record_start(&id, std::path::Path::new("/tmp/x.wav")),
        Err(MediaError::NoSuchCall(_))
    ));
    assert!(matches!(
        engine.record_stop(&id),
        Err(MediaError::NoSuchCall(_))
    ));
}

struct ChannelTap(std_mpsc::Sender<(Leg, Duration, Vec<i16>)>);

impl AudioTap for ChannelTap {
    fn on_frame(&mut self, leg: Leg, at: Duration, frame: &Frame) {
        let _ = self.0.send((leg, at, frame.to_vec()));
    }
}

#[tokio::test]
async fn a_tap_gets_the_legs_audio_decoded_in_20_ms_frames() {
    let c = call(22370..=22379).await;
    let (tx, rx) = std_mpsc::channel();
    c.engine
        .tap(&c.id, Leg::B, Box::new(ChannelTap(tx)))
        .unwrap();
    // B sends 10 ms packets (80 samples); A's audio is not B's
    let audio = tone(1000.0, 6 * 80);
    for (k, chunk) in audio.chunks(80).enumerate() {
        let payload: Vec<u8> = chunk.iter().map(|&s| g711::alaw_encode(s)).collect();
        let p = rtp(8, k as u16, (k * 80) as u32, 0xb, &payload);
        c.b.send_to(&p, c.ep_b.rtp).await.unwrap();
        recv(&c.a).await;
        c.a.send_to(&rtp(0, k as u16, 0, 0xa, &[0xff; 160]), c.ep_a.rtp)
            .await
            .unwrap();
        recv(&c.b).await;
    }
    let frames: Vec<_> = rx.try_iter().collect();
    assert_eq!(frames.len(), 3, "6 × 10 ms = 3 frames");
    let expect: Vec<i16> = audio
        .iter()
        .map(|&s| g711::alaw_decode(g711::alaw_encode(s)))
        .collect();
    for (k, (leg, _, f)) in frames.iter().enumerate() {
        assert_eq!(*leg, Leg::B);
        assert_eq!(f[..], expect[k * 160..(k + 1) * 160]);
    }
    assert!(frames.windows(2).all(|w| w[0].1 <= w[1].1), "in time order");
}

#[tokio::test]
async fn a_phone_on_hold_or_without_an_address_gets_no_prompt_but_the_prompt_still_ends() {
    let engine = engine(22380..=22389);
    let a = phone().await;
    let id = MediaCallId::from("hold-play");
    engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    // B is being prepared: no address yet
    engine.offer(&id, Leg::B, None).unwrap();
    let mut events = engine.take_events(&id).unwrap();
    // A put us on hold (sendonly: it does not receive)
    engine
        .update(
            &id,
            Leg::A,
            None,
            switchboard::sip::sdp::Direction::SendOnly,
        )
        .unwrap();
    let prompt = Prompt::from_samples(tone(400.0, 3 * FRAME_SAMPLES));
    engine.play(&id, Leg::A, prompt.source(), 1).unwrap();
    engine.play(&id, Leg::B, prompt.source(), 2).unwrap();
    let mut done = [event(&mut events).await, event(&mut events).await];
    done.sort_by_key(|e| match e {
        MediaEvent::PlayDone { id, .. } => *id,
        _ => 0,
    });
    assert_eq!(
        done,
        [1, 2].map(|id| MediaEvent::PlayDone {
            leg: if id == 1 { Leg::A } else { Leg::B },
            id,
            interrupted: false
        })
    );
    assert!(nothing_queued(&a));
    let s = engine.stats(&id).unwrap();
    assert_eq!((s.leg(Leg::A).dropped_hold, s.leg(Leg::A).played), (3, 0));
    assert_eq!(s.leg(Leg::B).dropped_no_peer, 3);
}

#[test]
fn remote_media_learns_the_main_codec_and_every_codec_it_can_code_from_sdp() {
    let sdp = |m: &str, maps: &[&str]| {
        let mut s = format!(
            "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n{m}\r\n"
        );
        for a in maps {
            s.push_str(a);
            s.push_str("\r\n");
        }
        switchboard::sip::sdp::SessionDescription::parse(s.as_bytes()).unwrap()
    };
    // Linphone: Opus first (dynamic), then speex (unknown to us), G.711
    let linphone = sdp(
        "m=audio 7078 RTP/AVP 96 97 0 8 101",
        &[
            "a=rtpmap:96 opus/48000/2",
            "a=rtpmap:97 speex/16000",
            "a=rtpmap:101 telephone-event/48000",
        ],
    );
    let m = RemoteMedia::from_sdp(&linphone, 0).unwrap();
    assert_eq!((m.codec, m.payload_type), (Some(CodecKind::Opus), Some(96)));
    assert_eq!(
        m.codecs,
        [
            (96, CodecKind::Opus),
            (0, CodecKind::Pcmu),
            (8, CodecKind::Pcma)
        ]
    );
    assert_eq!((m.clock_rate, m.telephone_event), (48000, Some(101)));
    assert_eq!(m.codec_of(96), Some(CodecKind::Opus));
    assert_eq!(m.codec_of(97), None);
    // a carrier answering with A-law only, no rtpmap (static type)
    let carrier = sdp("m=audio 20000 RTP/AVP 8", &[]);
    let m = RemoteMedia::from_sdp(&carrier, 0).unwrap();
    assert_eq!((m.codec, m.payload_type), (Some(CodecKind::Pcma), Some(8)));
    // G.722 first: no main codec we can code, but PCMU further down
    let g722 = sdp("m=audio 20000 RTP/AVP 9 0", &[]);
    let m = RemoteMedia::from_sdp(&g722, 0).unwrap();
    assert_eq!((m.codec, m.payload_type), (None, Some(9)));
    assert_eq!(m.codecs, [(0, CodecKind::Pcmu)]);
}

#[tokio::test]
async fn an_agent_bridged_into_a_recorded_ivr_call_is_recorded_on_the_right() {
    let engine = engine(22390..=22399);
    let (a, b) = (phone().await, phone().await);
    let id = MediaCallId::from("ivr-then-agent");
    let ep_a = engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    let mut events = engine.take_events(&id).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.wav");
    engine.record_start(&id, &path).unwrap();
    // the agent answers later: leg B appears while recording
    let ep_b = engine.offer(&id, Leg::B, Some(addr(&b))).unwrap();
    tokio::join!(
        talk(&a, ep_a.rtp, 400.0, 10, 0xa),
        talk(&b, ep_b.rtp, 1400.0, 10, 0xb),
    );
    for _ in 0..10 {
        recv(&a).await;
        recv(&b).await;
    }
    engine.record_stop(&id).unwrap();
    assert!(matches!(
        event(&mut events).await,
        MediaEvent::RecordDone { failed: false, .. }
    ));
    let bytes = std::fs::read(&path).unwrap();
    let w = wav::parse(&bytes).unwrap();
    let samples: Vec<i16> = w
        .data
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let right: Vec<i16> = samples.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(dominant(&right, &FREQS), 1400.0);
}

#[tokio::test]
async fn the_recording_beep_plays_as_a_law_for_half_a_second() {
    use switchboard::media::tone::{Tone, BEEP};
    let engine = engine(22470..=22479);
    let a = phone().await;
    let id = MediaCallId::from("beep");
    let carrier = RemoteMedia {
        rtp: Some(addr(&a)),
        codec: Some(CodecKind::Pcma),
        payload_type: Some(8),
        codecs: vec![(8, CodecKind::Pcma)],
        ..Default::default()
    };
    engine.offer_media(&id, Leg::A, carrier).unwrap();
    let mut events = engine.take_events(&id).unwrap();
    engine
        .play(&id, Leg::A, Box::new(Tone::new(&BEEP)), 9)
        .unwrap();
    let mut audio = Vec::new();
    for _ in 0..25 {
        let p = recv(&a).await.0;
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h.payload_type(), 8);
        audio.extend(h.payload().iter().map(|&b| g711::alaw_decode(b)));
    }
    assert_eq!(
        event(&mut events).await,
        MediaEvent::PlayDone {
            leg: Leg::A,
            id: 9,
            interrupted: false
        }
    );
    assert!(nothing_queued(&a), "0.5 s = 25 frames");
    assert_eq!(dominant(&audio, &FREQS), 1000.0);
}

#[tokio::test]
async fn a_silent_caller_in_an_ivr_call_times_out() {
    let mut config = MediaConfig::new("127.0.0.1".parse().unwrap(), 22480..=22489);
    config.media_timeout = Duration::from_millis(100);
    let engine = MediaEngine::new(config).unwrap();
    let a = phone().await;
    let id = MediaCallId::from("ivr-silent");
    // only A: the switch answered it and plays to it, B never comes
    engine.offer(&id, Leg::A, Some(addr(&a))).unwrap();
    let mut events = engine.take_events(&id).unwrap();
    let music = Prompt::from_samples(tone(400.0, FRAME_SAMPLES));
    engine.play(&id, Leg::A, music.looping(), 1).unwrap();
    let ev = event(&mut events).await;
    assert!(
        matches!(ev, MediaEvent::Timeout { idle } if idle >= Duration::from_millis(100)),
        "{ev:?}"
    );
}

#[tokio::test]
async fn a_second_record_start_closes_the_first_file_and_starts_another() {
    let mut c = call(22490..=22499).await;
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("1.wav"), dir.path().join("2.wav"));
    c.engine.record_start(&c.id, &one).unwrap();
    talk(&c.a, c.ep_a.rtp, 400.0, 5, 0xa).await;
    c.engine.record_start(&c.id, &two).unwrap();
    let first = event(&mut c.events).await;
    talk(&c.a, c.ep_a.rtp, 1400.0, 5, 0xa).await;
    for _ in 0..10 {
        recv(&c.b).await;
    }
    c.engine.record_stop(&c.id).unwrap();
    c.engine.record_stop(&c.id).unwrap();
    let second = event(&mut c.events).await;
    for (path, done, freq) in [(&one, first, 400.0), (&two, second, 1400.0)] {
        let MediaEvent::RecordDone { frames, failed, .. } = done else {
            panic!("expected RecordDone, got {done:?}");
        };
        assert!(!failed && frames >= 4, "{frames} frames");
        let bytes = std::fs::read(path).unwrap();
        let w = wav::parse(&bytes).unwrap();
        assert_eq!(w.data.len() as u64, frames * 640);
        let left: Vec<i16> = w
            .data
            .chunks_exact(4)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(dominant(&left, &FREQS), freq);
    }
    // the second stop had nothing to stop: once the call is gone the channel ends, empty
    assert!(c.engine.delete(&c.id).await);
    let rest = tokio::time::timeout(WAIT, c.events.recv()).await.unwrap();
    assert_eq!(rest, None);
}
