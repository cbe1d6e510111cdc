//! Media anchoring: the RTP/RTCP relay of the switch.
//!
//! Owns the port pool, the per-call relay tasks and their counters. The object graph is
//! rtpengine's, cut to what a B2BUA needs: call → leg (one phone; [`Leg::A`] and [`Leg::B`])
//! → streams (RTP, RTCP) → the sink is the other leg. Each stream knows its advertised
//! address (from SDP), its learned address (latching, symmetric RTP behind NAT) and the
//! active one ([`latch`]).
//!
//! Control: the B2BUA drives a [`MediaEngine`] (a cheap `Clone` handle) through
//! idempotent commands keyed by call and leg — `offer`, `answer`, `update`, `delete`,
//! `stats`, and for media applications `play`/`stop_play` (a [`audio::FrameSource`], e.g.
//! a [`prompt::Prompt`] or a [`tone::Tone`], by name through a [`PromptLibrary`]), `record_start`/`record_stop` ([`record`]) and `tap` (an
//! [`audio::AudioTap`]). Commands never wait for media; media never waits for signalling:
//! commands go to the call's relay thread over a channel, counters are atomics the control
//! side reads, and events (DTMF, media timeout, play and recording done) come back on a
//! bounded per-call channel that drops (and counts) rather than blocks.
//!
//! Threads (`reactor`): [`MediaConfig::relay_threads`] relay threads, each a
//! level-triggered epoll loop owning its share of the calls (sharded by call); no async
//! runtime on the packet path. A round takes every ready socket of every call in one
//! `epoll_wait`, one datagram each; optionally, under load, the thread pauses
//! [`MediaConfig::relay_coalesce`] after small rounds so one wake-up serves many packets.
//! With [`RelayIo::IoUring`] (the default) a round's sends go out together in one
//! `io_uring_enter` (`outbox`).
//!
//! Hot path (`session`, per ready socket): receive into the thread's buffer →
//! parse the RTP header in place ([`rtp`], RFC 3550 §5.1) → check the source against the
//! latch → receiver statistics (RFC 3550 A.1/A.3/A.8, [`stats`]) → telephone-event
//! detection (RFC 4733, [`dtmf`]) → decode for taps and the recorder, if any listen → mute
//! if the switch plays to the other phone → direction check (hold, RFC 3264 §8.4) → codec
//! route: pass, payload-type remap in place, or transcode onto the other leg's own RTP
//! stream ([`codec`]) → send from the other leg's own socket, so each phone sees symmetric
//! ports. Beside it, on absolute 20 ms deadlines kept in the thread's timer heap, the
//! session paces prompts out and writes recording slots. No allocation per packet
//! (`tests/media_alloc.rs` and `tests/media_apps_alloc.rs` check it with a counting
//! allocator); a full socket buffer drops the packet (counted) instead of waiting; file IO
//! happens on a recorder's own thread.
//!
//! Kernel fast path (`kernel`, `offload`; [`MediaConfig::kernel_forwarding`], off by
//! default): once a relay thread has passed a direction's packet untouched, an eBPF program
//! at the interfaces' ingress rewrites and forwards that direction's next packets of the
//! same payload type itself; anything else (events, a stranger, a command to the call)
//! brings the direction back to the thread.
//!
//! Media timeout: once both legs have an address, RTP silence longer than
//! [`MediaConfig::media_timeout`] (or [`MediaConfig::hold_timeout`] while either side holds)
//! raises [`MediaEvent::Timeout`] once; the B2BUA decides whether to hang up.
//!
//! We parse RTP by hand rather than with the `rtp`/`webrtc` crates: a relay reads four
//! header fields and rewrites one byte, and those crates unmarshal into owned
//! `Bytes`/`Vec` (CSRCs, extensions, payload) per packet — an allocation we do not need.

pub mod audio;
pub mod codec;
pub mod dtmf;
pub mod goertzel;
pub mod latch;
mod leg;
pub mod port_pool;
pub mod record;
pub mod rtcp;
pub mod rtp;
mod session;
pub mod stats;
pub mod tone;
pub mod wav;

