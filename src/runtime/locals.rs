//! How the switch names itself in Via and Contact: the bound address, or — when bound
//! to 0.0.0.0/:: — the address the OS would use to reach a public network (found by
//! `connect()` on a UDP socket, which sends nothing), falling back to loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use crate::b2bua::Locals;
use crate::config::Config;
use crate::sip::dialog::LocalContact;
use crate::sip::transport::Bound;

fn advertised_ip(bound: IpAddr) -> IpAddr {
    if !bound.is_unspecified() {
        return bound;
    }
    // TEST-NET-1 (RFC 5737): never routed, and connect() on UDP sends no packet.
    let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr());
    match probe {
        Ok(a) if !a.ip().is_unspecified() => a.ip(),
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

fn host_port(addr: SocketAddr) -> String {
    SocketAddr::new(advertised_ip(addr.ip()), addr.port()).to_string()
}

pub fn locals(_cfg: &Config, bound: &Bound) -> Locals {
    let udp = bound
        .udp
        .first()
        .or(bound.tcp.first())
        .copied()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 5060)));
    Locals {
        udp: LocalContact {
            transport: "UDP",
            host_port: host_port(udp),
        },
        tcp: bound.tcp.first().map(|a| LocalContact {
            transport: "TCP",
            host_port: host_port(*a),
        }),
    }
}

/// The address the relay binds and advertises: the one our SIP Contact names.
pub fn media_ip(locals: &Locals) -> IpAddr {
    locals
        .udp
        .host_port
        .parse::<SocketAddr>()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}
