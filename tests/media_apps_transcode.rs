//! Transcoding in the relay over real UDP sockets on 127.0.0.1: when one phone's SDP does
//! not list the codec the other sends, audio is decoded and re-encoded (a known tone must
//! come out at its frequency), on the relay's own RTP stream, with RFC 4733 events moved
//! to that stream (payload type remapped, timing scaled across clock rates). When the SDP
//! lists the codec, packets pass untouched (or only their payload type is remapped).

use std::net::SocketAddr;
use std::time::Duration;

use switchboard::media::codec::{g711, CodecKind, Decoder, Encoder};
use switchboard::media::rtp::RtpHeader;
use switchboard::media::{
    goertzel, Leg, LocalEndpoint, MediaCallId, MediaConfig, MediaEngine, RemoteMedia,
};
use tokio::net::UdpSocket;

const WAIT: Duration = Duration::from_secs(2);
const FREQS: [f32; 4] = [400.0, 1000.0, 1400.0, 2200.0];

fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

async fn recv(s: &UdpSocket) -> Vec<u8> {
    let mut buf = [0u8; 2048];
    let n = tokio::time::timeout(WAIT, s.recv(&mut buf))
        .await
        .expect("timed out waiting for a packet")
        .unwrap();
    buf[..n].to_vec()
}

fn tone(freq: f64, n: usize) -> Vec<i16> {
    (0..n)
        .map(|i| ((i as f64 * freq * 2.0 * std::f64::consts::PI / 8000.0).sin() * 8000.0) as i16)
        .collect()
}

fn dominant(samples: &[i16]) -> f32 {
    FREQS[goertzel::dominant(samples, &FREQS, 8000).unwrap().0]
}

/// What a phone's SDP says: `codecs` in order, telephone-event at (pt, rate).
fn media(sock: &UdpSocket, codecs: &[(u8, CodecKind)], te: Option<(u8, u32)>) -> RemoteMedia {
    RemoteMedia {
        rtp: Some(sock.local_addr().unwrap()),
        codec: Some(codecs[0].1),
        payload_type: Some(codecs[0].0),
        codecs: codecs.to_vec(),
        clock_rate: codecs[0].1.clock_rate(),
        telephone_event: te.map(|t| t.0),
        telephone_event_rate: te.map_or(8000, |t| t.1),
        ..Default::default()
    }
}

struct Call {
    a: UdpSocket,
    b: UdpSocket,
    ep_a: LocalEndpoint,
    ep_b: LocalEndpoint,
    engine: MediaEngine,
    id: MediaCallId,
}

async fn call(
    ports: std::ops::RangeInclusive<u16>,
    a_codecs: &[(u8, CodecKind)],
    a_te: Option<(u8, u32)>,
    b_codecs: &[(u8, CodecKind)],
    b_te: Option<(u8, u32)>,
) -> Call {
    let engine = MediaEngine::new(MediaConfig::new("127.0.0.1".parse().unwrap(), ports)).unwrap();
    let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let id = MediaCallId::from("xc");
    let ep_a = engine
        .offer_media(&id, Leg::A, media(&a, a_codecs, a_te))
        .unwrap();
    let ep_b = engine
        .offer_media(&id, Leg::B, media(&b, b_codecs, b_te))
        .unwrap();
    Call {
        a,
        b,
        ep_a,
        ep_b,
        engine,
        id,
    }
}

/// Send `frames` 20 ms frames of `audio` from `from` encoded as `kind`/`pt`; returns what
/// arrived at `to` for each (one packet per frame).
async fn through(
    from: &UdpSocket,
    relay: SocketAddr,
    to: &UdpSocket,
    audio: &[i16],
    kind: CodecKind,
    pt: u8,
) -> Vec<Vec<u8>> {
    let mut enc = Encoder::new(kind).unwrap();
    let mut payload = Vec::new();
    let mut got = Vec::new();
    for (k, frame) in audio.chunks_exact(160).enumerate() {
        enc.encode(frame.try_into().unwrap(), &mut payload).unwrap();
        let ts = k as u32 * kind.rtp_ticks_per_frame();
        from.send_to(&rtp(pt, k as u16, ts, 0x5eed, &payload), relay)
            .await
            .unwrap();
        got.push(recv(to).await);
    }
    got
}

fn decode(kind: CodecKind, packets: &[Vec<u8>]) -> Vec<i16> {
    let mut dec = Decoder::new(kind).unwrap();
    let mut pcm = Vec::new();
    for p in packets {
        dec.decode(RtpHeader::parse(p).unwrap().payload(), &mut pcm)
            .unwrap();
    }
    pcm
}