mod engine;
pub mod kernel;
mod listen;
mod offload;
mod outbound;
mod outbox;
mod play;
pub mod prompt;
pub mod prompt_library;
mod reactor;
mod transcoding;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

pub use dtmf::Dtmf;
pub use engine::MediaEngine;
pub use latch::RelatchPolicy;
pub use port_pool::PortPool;
pub use prompt_library::PromptLibrary;
pub use record::repair_recordings;
pub use stats::{CallMediaStats, LegStats};

use crate::sip::sdp::{CodecKind, Direction, SdpError, SessionDescription};

/// Errors of the media layer; each knows the SIP status the switch answers with.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("no free RTP port pair ({capacity} in the range)")]
    PortsExhausted { capacity: usize },
    #[error("port range {lo}-{hi} holds no even RTP/RTCP pair")]
    EmptyPortRange { lo: u16, hi: u16 },
    #[error("no media session for call {0}")]
    NoSuchCall(MediaCallId),
    #[error("call {0} has no leg {1:?}")]
    NoSuchLeg(MediaCallId, Leg),
    #[error("no such prompt: {0}")]
    NoSuchPrompt(String),
    #[error("the relay cannot {0} yet")]
    NotSupported(&'static str),
    #[error("media commands need a tokio runtime")]
    NoRuntime,
    #[error("socket setup failed: {0}")]
    Socket(#[from] std::io::Error),
    #[error("call {0} leg {1:?}: no codec we can encode was negotiated")]
    UnsupportedCodec(MediaCallId, Leg),
    #[error("recording could not start: {0}")]
    Recording(#[source] std::io::Error),
    #[error("prompt: {0}")]
    BadPrompt(#[from] prompt::PromptError),
}

impl MediaError {
    pub fn status_code(&self) -> u16 {
        match self {
            MediaError::PortsExhausted { .. } => 503,
            // the phone's SDP offers nothing the switch can play in (RFC 3261 §21.4.26)
            MediaError::UnsupportedCodec(..) => 488,
            _ => 500,
        }
    }
}

/// The key of a media session (the B2BUA's call id; opaque here).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaCallId(pub String);

impl From<&str> for MediaCallId {
    fn from(s: &str) -> Self {
        MediaCallId(s.to_owned())
    }
}

impl From<String> for MediaCallId {
    fn from(s: String) -> Self {
        MediaCallId(s)
    }
}

impl fmt::Display for MediaCallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One side of a call. Media from one leg goes to the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leg {
    A,
    B,
}

impl Leg {
    pub fn index(self) -> usize {
        match self {
            Leg::A => 0,
            Leg::B => 1,
        }
    }
    pub fn peer(self) -> Leg {
        match self {
            Leg::A => Leg::B,
            Leg::B => Leg::A,
        }
    }
    pub(crate) fn from_index(i: usize) -> Leg {
        if i == 0 {
            Leg::A
        } else {
            Leg::B
        }
    }
}

/// Where a leg's phone must send: put these in the SDP sent *to that phone*.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalEndpoint {
    pub rtp: SocketAddr,
    pub rtcp: SocketAddr,
}

/// What a phone's SDP says about one media stream, as the relay needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteMedia {
    /// `None`: unknown yet or on hold with 0.0.0.0 — keep what was known.
    pub rtp: Option<SocketAddr>,
    /// `None`: RTP port + 1 (or the RTP address with `rtcp_mux`).
    pub rtcp: Option<SocketAddr>,
    pub rtcp_mux: bool,
    /// As written by this phone.
    pub direction: Direction,
    /// This phone's telephone-event payload type (DTMF detection and PT remapping).
    pub telephone_event: Option<u8>,
    pub telephone_event_rate: u32,
    /// Clock rate of the main codec (jitter in ms).
    pub clock_rate: u32,
    /// The main codec: the m-line's first payload type (the phone's preference, RFC 3264
    /// §5.1; in an answer, the one in use); `None` if the switch cannot code it.
    pub codec: Option<CodecKind>,
    /// That first payload type.
    pub payload_type: Option<u8>,
    /// Every format of the m-line the switch can code, in SDP order (dynamic payload types
    /// such as Opus need it; the static 0 and 8 are known without it).
    pub codecs: Vec<(u8, CodecKind)>,
}

impl Default for RemoteMedia {
    fn default() -> Self {
        RemoteMedia {
            rtp: None,
            rtcp: None,
            rtcp_mux: false,
            direction: Direction::SendRecv,
            telephone_event: None,
            telephone_event_rate: 8000,
            clock_rate: 8000,
            // the RTP/AVP default a phone that told us nothing can receive
            codec: Some(CodecKind::Pcmu),
            payload_type: Some(0),
            codecs: Vec::new(),
        }
    }
}

impl RemoteMedia {
    pub fn rtp(addr: Option<SocketAddr>) -> Self {
        RemoteMedia {
            rtp: addr,
            ..Default::default()
        }
    }

    /// The codec of payload type `pt` as this phone uses it.
    pub fn codec_of(&self, pt: u8) -> Option<CodecKind> {
        self.codecs
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|&(_, k)| k)
            .or_else(|| CodecKind::from_static_pt(pt))
    }

    /// Read media description `index` of a phone's SDP. A null connection address (old-style
    /// hold) comes out as `rtp: None` with a direction that does not receive.
    pub fn from_sdp(sdp: &SessionDescription, index: usize) -> Result<Self, SdpError> {
        let m = sdp.media().get(index).ok_or(SdpError::NoSuchMedia(index))?;
        let pts = || {
            m.media_line()
                .formats
                .iter()
                .filter_map(|f| f.parse::<u8>().ok())
        };
        let first_pt = pts().next();
        let kind = |pt: u8| match m.rtpmap(pt) {
            Some(r) => CodecKind::from_encoding(r.encoding, r.clock_rate),
            None => CodecKind::from_static_pt(pt),
        };
        let codecs: Vec<(u8, CodecKind)> = pts().filter_map(|pt| Some((pt, kind(pt)?))).collect();
        let clock_rate = first_pt
            .and_then(|pt| {
                m.rtpmap(pt)
                    .map(|r| r.clock_rate)
                    .or_else(|| static_clock_rate(pt))
            })
            .unwrap_or(8000);
        // Several telephone-event mappings (Linphone offers 48000, 16000 and 8000): the one
        // at the audio codec's rate is the one in use (RFC 4733 §2.1), else the first.
        let te = m
            .rtpmaps()
            .filter(|r| r.encoding.eq_ignore_ascii_case("telephone-event"))
            .find(|r| r.clock_rate == clock_rate)
            .or_else(|| m.telephone_event());
        // RFC 3264 §8.4: a null c= (RFC 2543 hold) means "do not send to me"
        let mut direction = sdp.direction(index)?;
        if sdp.connection_for(index)?.is_null() {
            direction = match direction {
                Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
                Direction::RecvOnly | Direction::Inactive => Direction::Inactive,
            };
        }
        Ok(RemoteMedia {
            rtp: sdp.remote_rtp(index)?,
            rtcp: sdp.remote_rtcp(index)?,
            rtcp_mux: m.rtcp_mux(),
            direction,
            telephone_event: te.map(|t| t.payload_type),
            telephone_event_rate: te.map_or(8000, |t| t.clock_rate),
            clock_rate,
            codec: first_pt.and_then(kind),
            payload_type: first_pt,
            codecs,
        })
    }
}

