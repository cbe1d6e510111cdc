//! UDP: one receive task per socket; large socket buffers absorb bursts at high call
//! rates (the default 208 KiB drops INVITEs under load, as Kamailio's `maxbuffer` shows).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::Inbound;
use crate::config::Transport;
use crate::sip::layer::Peer;

const SOCKET_BUFFER: usize = 8 * 1024 * 1024;
/// Largest datagram we accept (RFC 3261 §18.1.1 allows up to 65 535).
const MAX_DATAGRAM: usize = 65_535;

pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let std = std::net::UdpSocket::bind(addr)?;
    std.set_nonblocking(true)?;
    let sock = UdpSocket::from_std(std)?;
    let sref = socket2::SockRef::from(&sock);
    let _ = sref.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = sref.set_send_buffer_size(SOCKET_BUFFER);
    Ok(sock)
}

pub async fn receive(sock: Arc<UdpSocket>, inbound: mpsc::Sender<Inbound>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, addr)) => {
                if n == 0 || buf[..n].iter().all(|b| b.is_ascii_whitespace()) {
                    continue; // keep-alive (RFC 5626 §3.5.1 CRLF) or empty
                }
                let msg = Inbound {
                    data: Bytes::copy_from_slice(&buf[..n]),
                    peer: Peer {
                        transport: Transport::Udp,
                        addr,
                    },
                };
                if inbound.send(msg).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // ICMP port unreachable surfaces as ECONNREFUSED on some systems: ignore.
                tracing::trace!(%e, "udp recv error");
            }
        }
    }
}
