//! RTP/RTCP port pairs from the configured range: RTP on an even port, RTCP on the next
//! odd one (RFC 3550 §11), both bound on the media IP. Ports come back to the end of the
//! free list on release, so a port just closed is reused last (late packets of the old call
//! then hit nobody). A port some other process holds is skipped and retried later.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::ops::RangeInclusive;
use std::sync::Mutex;

use super::MediaError;

/// A bound RTP/RTCP socket pair.
#[derive(Debug)]
pub struct PortPair {
    pub port: u16,
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
}

#[derive(Debug)]
pub struct PortPool {
    ip: IpAddr,
    capacity: usize,
    free: Mutex<VecDeque<u16>>,
}

impl PortPool {
    /// All even ports `p` with `p` and `p + 1` inside `range`.
    pub fn new(ip: IpAddr, range: RangeInclusive<u16>) -> Result<Self, MediaError> {
        let (lo, hi) = (*range.start(), *range.end());
        let first = lo.saturating_add(lo % 2);
        let free: VecDeque<u16> = (first..hi)
            .step_by(2)
            .filter(|p| p.checked_add(1).is_some_and(|q| q <= hi))
            .collect();
        if free.is_empty() {
            return Err(MediaError::EmptyPortRange { lo, hi });
        }
        Ok(PortPool {
            ip,
            capacity: free.len(),
            free: Mutex::new(free),
        })
    }

    pub fn local_ip(&self) -> IpAddr {
        self.ip
    }
    /// Pairs in the range.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// Pairs not allocated now.
    pub fn available(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<u16>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bind the next free pair (non-blocking sockets). Exhaustion → [`MediaError::PortsExhausted`] (503).
    pub fn allocate(&self) -> Result<PortPair, MediaError> {
        let mut free = self.lock();
        for _ in 0..free.len() {
            let Some(port) = free.pop_front() else { break };
            match self.bind(port) {
                Ok(pair) => return Ok(pair),
                Err(_) => free.push_back(port),
            }
        }
        Err(MediaError::PortsExhausted {
            capacity: self.capacity,
        })
    }

    fn bind(&self, port: u16) -> std::io::Result<PortPair> {
        let rtp = UdpSocket::bind(SocketAddr::new(self.ip, port))?;
        let rtcp = UdpSocket::bind(SocketAddr::new(self.ip, port + 1))?;
        rtp.set_nonblocking(true)?;
        rtcp.set_nonblocking(true)?;
        Ok(PortPair { port, rtp, rtcp })
    }

    /// Give a pair back (its sockets must be closed already).
    pub fn release(&self, port: u16) {
        let mut free = self.lock();
        debug_assert!(!free.contains(&port), "port {port} released twice");
        free.push_back(port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_pairs_inside_the_range() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(PortPool::new(ip, 40001..=40006).unwrap().capacity(), 2); // 40002, 40004
        assert_eq!(PortPool::new(ip, 40000..=40005).unwrap().capacity(), 3);
        assert!(matches!(
            PortPool::new(ip, 40001..=40002),
            Err(MediaError::EmptyPortRange { .. })
        ));
        assert!(PortPool::new(ip, 65534..=65535).is_ok());
    }

    #[test]
    fn allocate_until_exhausted_then_release() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let pool = PortPool::new(ip, 21000..=21003).unwrap();
        let a = pool.allocate().unwrap();
        let b = pool.allocate().unwrap();
        assert_eq!((a.port % 2, b.port % 2), (0, 0));
        assert_eq!(a.rtcp.local_addr().unwrap().port(), a.port + 1);
        assert!(matches!(
            pool.allocate(),
            Err(MediaError::PortsExhausted { capacity: 2 })
        ));
        let port = a.port;
        drop(a);
        pool.release(port);
        assert_eq!(pool.allocate().unwrap().port, port);
    }

    #[test]
    fn ports_held_by_others_are_skipped() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let _squatter = UdpSocket::bind("127.0.0.1:21101").unwrap();
        let pool = PortPool::new(ip, 21100..=21103).unwrap();
        assert_eq!(pool.allocate().unwrap().port, 21102);
        assert_eq!(
            pool.available(),
            1,
            "the busy pair stays in the pool for later"
        );
    }
}