/// RFC 3551 §6 static payload types' clock rates.
fn static_clock_rate(pt: u8) -> Option<u32> {
    match pt {
        0..=8 | 12 | 13 | 15 | 18 => Some(8000),
        9 => Some(8000), // G.722: 8000 in SDP by historical error (RFC 3551 §4.5.2)
        10 | 11 => Some(44100),
        14 | 25 | 26 | 28 | 31..=34 => Some(90000),
        _ => None,
    }
}

/// Something the B2BUA should hear about, on the call's event channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MediaEvent {
    /// A completed RFC 4733 event from `leg`'s phone.
    Dtmf { leg: Leg, dtmf: Dtmf },
    /// No RTP from either phone for `idle`: the media limit in conversation, the hold limit
    /// on hold (once per silence).
    Timeout { idle: Duration },
    /// What [`MediaEngine::play`] started on `leg` has ended: by itself
    /// (`interrupted: false`), or replaced, stopped or cut by the call's end (`true`).
    PlayDone {
        leg: Leg,
        id: u64,
        interrupted: bool,
    },
    /// A recording's file is complete and closed: `frames` 20 ms stereo frames written,
    /// `dropped` slots lost to a slow disk; `failed` if the file could not be written.
    RecordDone {
        frames: u64,
        dropped: u64,
        failed: bool,
    },
    /// A call-progress listener on `leg` (special information tone, answering machine,
    /// voicemail beep) found what it listens for.
    Detected { leg: Leg, what: Detection },
}