/// One stream: one SSRC (not the sender's), consecutive sequence numbers, timestamps
/// `ticks` apart, marker on the first packet only.
fn assert_one_stream(packets: &[Vec<u8>], pt: u8, ticks: u32) {
    let first = RtpHeader::parse(&packets[0]).unwrap();
    assert_ne!(first.ssrc(), 0x5eed, "the relay's own stream");
    for (k, p) in packets.iter().enumerate() {
        let h = RtpHeader::parse(p).unwrap();
        assert_eq!(h.payload_type(), pt);
        assert_eq!(h.ssrc(), first.ssrc());
        assert_eq!(h.sequence(), first.sequence().wrapping_add(k as u16));
        assert_eq!(
            h.timestamp(),
            first.timestamp().wrapping_add(ticks * k as u32)
        );
        assert_eq!(h.marker(), k == 0);
    }
}

const PCMU: (u8, CodecKind) = (0, CodecKind::Pcmu);
const PCMA: (u8, CodecKind) = (8, CodecKind::Pcma);

#[tokio::test]
async fn pcmu_and_pcma_phones_hear_each_others_tones() {
    let c = call(22400..=22409, &[PCMU], None, &[PCMA], None).await;
    let at_b = through(
        &c.a,
        c.ep_a.rtp,
        &c.b,
        &tone(1000.0, 1600),
        CodecKind::Pcmu,
        0,
    )
    .await;
    assert_one_stream(&at_b, 8, 160);
    let pcm = decode(CodecKind::Pcma, &at_b);
    assert_eq!(pcm.len(), 1600);
    assert_eq!(dominant(&pcm), 1000.0);
    let amplitude = goertzel::amplitude(&pcm, 1000.0, 8000);
    assert!((7000.0..9000.0).contains(&amplitude), "{amplitude}");

    let at_a = through(
        &c.b,
        c.ep_b.rtp,
        &c.a,
        &tone(2200.0, 1600),
        CodecKind::Pcma,
        8,
    )
    .await;
    assert_one_stream(&at_a, 0, 160);
    assert_eq!(dominant(&decode(CodecKind::Pcmu, &at_a)), 2200.0);
    let s = c.engine.stats(&c.id).unwrap();
    assert_eq!(
        (s.leg(Leg::A).transcoded, s.leg(Leg::B).transcoded),
        (10, 10)
    );
}

#[tokio::test]
async fn thirty_ms_packets_come_out_as_twenty_ms_packets() {
    let c = call(22410..=22419, &[PCMU], None, &[PCMA], None).await;
    let audio = tone(400.0, 240 * 4);
    let mut got = Vec::new();
    for (k, chunk) in audio.chunks(240).enumerate() {
        let payload: Vec<u8> = chunk.iter().map(|&s| g711::ulaw_encode(s)).collect();
        let p = rtp(0, k as u16, 240 * k as u32, 0x5eed, &payload);
        c.a.send_to(&p, c.ep_a.rtp).await.unwrap();
        // 30 ms in: one or two 20 ms frames out
        let want = (240 * (k + 1)) / 160 - got.len();
        for _ in 0..want {
            got.push(recv(&c.b).await);
        }
    }
    assert_eq!(got.len(), 6);
    assert_one_stream(&got, 8, 160);
    assert_eq!(dominant(&decode(CodecKind::Pcma, &got)), 400.0);
}

#[tokio::test]
async fn pcmu_to_opus_carries_the_tone_and_moves_dtmf_to_the_opus_stream() {
    let opus = (111, CodecKind::Opus);
    let c = call(
        22420..=22429,
        &[PCMU],
        Some((101, 8000)),
        &[opus],
        Some((110, 48000)),
    )
    .await;
    let at_b = through(
        &c.a,
        c.ep_a.rtp,
        &c.b,
        &tone(1000.0, 8000),
        CodecKind::Pcmu,
        0,
    )
    .await;
    assert_one_stream(&at_b, 111, 960);
    let pcm = decode(CodecKind::Opus, &at_b);
    assert_eq!(pcm.len(), 8000);
    assert_eq!(dominant(&pcm[1600..]), 1000.0, "after the codec's start-up");
    let last = RtpHeader::parse(at_b.last().unwrap()).unwrap();

    // digit 7, starting where the next audio frame would (ts 8000 at 8 kHz), 800 ticks long
    let ev = rtp(101, 50, 8000, 0x5eed, &[7, 0x8a, 0x03, 0x20]);
    c.a.send_to(&ev, c.ep_a.rtp).await.unwrap();
    let got = recv(&c.b).await;
    let h = RtpHeader::parse(&got).unwrap();
    assert_eq!(
        h.payload_type(),
        110,
        "the far phone's telephone-event type"
    );
    assert_eq!(h.ssrc(), last.ssrc(), "on the transcoded stream");
    assert_eq!(h.sequence(), last.sequence().wrapping_add(1));
    assert_eq!(
        h.timestamp(),
        last.timestamp().wrapping_add(960),
        "48 kHz clock"
    );
    assert_eq!(
        h.payload(),
        &[7, 0x8a, 0x12, 0xc0],
        "800 ticks at 8 kHz = 4800 at 48 kHz"
    );
}

