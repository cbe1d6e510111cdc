//! [`MediaEngine`]: the control side. A cheap `Clone` handle the B2BUA keeps; every
//! command is idempotent and keyed by (call, leg), returns at once, and never waits for
//! media. The call table is locked only for the duration of a command (never across an
//! `.await`), and the packet path never touches it.
//!
//! Typical use by the B2BUA (A calls B):
//! 1. INVITE from A: `offer(call, A, a_sdp_addr)` → A's endpoint (goes in the 200 to A);
//!    `offer(call, B, None)` → B's endpoint (goes in the INVITE to B).
//! 2. 200 from B: `answer(call, B, b_sdp_addr)`.
//! 3. re-INVITE (hold): `update(call, leg, addr, direction)`.
//! 4. BYE: `delete(call).await` — ports are back in the pool when it returns.
//!
//! Media applications (IVR, queues, the dialer) on top: [`MediaEngine::play`] /
//! [`MediaEngine::stop_play`] a [`FrameSource`] to a leg, [`MediaEngine::record_start`] /
//! [`MediaEngine::record_stop`] the call to a stereo WAV, [`MediaEngine::tap`] a leg's
//! decoded audio. Their outcomes come back as [`MediaEvent::PlayDone`] and
//! [`MediaEvent::RecordDone`] on the call's event channel. A call needs only the leg it
//! plays to: an IVR answers A itself and offers B later, if ever.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::audio::{AudioTap, FrameSource};
use super::codec::{CodecKind, Encoder};
use super::kernel::KernelForwarder;
use super::offload::OffloadShare;
use super::reactor::{Command, Reactor};
use super::record::Recorder;
use super::session::{CallShared, Control, Patch, Session, Timeouts};
use super::stats::CallMediaStats;
use super::{
    Leg, LocalEndpoint, MediaCallId, MediaConfig, MediaError, MediaEvent, PortPool, RemoteMedia,
};
use crate::sip::sdp::Direction;

/// Handle to the relay. Clone freely.
#[derive(Clone)]
pub struct MediaEngine {
    inner: Arc<Inner>,
}

struct Inner {
    config: MediaConfig,
    pool: Arc<PortPool>,
    calls: Mutex<HashMap<MediaCallId, CallEntry>>,
    epoch: Instant,
    /// The wall clock when `epoch` was taken.
    epoch_wall: std::time::SystemTime,
    /// The relay threads; a call lives on `reactors[key % len]`.
    reactors: Vec<Arc<Reactor>>,
    next_key: AtomicU64,
    /// The kernel fast path, when configured and the kernel took it.
    kernel: Option<Arc<KernelForwarder>>,
    kernel_clock: (Instant, u64),
}

struct CallEntry {
    /// The call's relay thread and its key there.
    reactor: Arc<Reactor>,
    key: u64,
    /// Told when the session is closed and its ports are back in the pool.
    closed: Option<oneshot::Sender<()>>,
    endpoints: [Option<LocalEndpoint>; 2],
    shared: Arc<CallShared>,
    events: Option<mpsc::Receiver<MediaEvent>>,
    /// For recorders' writer threads, which report [`MediaEvent::RecordDone`].
    events_tx: mpsc::Sender<MediaEvent>,
    /// Per leg, the codec (and payload type) a prompt starts in, as the SDP says.
    play_codecs: [Option<(u8, CodecKind)>; 2],
}

/// How a command treats a call or leg that does not exist yet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Create {
    CallAndLeg,
    Leg,
    Nothing,
}

impl CallEntry {
    fn control(&self, c: Control) -> Result<(), ()> {
        // the kernel stops forwarding now, not when the relay thread gets to the command
        self.shared.offload.unroute_all();
        self.reactor.send(Command::Control {
            key: self.key,
            control: c,
        })
    }
}

