//! A bench-only "floor" relay for `media_load --floor`: one thread (`relay-floor`), two
//! sockets per call, level-triggered epoll, one `recvfrom` and one `sendto` per packet, no
//! latching, statistics, DTMF or hold. It is not a relay anyone should ship; it shows what
//! the kernel's loopback path costs per packet on this machine, so the gap between it and a
//! real relay is the part a relay's own design (task wake-ups, polling) adds.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Per call, where phone A and phone B must send.
pub type Entrances = Vec<(SocketAddr, SocketAddr)>;

/// Two non-blocking sockets per call on 127.0.0.1: socket 2i faces phone A of call i (its
/// packets go to B), socket 2i+1 faces phone B; and, per call, where A and B must send.
pub fn bind_pairs(
    phones: &[(SocketAddr, SocketAddr)],
) -> std::io::Result<(Vec<UdpSocket>, Entrances)> {
    let mut socks = Vec::with_capacity(phones.len() * 2);
    let mut dsts = Vec::with_capacity(phones.len());
    for _ in phones {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        dsts.push((a.local_addr()?, b.local_addr()?));
        socks.push(a);
        socks.push(b);
    }
    Ok((socks, dsts))
}

/// A level-triggered epoll set of `socks`, each socket's token its index; the caller closes it.
pub fn epoll_for(socks: &[UdpSocket]) -> std::io::Result<i32> {
    // SAFETY: plain syscalls on fds we own.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if ep < 0 {
        return Err(std::io::Error::last_os_error());
    }
    for (k, s) in socks.iter().enumerate() {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: k as u64,
        };
        if unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) } < 0 {
            let e = std::io::Error::last_os_error();
            unsafe { libc::close(ep) };
            return Err(e);
        }
    }
    Ok(ep)
}

pub struct FloorRelay {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FloorRelay {
    /// Relays for `phones` (phone A, phone B of each call); returns the relay and, per call,
    /// where phone A and phone B must send.
    pub fn start(
        phones: &[(SocketAddr, SocketAddr)],
    ) -> std::io::Result<(Self, Vec<(SocketAddr, SocketAddr)>)> {
        let (socks, dsts) = bind_pairs(phones)?;
        let targets: Vec<SocketAddr> = phones.iter().flat_map(|&(pa, pb)| [pb, pa]).collect();
        let ep = epoll_for(&socks)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_t = stop.clone();
        let thread = std::thread::Builder::new()
            .name("relay-floor".into())
            .spawn(move || {
                let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
                let mut buf = [0u8; 2048];
                while !stop_t.load(Relaxed) {
                    let n = unsafe {
                        libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 50)
                    };
                    for ev in events.iter().take(n.max(0) as usize) {
                        let k = { ev.u64 } as usize;
                        let Ok((len, _)) = socks[k].recv_from(&mut buf) else {
                            continue;
                        };
                        // out through the other socket of the pair, to the other phone
                        let _ = socks[k ^ 1].send_to(&buf[..len], targets[k]);
                    }
                }
                unsafe { libc::close(ep) };
            })?;
        Ok((
            FloorRelay {
                stop,
                thread: Some(thread),
            },
            dsts,
        ))
    }
}

impl Drop for FloorRelay {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
