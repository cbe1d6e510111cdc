//! The kernel fast path (`[media] kernel_forwarding`): plain pass-through RTP is rewritten
//! and forwarded by an eBPF program at the interfaces' TCX ingress, before the IP stack,
//! instead of going up to a relay thread and back down (rtpengine's kernel module does the
//! same with an iptables target). On a 2-core box the kernel's loopback UDP receive and send
//! are most of what relaying a packet costs (BENCHMARKS.md); here a relayed packet costs one
//! map lookup and a header rewrite.
//!
//! Userspace stays in charge: a relay thread offloads one direction of a call (packets from
//! one latched phone to the other) only after handling a packet of it itself, only while the
//! direction is a plain pass (same codec, no transcoding, no prompt, no recording or tap, not
//! on hold), and withdraws it on any change of the call. Everything else reaches the thread
//! as before: strangers (a miss), telephone events, comfort noise and muxed RTCP (another
//! payload type), IPv6, fragments. See `offload` for when, [`program`] for the code.
//!
//! Two maps, both keyed by [`FlowKey`]: `ROUTES` (how to rewrite; userspace writes it) and
//! `COUNTERS` (packets, bytes, time of the last one, sequence gaps, loss and SSRC changes;
//! only the program writes it while a route is in place, so userspace never races the
//! program's counts). The program is attached to
//! every interface present at start; the links close with the switch, crash included.
//! Needs root (CAP_BPF and CAP_NET_ADMIN) and Linux 6.6+ (TCX); without them the engine
//! logs why and relays in userspace.

mod bpf;
mod program;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) const ROUTES_VALUE: usize = 20;
pub(crate) const COUNTERS_VALUE: usize = 56;

/// One offloaded direction: packets from `phone` to our leg's `port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlowKey([u8; 8]);

impl FlowKey {
    pub(crate) fn new(phone: SocketAddrV4, port: u16) -> Self {
        let mut k = [0; 8];
        k[..4].copy_from_slice(&phone.ip().octets());
        k[4..6].copy_from_slice(&phone.port().to_be_bytes());
        k[6..].copy_from_slice(&port.to_be_bytes());
        FlowKey(k)
    }
}

/// Where an offloaded direction's packets go: out of our other leg's port (`from`) to the
/// other phone (`to`), for audio of payload type `pt` only; see [`KernelForwarder::route_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    pub from: SocketAddrV4,
    pub to: SocketAddrV4,
    pub pt: u8,
    egress: Egress,
}

/// How a rewritten packet leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Egress {
    /// `to` is an address of this host: up the stack to its socket.
    Local,
    /// Out of this interface (the one that has `from`).
    Interface(u32),
}

/// What the program counted for one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FlowCounters {
    pub packets: u64,
    /// RTP bytes (the UDP payload), as the relay threads count them.
    pub bytes: u64,
    /// `CLOCK_MONOTONIC` of the last packet, in ns (0: none).
    pub last_ns: u64,
    /// The sequence number and SSRC the kernel's count goes on from.
    pub last_seq: u16,
    pub ssrc: u32,
    /// Receiver statistics of the packets the kernel forwarded (RFC 3550 A.1/A.3, as
    /// `stats::Reception` keeps them): gaps in order, sequence numbers skipped less those
    /// that came late, SSRC changes.
    pub gaps: u64,
    pub lost: i64,
    pub ssrc_changes: u64,
}

impl FlowCounters {
    pub(crate) fn add(&mut self, o: &FlowCounters) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.gaps += o.gaps;
        self.lost += o.lost;
        self.ssrc_changes += o.ssrc_changes;
        if o.last_ns > self.last_ns {
            self.last_ns = o.last_ns;
            self.last_seq = o.last_seq;
            self.ssrc = o.ssrc;
        }
    }

    /// The last packet's arrival on `Instant`'s clock, through an [`anchor`] (the same
    /// anchor gives the same answer every time).
    pub(crate) fn last_packet(&self, anchor: (Instant, u64)) -> Option<Instant> {
        let (at, ns) = anchor;
        match self.last_ns {
            0 => None,
            t if t >= ns => Some(at + Duration::from_nanos(t - ns)),
            t => at.checked_sub(Duration::from_nanos(ns - t)),
        }
    }
}

/// An `Instant` and the kernel's `CLOCK_MONOTONIC` read together (`Instant` is that clock,
/// but opaque): converts the program's time stamps.
pub(crate) fn anchor() -> (Instant, u64) {
    (Instant::now(), monotonic_ns())
}

fn monotonic_ns() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to write; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// The loaded program, its maps and its attachments. Shared by the relay threads and the
/// control side (map operations are plain syscalls, safe from any thread).
pub struct KernelForwarder {
    routes: bpf::HashMap,
    counters: bpf::HashMap,
    /// Which interface has an address, as last looked up (`getifaddrs` is a netlink dump).
    interface_of: Mutex<HashMap<Ipv4Addr, Option<u32>>>,
    interfaces: Vec<String>,
    _links: Vec<OwnedFd>,
    _program: OwnedFd,
}