#[tokio::test]
async fn a_listed_codec_passes_untouched_and_a_renumbered_one_only_gets_its_payload_type() {
    let c = call(
        22430..=22439,
        &[PCMU, PCMA, (96, CodecKind::Opus)],
        None,
        &[PCMA, PCMU, (111, CodecKind::Opus)],
        None,
    )
    .await;
    let p = rtp(0, 1, 160, 0x5eed, &[0x42; 160]);
    c.a.send_to(&p, c.ep_a.rtp).await.unwrap();
    assert_eq!(recv(&c.b).await, p, "B lists PCMU: no transcoding");
    let mut enc = Encoder::new(CodecKind::Opus).unwrap();
    let mut payload = Vec::new();
    enc.encode(&[0; 160], &mut payload).unwrap();
    let p = rtp(96, 2, 960, 0x5eed, &payload);
    c.a.send_to(&p, c.ep_a.rtp).await.unwrap();
    let mut want = p.clone();
    want[1] = 111;
    assert_eq!(
        recv(&c.b).await,
        want,
        "Opus 96 → 111, nothing else changed"
    );
    let s = c.engine.stats(&c.id).unwrap();
    assert_eq!(s.leg(Leg::A).transcoded, 0);
}

#[tokio::test]
async fn a_prompt_then_transcoded_audio_share_one_stream_to_the_phone() {
    let c = call(22440..=22449, &[PCMU], None, &[PCMA], None).await;
    let prompt = switchboard::media::prompt::Prompt::from_samples(tone(400.0, 320));
    c.engine.play(&c.id, Leg::B, prompt.source(), 1).unwrap();
    let played = [recv(&c.b).await, recv(&c.b).await];
    let mut events = c.engine.take_events(&c.id).unwrap();
    tokio::time::timeout(WAIT, events.recv()).await.unwrap();
    let relayed = through(
        &c.a,
        c.ep_a.rtp,
        &c.b,
        &tone(1000.0, 320),
        CodecKind::Pcmu,
        0,
    )
    .await;
    let (p, r) = (
        RtpHeader::parse(&played[1]).unwrap(),
        RtpHeader::parse(&relayed[0]).unwrap(),
    );
    assert_eq!(r.ssrc(), p.ssrc());
    assert_eq!(r.sequence(), p.sequence().wrapping_add(1));
    assert!(r.marker(), "a new talkspurt");
    assert!(
        r.timestamp().wrapping_sub(p.timestamp()) >= 160,
        "time moves forward"
    );
}

#[tokio::test]
async fn garbage_payloads_are_counted_and_the_stream_goes_on() {
    let opus = (111, CodecKind::Opus);
    let c = call(22460..=22469, &[opus], None, &[PCMA], None).await;
    // a valid packet first, then junk that libopus refuses, then valid again
    let mut enc = Encoder::new(CodecKind::Opus).unwrap();
    let mut payload = Vec::new();
    enc.encode(&[0; 160], &mut payload).unwrap();
    c.a.send_to(&rtp(111, 0, 0, 0x5eed, &payload), c.ep_a.rtp)
        .await
        .unwrap();
    recv(&c.b).await;
    let mut junk = [0u8; 40];
    for (k, len) in [1usize, 3, 17, 40].into_iter().enumerate() {
        // a code-3 TOC byte announcing more frames than the packet holds, then noise
        junk[0] = 0xff;
        for (i, b) in junk[1..len].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(91).wrapping_add(k as u8);
        }
        let p = rtp(
            111,
            k as u16 + 1,
            960 * (k as u32 + 1),
            0x5eed,
            &junk[..len],
        );
        c.a.send_to(&p, c.ep_a.rtp).await.unwrap();
    }
    c.a.send_to(&rtp(111, 5, 960 * 5, 0x5eed, &payload), c.ep_a.rtp)
        .await
        .unwrap();
    // whatever the junk produced (nothing, or concealment), the valid packet comes out
    let deadline = std::time::Instant::now() + WAIT;
    while c.engine.stats(&c.id).unwrap().leg(Leg::A).packets_in < 6 {
        assert!(std::time::Instant::now() < deadline, "packets not seen");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let s = c.engine.stats(&c.id).unwrap();
    let a = s.leg(Leg::A);
    assert_eq!(
        a.transcoded + a.decode_errors,
        6,
        "every packet accounted for"
    );
    assert!(a.decode_errors >= 1 && a.transcoded >= 2);
    let p = recv(&c.b).await;
    assert_eq!(RtpHeader::parse(&p).unwrap().payload_type(), 8);
}