impl Drop for CallEntry {
    /// The call's session ends with its entry (delete, a failed first command, the engine's end).
    fn drop(&mut self) {
        let done = self.closed.take();
        let _ = self.reactor.send(Command::Close {
            key: self.key,
            done,
        });
    }
}

impl MediaEngine {
    /// Starts [`MediaConfig::relay_threads`] relay threads (at least one), which end when
    /// the last handle is dropped.
    pub fn new(config: MediaConfig) -> Result<Self, MediaError> {
        let pool = Arc::new(PortPool::new(config.local_ip, config.ports.clone())?);
        let reactors = (0..config.relay_threads.max(1))
            .map(|i| Reactor::spawn(format!("relay-{i}"), config.relay_coalesce, config.relay_io))
            .collect::<Result<Vec<_>, _>>()?;
        let kernel = match config.kernel_forwarding {
            false => None,
            true => match KernelForwarder::start(
                u32::from(config.ports.end() - config.ports.start()) + 1,
            ) {
                Ok(k) => {
                    tracing::info!(interfaces = ?k.interfaces(), "kernel forwarding on");
                    Some(Arc::new(k))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "kernel forwarding unavailable: relaying in userspace");
                    None
                }
            },
        };
        Ok(MediaEngine {
            inner: Arc::new(Inner {
                config,
                pool,
                calls: Mutex::new(HashMap::new()),
                epoch: Instant::now(),
                epoch_wall: std::time::SystemTime::now(),
                reactors,
                next_key: AtomicU64::new(0),
                kernel,
                kernel_clock: crate::media::kernel::anchor(),
            }),
        })
    }

    pub fn config(&self) -> &MediaConfig {
        &self.inner.config
    }

    /// The kernel fast path, if [`MediaConfig::kernel_forwarding`] asked for it and the
    /// kernel took the program.
    pub fn kernel_forwarding(&self) -> Option<&KernelForwarder> {
        self.inner.kernel.as_deref()
    }
    /// Free RTP/RTCP pairs in the pool.
    pub fn ports_available(&self) -> usize {
        self.inner.pool.available()
    }
    /// Calls with a media session.
    pub fn calls(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<MediaCallId, CallEntry>> {
        self.inner.calls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `leg`'s phone offered media at `remote` (or the leg is being prepared for an offer we
    /// will send it, `None`). Creates the call and allocates the leg's ports on first use;
    /// returns the leg's endpoint, the same one every time.
    pub fn offer(
        &self,
        call: &MediaCallId,
        leg: Leg,
        remote: Option<SocketAddr>,
    ) -> Result<LocalEndpoint, MediaError> {
        self.command(
            call,
            leg,
            Create::CallAndLeg,
            Patch {
                rtp: remote,
                ..Default::default()
            },
        )
    }

    /// As [`Self::offer`], with everything the SDP says (RTCP, rtcp-mux, direction, telephone-event).
    pub fn offer_media(
        &self,
        call: &MediaCallId,
        leg: Leg,
        media: RemoteMedia,
    ) -> Result<LocalEndpoint, MediaError> {
        self.command(
            call,
            leg,
            Create::CallAndLeg,
            Patch {
                media: Some(media),
                ..Default::default()
            },
        )
    }

    /// `leg`'s phone answered with media at `remote`. The call must exist (an offer came first).
    pub fn answer(
        &self,
        call: &MediaCallId,
        leg: Leg,
        remote: Option<SocketAddr>,
    ) -> Result<LocalEndpoint, MediaError> {
        self.command(
            call,
            leg,
            Create::Leg,
            Patch {
                rtp: remote,
                ..Default::default()
            },
        )
    }

    pub fn answer_media(
        &self,
        call: &MediaCallId,
        leg: Leg,
        media: RemoteMedia,
    ) -> Result<LocalEndpoint, MediaError> {
        self.command(
            call,
            leg,
            Create::Leg,
            Patch {
                media: Some(media),
                ..Default::default()
            },
        )
    }

    /// Re-INVITE / UPDATE from `leg`'s phone: new address (`None` keeps the old one) and the
    /// direction it wrote. sendonly/inactive stop media *to* that phone; recvonly/inactive
    /// stop media *from* it.
    pub fn update(
        &self,
        call: &MediaCallId,
        leg: Leg,
        remote: Option<SocketAddr>,
        direction: Direction,
    ) -> Result<(), MediaError> {
        self.command(
            call,
            leg,
            Create::Nothing,
            Patch {
                rtp: remote,
                direction: Some(direction),
                media: None,
            },
        )
        .map(|_| ())
    }

    pub fn update_media(
        &self,
        call: &MediaCallId,
        leg: Leg,
        media: RemoteMedia,
    ) -> Result<(), MediaError> {
        self.command(
            call,
            leg,
            Create::Nothing,
            Patch {
                media: Some(media),
                ..Default::default()
            },
        )
        .map(|_| ())
    }

    /// The leg's endpoint, if allocated.
    pub fn endpoint(&self, call: &MediaCallId, leg: Leg) -> Option<LocalEndpoint> {
        self.lock().get(call).and_then(|e| e.endpoints[leg.index()])
    }

    /// The call's DTMF/timeout events; `Some` once per call.
    pub fn take_events(&self, call: &MediaCallId) -> Option<mpsc::Receiver<MediaEvent>> {
        self.lock().get_mut(call).and_then(|e| e.events.take())
    }

    pub fn stats(&self, call: &MediaCallId) -> Option<CallMediaStats> {
        let shared = self.lock().get(call).map(|e| e.shared.clone())?;
        let epoch = self.inner.epoch;
        let mut legs = [
            shared.counters[0].snapshot(epoch),
            shared.counters[1].snapshot(epoch),
        ];
        if self.inner.kernel.is_some() {
            for i in 0..2 {
                let k = shared.offload.counts(i);
                legs[i].add_offloaded(&k, shared.offload.when(&k));
                legs[1 - i].packets_out += k.packets;
                legs[1 - i].bytes_out += k.bytes;
            }
        }
        Some(CallMediaStats { legs })
    }

    /// When RTP last arrived from either phone (the call's creation if never).
    pub fn idle_since(&self, call: &MediaCallId) -> Option<Instant> {
        let shared = self.lock().get(call).map(|e| e.shared.clone())?;
        let epoch = self.inner.epoch;
        let last = shared
            .counters
            .iter()
            .filter_map(|c| c.last_packet(epoch))
            .chain((0..2).filter_map(|i| shared.offload.last_packet(i)))
            .max();
        Some(last.unwrap_or(shared.created).max(shared.created))
    }

    /// Play `source` to `leg`'s phone, replacing what plays there; while it plays, the other
    /// leg's media to this phone is muted (counted as `dropped_muted`). When it ends by
    /// itself: [`MediaEvent::PlayDone`] `{leg, id, interrupted: false}`; when replaced,
    /// stopped or cut by the call's end: `interrupted: true`. Frames go out every 20 ms in
    /// the codec the phone uses; [`MediaError::UnsupportedCodec`] if its SDP names none the
    /// switch can encode.
    pub fn play(
        &self,
        call: &MediaCallId,
        leg: Leg,
        source: Box<dyn FrameSource>,
        id: u64,
    ) -> Result<(), MediaError> {
        let mut calls = self.lock();
        let entry = Self::leg_entry(&mut calls, call, leg)?;
        let unsupported = || MediaError::UnsupportedCodec(call.clone(), leg);
        let (pt, kind) = entry.play_codecs[leg.index()].ok_or_else(unsupported)?;
        let encoder = Encoder::new(kind).map_err(|_| unsupported())?;
        Self::send(
            entry,
            call,
            Control::Play {
                leg,
                id,
                source,
                encoder,
                pt,
            },
        )
    }

    /// Stop what plays to `leg` (PlayDone, interrupted); nothing if nothing plays.
    pub fn stop_play(&self, call: &MediaCallId, leg: Leg) -> Result<(), MediaError> {
        let mut calls = self.lock();
        let entry = Self::leg_entry(&mut calls, call, leg)?;
        Self::send(entry, call, Control::StopPlay { leg })
    }

    /// Record both directions to a stereo WAV at `path` (A left, B right; 8 kHz 16-bit),
    /// aligned in time, from now until [`Self::record_stop`] or the call's end. Replaces a
    /// recording already running (which is closed). The file is created and written by a
    /// thread of its own; [`MediaEvent::RecordDone`] says when it is complete.
    pub fn record_start(&self, call: &MediaCallId, path: &Path) -> Result<(), MediaError> {
        let events = {
            let mut calls = self.lock();
            let entry = calls
                .get_mut(call)
                .ok_or_else(|| MediaError::NoSuchCall(call.clone()))?;
            entry.events_tx.clone()
        };
        let recorder =
            Recorder::start(path, Instant::now(), events).map_err(MediaError::Recording)?;
        let mut calls = self.lock();
        let entry = calls
            .get_mut(call)
            .ok_or_else(|| MediaError::NoSuchCall(call.clone()))?;
        Self::send(entry, call, Control::RecordStart(recorder))
    }

    /// Stop the call's recording (idempotent); the file is complete at RecordDone.
    pub fn record_stop(&self, call: &MediaCallId) -> Result<(), MediaError> {
        let mut calls = self.lock();
        let entry = calls
            .get_mut(call)
            .ok_or_else(|| MediaError::NoSuchCall(call.clone()))?;
        Self::send(entry, call, Control::RecordStop)
    }

    /// Hand the decoded audio from `leg`'s phone to `tap`, frame by frame, until the call
    /// ends (answering-machine detection, in-band DTMF).
    pub fn tap(
        &self,
        call: &MediaCallId,
        leg: Leg,
        tap: Box<dyn AudioTap>,
    ) -> Result<(), MediaError> {
        let mut calls = self.lock();
        let entry = Self::leg_entry(&mut calls, call, leg)?;
        Self::send(entry, call, Control::Tap { leg, tap })
    }

    fn leg_entry<'a>(
        calls: &'a mut HashMap<MediaCallId, CallEntry>,
        call: &MediaCallId,
        leg: Leg,
    ) -> Result<&'a mut CallEntry, MediaError> {
        let entry = calls
            .get_mut(call)
            .ok_or_else(|| MediaError::NoSuchCall(call.clone()))?;
        match entry.endpoints[leg.index()] {
            Some(_) => Ok(entry),
            None => Err(MediaError::NoSuchLeg(call.clone(), leg)),
        }
    }

    fn send(entry: &CallEntry, call: &MediaCallId, c: Control) -> Result<(), MediaError> {
        entry
            .control(c)
            .map_err(|_| MediaError::NoSuchCall(call.clone()))
    }

    /// End the call's media; its ports are back in the pool when this returns. Idempotent:
    /// `false` if there was no such call.
    pub async fn delete(&self, call: &MediaCallId) -> bool {
        let Some(mut entry) = self.lock().remove(call) else {
            return false;
        };
        let (tx, rx) = oneshot::channel();
        entry.closed = Some(tx);
        // the relay thread releases the ports after closing the sockets, then says so
        drop(entry);
        let _ = rx.await;
        true
    }

    fn command(
        &self,
        call: &MediaCallId,
        leg: Leg,
        create: Create,
        patch: Patch,
    ) -> Result<LocalEndpoint, MediaError> {
        let mut calls = self.lock();
        let new_call = !calls.contains_key(call);
        if new_call {
            if create != Create::CallAndLeg {
                return Err(MediaError::NoSuchCall(call.clone()));
            }
            let entry = self.spawn_call()?;
            calls.insert(call.clone(), entry);
        }
        let result = self.command_on(calls.get_mut(call), call, leg, create, patch);
        if result.is_err() && new_call {
            // dropping the entry closes the session on its relay thread
            calls.remove(call);
        }
        result
    }

    fn command_on(
        &self,
        entry: Option<&mut CallEntry>,
        call: &MediaCallId,
        leg: Leg,
        create: Create,
        patch: Patch,
    ) -> Result<LocalEndpoint, MediaError> {
        let entry = entry.ok_or_else(|| MediaError::NoSuchCall(call.clone()))?;
        let endpoint = match entry.endpoints[leg.index()] {
            Some(ep) => ep,
            None if create == Create::Nothing => {
                return Err(MediaError::NoSuchLeg(call.clone(), leg))
            }
            None => {
                let (ep, add) = self.allocate_leg(leg)?;
                entry
                    .control(add)
                    .map_err(|_| MediaError::NoSuchCall(call.clone()))?;
                entry.endpoints[leg.index()] = Some(ep);
                entry.play_codecs[leg.index()] = Some((0, CodecKind::Pcmu));
                ep
            }
        };
        if let Some(m) = &patch.media {
            entry.play_codecs[leg.index()] =
                m.payload_type.zip(m.codec).or(m.codecs.first().copied());
        }
        entry
            .control(Control::Remote { leg, patch })
            .map_err(|_| MediaError::NoSuchCall(call.clone()))?;
        Ok(endpoint)
    }

    fn allocate_leg(&self, leg: Leg) -> Result<(LocalEndpoint, Control), MediaError> {
        let pool = &self.inner.pool;
        let pair = pool.allocate()?;
        let port = pair.port;
        let nonblocking = pair
            .rtp
            .set_nonblocking(true)
            .and_then(|()| pair.rtcp.set_nonblocking(true));
        if let Err(e) = nonblocking {
            pool.release(port);
            return Err(e.into());
        }
        let (rtp, rtcp) = (pair.rtp, pair.rtcp);
        let ip = self
            .inner
            .config
            .advertised_ip
            .unwrap_or(self.inner.config.local_ip);
        let at = |p: u16| match ip {
            std::net::IpAddr::V4(v4) => SocketAddr::V4(SocketAddrV4::new(v4, p)),
            std::net::IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, p, 0, 0)),
        };
        let ep = LocalEndpoint {
            rtp: at(port),
            rtcp: at(port + 1),
        };
        Ok((
            ep,
            Control::AddLeg {
                leg,
                port,
                rtp,
                rtcp,
            },
        ))
    }

    fn spawn_call(&self) -> Result<CallEntry, MediaError> {
        // the event channel and `delete` are tokio's: the B2BUA side runs on a runtime
        tokio::runtime::Handle::try_current().map_err(|_| MediaError::NoRuntime)?;
        let config = &self.inner.config;
        let offload = OffloadShare::new(self.inner.kernel.clone(), self.inner.kernel_clock);
        let shared = Arc::new(CallShared::new(
            self.inner.epoch,
            self.inner.epoch_wall,
            offload,
        ));
        let (events_tx, events) = mpsc::channel(config.event_capacity.max(1));
        let session = Session::new(
            shared.clone(),
            events_tx.clone(),
            self.inner.pool.clone(),
            config.relatch,
            Timeouts {
                media: config.media_timeout,
                hold: config.hold_timeout,
            },
        );
        let key = self.inner.next_key.fetch_add(1, Relaxed);
        let reactors = &self.inner.reactors;
        let reactor = reactors[(key % reactors.len() as u64) as usize].clone();
        reactor
            .send(Command::Open {
                key,
                session: Box::new(session),
            })
            .map_err(|()| MediaError::Socket(std::io::Error::other("relay thread gone")))?;
        Ok(CallEntry {
            reactor,
            key,
            closed: None,
            endpoints: [None, None],
            shared,
            events: Some(events),
            events_tx,
            play_codecs: [None, None],
        })
    }
}