impl std::fmt::Debug for KernelForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelForwarder")
            .field("interfaces", &self.interfaces)
            .finish()
    }
}

impl KernelForwarder {
    /// Loads the program with room for `entries` offloaded directions and attaches it to
    /// every interface there is now. Fails if the kernel refuses the program or the
    /// loopback attachment; another interface that refuses is left out (logged).
    pub fn start(entries: u32) -> io::Result<Self> {
        if cfg!(target_endian = "big") {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "big-endian host",
            ));
        }
        let entries = entries.max(1);
        let routes = bpf::HashMap::create("sb_routes", 8, ROUTES_VALUE, entries)?;
        let counters = bpf::HashMap::create("sb_counters", 8, COUNTERS_VALUE, entries)?;
        let code = program::forwarder(routes.raw(), counters.raw());
        let prog = bpf::load_tcx_program("sb_rtp_forward", &code)?;
        let (mut links, mut interfaces) = (Vec::new(), Vec::new());
        for (index, name) in network_interfaces()? {
            match bpf::attach_tcx_ingress(&prog, index) {
                Ok(link) => {
                    links.push(link);
                    interfaces.push(name);
                }
                Err(e) if name == "lo" => return Err(e),
                Err(e) => {
                    tracing::warn!(interface = %name, error = %e, "kernel forwarding not attached")
                }
            }
        }
        Ok(KernelForwarder {
            routes,
            counters,
            interface_of: Mutex::new(HashMap::new()),
            interfaces,
            _links: links,
            _program: prog,
        })
    }

    /// The interfaces the program watches.
    pub fn interfaces(&self) -> &[String] {
        &self.interfaces
    }

    /// The route from `from` to `to`, if the kernel can take it: to an address of this host,
    /// or out of the interface that has `from`.
    pub(crate) fn route_for(&self, from: SocketAddrV4, to: SocketAddrV4, pt: u8) -> Option<Route> {
        let egress = match is_local(*to.ip()) {
            true => Egress::Local,
            false => {
                let mut known = self.interface_of.lock().unwrap_or_else(|e| e.into_inner());
                let index = *known
                    .entry(*from.ip())
                    .or_insert_with(|| interface_of(*from.ip()));
                Egress::Interface(index?)
            }
        };
        Some(Route {
            from,
            to,
            pt,
            egress,
        })
    }

    /// Offload `key`'s packets along `route` (replacing its route if it had one; its
    /// counters carry on from the packet the relay thread saw last, `seq` of `ssrc`).
    pub(crate) fn route(
        &self,
        key: &FlowKey,
        route: &Route,
        seq: u16,
        ssrc: u32,
    ) -> io::Result<()> {
        let mut r = [0u8; ROUTES_VALUE];
        r[0..4].copy_from_slice(&route.from.ip().octets());
        r[4..8].copy_from_slice(&route.to.ip().octets());
        r[8..10].copy_from_slice(&route.from.port().to_be_bytes());
        r[10..12].copy_from_slice(&route.to.port().to_be_bytes());
        r[12] = route.pt;
        match route.egress {
            Egress::Local => r[13] = program::ROUTE_LOCAL,
            Egress::Interface(index) => {
                r[program::ROUTE_IFINDEX..][..4].copy_from_slice(&index.to_ne_bytes())
            }
        }
        // no route, so the program does not write these counters now: read, seed, write
        let mut c = [0u8; COUNTERS_VALUE];
        self.counters.lookup(&key.0, &mut c)?;
        c[program::COUNT_SEQ..][..2].copy_from_slice(&seq.to_ne_bytes());
        c[program::COUNT_SSRC..][..4].copy_from_slice(&ssrc.to_be_bytes());
        self.counters.update(&key.0, &c, bpf::ANY)?;
        self.routes.update(&key.0, &r, bpf::ANY)
    }

    /// Stop offloading `key` (its packets reach the relay thread again); counters stay.
    pub(crate) fn unroute(&self, key: &FlowKey) {
        if let Err(e) = self.routes.delete(&key.0) {
            tracing::warn!(error = %e, "kernel route not removed");
        }
    }

    /// Route and counters gone (the call ended).
    pub(crate) fn forget(&self, key: &FlowKey) {
        self.unroute(key);
        if let Err(e) = self.counters.delete(&key.0) {
            tracing::warn!(error = %e, "kernel counters not removed");
        }
    }

    pub(crate) fn counters(&self, key: &FlowKey) -> FlowCounters {
        let mut v = [0u8; COUNTERS_VALUE];
        if !matches!(self.counters.lookup(&key.0, &mut v), Ok(true)) {
            return FlowCounters::default();
        }
        let u64_at = |at: usize| u64::from_ne_bytes(v[at..at + 8].try_into().expect("8 bytes"));
        use program::*;
        FlowCounters {
            packets: u64_at(COUNT_PACKETS),
            bytes: u64_at(COUNT_BYTES),
            last_ns: u64_at(COUNT_LAST_NS),
            last_seq: u16::from_ne_bytes([v[COUNT_SEQ], v[COUNT_SEQ + 1]]),
            ssrc: u32::from_be_bytes(v[COUNT_SSRC..][..4].try_into().expect("4 bytes")),
            gaps: u64_at(COUNT_GAPS),
            lost: u64_at(COUNT_LOST) as i64,
            ssrc_changes: u64_at(COUNT_SSRC_CHANGES),
        }
    }
}

