//! SIP transports (RFC 3261 §18): UDP sockets and TCP connections as thin tokio
//! drivers. Inbound bytes become [`Inbound`] messages on a channel (one datagram, or one
//! message framed by Content-Length on a stream); outbound bytes go through
//! [`Transports::send`], which picks the UDP socket of the right address family or the
//! connection to that peer (reusing it, or opening one). No call state lives here.

mod tcp;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use dashmap::DashMap;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use crate::config::Transport;
use crate::sip::layer::Peer;

/// Bytes that arrived from a peer.
#[derive(Debug)]
pub struct Inbound {
    pub data: Bytes,
    pub peer: Peer,
}

/// How many outbound messages may wait per TCP connection before we drop (the peer is
/// not reading; SIP retransmission or the peer's timeout handles the rest).
const TCP_QUEUE: usize = 1024;

/// Every bound socket and live connection.
#[derive(Clone)]
pub struct Transports {
    udp: Arc<Vec<Arc<UdpSocket>>>,
    tcp_conns: Arc<DashMap<SocketAddr, mpsc::Sender<Bytes>>>,
    inbound: mpsc::Sender<Inbound>,
}

/// Local addresses actually bound (ports resolved when 0 was asked for).
#[derive(Debug, Clone, Default)]
pub struct Bound {
    pub udp: Vec<SocketAddr>,
    pub tcp: Vec<SocketAddr>,
}

impl Transports {
    /// Binds every listen address and starts the receive tasks.
    pub async fn bind(
        listen: &[crate::config::Listen],
        inbound: mpsc::Sender<Inbound>,
    ) -> std::io::Result<(Transports, Bound)> {
        let mut bound = Bound::default();
        let mut udp = Vec::new();
        let mut listeners = Vec::new();
        for l in listen {
            match l.transport {
                Transport::Udp => {
                    let sock = udp::bind(l.addr)?;
                    bound.udp.push(sock.local_addr()?);
                    udp.push(Arc::new(sock));
                }
                Transport::Tcp => {
                    let listener = TcpListener::bind(l.addr).await?;
                    bound.tcp.push(listener.local_addr()?);
                    listeners.push(listener);
                }
            }
        }
        let t = Transports {
            udp: Arc::new(udp),
            tcp_conns: Arc::new(DashMap::new()),
            inbound,
        };
        for sock in t.udp.iter() {
            tokio::spawn(udp::receive(sock.clone(), t.inbound.clone()));
        }
        for listener in listeners {
            tokio::spawn(tcp::accept(listener, t.clone()));
        }
        Ok((t, bound))
    }

    /// Sends to a peer; never waits on the network (a full socket buffer or a dead
    /// connection drops the message: transactions retransmit).
    pub fn send(&self, peer: Peer, bytes: Bytes) {
        match peer.transport {
            Transport::Udp => {
                let sock = self
                    .udp
                    .iter()
                    .find(|s| {
                        s.local_addr()
                            .map(|a| a.is_ipv4() == peer.addr.is_ipv4())
                            .unwrap_or(false)
                    })
                    .or_else(|| self.udp.first());
                if let Some(sock) = sock {
                    if let Err(e) = sock.try_send_to(&bytes, peer.addr) {
                        if e.kind() == std::io::ErrorKind::WouldBlock {
                            let sock = sock.clone();
                            tokio::spawn(async move {
                                let _ = sock.send_to(&bytes, peer.addr).await;
                            });
                        } else {
                            tracing::debug!(%e, to = %peer.addr, "udp send failed");
                        }
                    }
                }
            }
            Transport::Tcp => tcp::send(self, peer.addr, bytes),
        }
    }
}