/// What a call-progress listener found in a leg's audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    /// A special information tone: the number is not in service, or the network failed.
    Sit,
    /// Answering-machine detection's verdict on the greeting.
    Amd(crate::dialer::amd::AmdVerdict),
    /// A voicemail beep (`at_ms` from the listener's start).
    Beep { at_ms: u32 },
}

/// Engine settings (from `switchboard.toml`'s media section).
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Address the sockets bind to.
    pub local_ip: IpAddr,
    /// Address put in SDP, when different (behind 1:1 NAT); default `local_ip`.
    pub advertised_ip: Option<IpAddr>,
    /// RTP/RTCP port range. Keep it outside the kernel's ephemeral range
    /// (`net.ipv4.ip_local_port_range`, 32768–60999 by default): ports other sockets hold
    /// are skipped, so overlap only shrinks the pool, but it does shrink it.
    pub ports: RangeInclusive<u16>,
    /// RTP silence (both directions, not on hold, both legs answered) that raises [`MediaEvent::Timeout`].
    pub media_timeout: Duration,
    /// The same while either side holds (sendonly/inactive/recvonly); `None`: no limit on hold.
    pub hold_timeout: Option<Duration>,
    pub relatch: RelatchPolicy,
    /// Capacity of each call's event channel.
    pub event_capacity: usize,
    /// Relay threads (each its own epoll loop; calls are spread over them); at least one.
    pub relay_threads: usize,
    /// Under load (10 000 packets/s or more on a relay thread), how long the thread waits
    /// after a small round before looking again, so one wake-up collects many packets; a
    /// packet waits at most this much longer. Zero (the default): never wait. Off by
    /// default until measured on an idle machine: on a CPU-starved one (BENCHMARKS.md) the
    /// runs with 200 µs lost more packets than without.
    pub relay_coalesce: Duration,
    /// How relay threads send: a round's datagrams in one `io_uring_enter` (the default;
    /// `sendto` where io_uring is refused) or one `sendto` each.
    pub relay_io: RelayIo,
    /// Let the kernel forward plain pass-through RTP (an eBPF program at the interfaces'
    /// ingress, [`kernel`]); off by default. Where the kernel refuses (not root, Linux
    /// before 6.6), the engine logs why and relays in userspace.
    pub kernel_forwarding: bool,
}

/// How a relay thread sends its datagrams (it always receives on epoll with `recvfrom`).
/// Idle 2-core box, BENCHMARKS.md "io_uring sends": the same CPU per packet, p99 added
/// latency at 1,000–1,500 calls a half to a fifth of `sendto`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayIo {
    /// `sendto` per datagram.
    Epoll,
    /// Queued and sent once per loop round through io_uring; falls back to `sendto` when the
    /// kernel refuses io_uring.
    IoUring,
}

impl MediaConfig {
    pub fn new(local_ip: IpAddr, ports: RangeInclusive<u16>) -> Self {
        MediaConfig {
            local_ip,
            advertised_ip: None,
            ports,
            media_timeout: Duration::from_secs(60),
            hold_timeout: Some(Duration::from_secs(3600)),
            relatch: RelatchPolicy::default(),
            event_capacity: 64,
            relay_threads: 1,
            relay_coalesce: Duration::ZERO,
            relay_io: RelayIo::IoUring,
            kernel_forwarding: false,
        }
    }
}