/// The address the stack would send from to reach `to` from a socket bound to `bound`.
pub(crate) fn source_for(bound: IpAddr, to: SocketAddrV4) -> Option<Ipv4Addr> {
    match bound {
        IpAddr::V4(ip) if !ip.is_unspecified() => Some(ip),
        IpAddr::V4(_) => {
            let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
            probe.connect(to).ok()?;
            match probe.local_addr().ok()? {
                SocketAddr::V4(a) => Some(*a.ip()),
                SocketAddr::V6(_) => None,
            }
        }
        IpAddr::V6(_) => None,
    }
}

/// Whether `e`, from [`KernelForwarder::start`], is this machine's refusal rather than the
/// program's fault: no TCX hooks (Linux before 6.6), or no BPF for this process at all (not
/// root, a seccomp filter). A program the verifier rejects is not excused.
pub fn machine_refuses(e: &io::Error) -> bool {
    !kernel_has_tcx() || matches!(e.raw_os_error(), Some(libc::EPERM | libc::ENOSYS))
}

/// Whether the running kernel has TCX hooks (Linux 6.6).
fn kernel_has_tcx() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut v = release
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (v.next().unwrap_or(0), v.next().unwrap_or(0)) >= (6, 6)
}

/// The index of the interface that has `ip` (the one packets from `ip` leave by, in the
/// usual one-address-per-interface setup).
fn interface_of(ip: Ipv4Addr) -> Option<u32> {
    let mut found = None;
    // SAFETY: getifaddrs hands us a list we walk read-only and free once.
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut list) != 0 {
            return None;
        }
        let mut p = list;
        while !p.is_null() {
            let a = (*p).ifa_addr;
            if !a.is_null() && i32::from((*a).sa_family) == libc::AF_INET {
                let sin = &*(a as *const libc::sockaddr_in);
                if Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)) == ip {
                    let index = libc::if_nametoindex((*p).ifa_name);
                    if index != 0 {
                        found = Some(index);
                        break;
                    }
                }
            }
            p = (*p).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    found
}

/// An address of this host (the kernel lets us bind it).
fn is_local(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || UdpSocket::bind((ip, 0)).is_ok()
}

fn network_interfaces() -> io::Result<Vec<(u32, String)>> {
    // SAFETY: if_nameindex returns a list terminated by a zero entry, freed below.
    unsafe {
        let list = libc::if_nameindex();
        if list.is_null() {
            return Err(io::Error::last_os_error());
        }
        let mut out = Vec::new();
        let mut p = list;
        while (*p).if_index != 0 {
            let name = std::ffi::CStr::from_ptr((*p).if_name)
                .to_string_lossy()
                .into_owned();
            out.push(((*p).if_index, name));
            p = p.add(1);
        }
        libc::if_freenameindex(list);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_the_phone_and_our_port_as_the_packet_has_them() {
        let k = FlowKey::new("10.1.2.3:4000".parse().unwrap(), 20000);
        assert_eq!(k.0, [10, 1, 2, 3, 0x0f, 0xa0, 0x4e, 0x20]);
    }

    /// The verifier is the real test of the assembled program: it must load wherever the
    /// kernel lets us load programs at all.
    #[test]
    fn the_kernel_takes_the_program() {
        match KernelForwarder::start(16) {
            Ok(k) => assert!(k.interfaces().iter().any(|i| i == "lo")),
            Err(e) if machine_refuses(&e) => {
                eprintln!("SKIPPED: no BPF or no TCX here ({e})")
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn counters_add_up_and_keep_the_latest_packet() {
        let mut c = FlowCounters {
            packets: 2,
            bytes: 320,
            last_ns: 50,
            last_seq: 7,
            lost: 2,
            ..Default::default()
        };
        c.add(&FlowCounters {
            packets: 1,
            bytes: 160,
            last_ns: 40,
            last_seq: 3,
            lost: -1,
            ..Default::default()
        });
        assert_eq!(c.lost, 1);
        assert_eq!((c.packets, c.bytes, c.last_seq), (3, 480, 7));
    }
}
