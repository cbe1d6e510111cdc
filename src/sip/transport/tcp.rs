//! TCP (RFC 3261 §18.3): messages framed by Content-Length; one reader and one writer
//! task per connection; connections are indexed by the peer's address and reused for
//! requests and responses in both directions (RFC 3261 §18.2.2, RFC 5923 in spirit).

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{Inbound, Transports, TCP_QUEUE};
use crate::config::Transport;
use crate::sip::layer::Peer;
use crate::sip::message::{frame, skip_keepalive};

pub async fn accept(listener: TcpListener, t: Transports) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                start_connection(stream, addr, &t);
            }
            Err(e) => tracing::debug!(%e, "tcp accept failed"),
        }
    }
}

/// Queues bytes on the connection to `addr`, opening one if there is none.
pub fn send(t: &Transports, addr: SocketAddr, bytes: Bytes) {
    if let Some(tx) = t.tcp_conns.get(&addr) {
        if tx.try_send(bytes).is_ok() {
            return;
        }
        tracing::debug!(%addr, "tcp connection queue full or closed; dropping message");
        return;
    }
    let t = t.clone();
    tokio::spawn(async move {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let tx = start_connection(stream, addr, &t);
                let _ = tx.try_send(bytes);
            }
            Err(e) => tracing::debug!(%e, %addr, "tcp connect failed"),
        }
    });
}

fn start_connection(stream: TcpStream, addr: SocketAddr, t: &Transports) -> mpsc::Sender<Bytes> {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(TCP_QUEUE);
    t.tcp_conns.insert(addr, tx.clone());
    let conns = t.tcp_conns.clone();
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let inbound = t.inbound.clone();
    tokio::spawn(async move {
        let mut buf = BytesMut::with_capacity(8192);
        'conn: loop {
            match reader.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            loop {
                let skip = skip_keepalive(&buf);
                let _ = buf.split_to(skip);
                match frame(&buf) {
                    Ok(Some(n)) => {
                        let data = buf.split_to(n).freeze();
                        let msg = Inbound {
                            data,
                            peer: Peer {
                                transport: Transport::Tcp,
                                addr,
                            },
                        };
                        if inbound.send(msg).await.is_err() {
                            break 'conn;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        // A stream we cannot frame cannot be resynchronised: close it.
                        tracing::debug!(%e, %addr, "tcp framing error; closing");
                        break 'conn;
                    }
                }
            }
        }
        conns.remove(&addr);
    });
    tx
}
