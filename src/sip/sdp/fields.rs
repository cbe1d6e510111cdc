//! The typed fields of an SDP body (RFC 4566 §5): `o=`, `c=`, `m=`, `a=`, the direction
//! attributes of RFC 3264 §6.1, `a=rtpmap` and `a=rtcp` (RFC 3605), with their parsers and
//! printers. Pure.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 4566 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: u64,
    pub nettype: String,
    pub addrtype: String,
    pub address: String,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.nettype,
            self.addrtype,
            self.address
        )
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 4566 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub nettype: String,
    pub addrtype: String,
    /// As written, possibly with `/ttl` or `/count` for multicast.
    pub address: String,
}

impl Connection {
    /// `IN IP4 a.b.c.d` or `IN IP6 …` for `ip`.
    pub fn from_ip(ip: IpAddr) -> Self {
        Connection {
            nettype: "IN".into(),
            addrtype: addrtype_of(ip).into(),
            address: ip.to_string(),
        }
    }
    /// The address without a multicast suffix; `None` for FQDNs.
    pub fn ip(&self) -> Option<IpAddr> {
        let base = self.address.split('/').next().unwrap_or("");
        base.parse().ok()
    }
    /// `0.0.0.0` (RFC 2543 hold, RFC 3264 §8.4) or `::`.
    pub fn is_null(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.nettype, self.addrtype, self.address)
    }
}

pub(super) fn addrtype_of(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` (RFC 4566 §5.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    pub media: String,
    pub port: u16,
    pub num_ports: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, …
    pub proto: String,
    pub formats: Vec<String>,
}

impl fmt::Display for MediaLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.media, self.port)?;
        if let Some(n) = self.num_ports {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.proto)?;
        for fmt_ in &self.formats {
            write!(f, " {fmt_}")?;
        }
        Ok(())
    }
}

/// `a=<name>[:<value>]`, kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    pub fn new(name: &str, value: Option<String>) -> Self {
        Attribute {
            name: name.into(),
            value,
        }
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}:{}", self.name, v),
            None => f.write_str(&self.name),
        }
    }
}

/// Media direction (RFC 3264 §5.1, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn from_attribute(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    /// The direction an answerer that is willing to do anything puts in its answer
    /// (RFC 3264 §6.1): sendonly ↔ recvonly, sendrecv and inactive stay.
    pub fn answer_to(offer: Direction) -> Direction {
        match offer {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }
    /// Does the party that wrote this direction send media?
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
    /// Does the party that wrote this direction want to receive media?
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]` (RFC 4566 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpMap<'a> {
    pub payload_type: u8,
    pub encoding: &'a str,
    pub clock_rate: u32,
    pub channels: Option<u16>,
}

impl<'a> RtpMap<'a> {
    pub(super) fn parse(value: &'a str) -> Option<Self> {
        let (pt, rest) = value.split_once(' ')?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next()?;
        let clock_rate = parts.next()?.parse().ok()?;
        let channels = match parts.next() {
            Some(c) => Some(c.parse().ok()?),
            None => None,
        };
        Some(RtpMap {
            payload_type: pt.parse().ok()?,
            encoding,
            clock_rate,
            channels,
        })
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpAttr {
    pub port: u16,
    pub address: Option<IpAddr>,
}

pub(super) fn parse_origin(v: &str) -> Option<Origin> {
    let f: Vec<&str> = v.split_ascii_whitespace().collect();
    let [username, session_id, version, nettype, addrtype, address] = f.as_slice() else {
        return None;
    };
    Some(Origin {
        username: (*username).into(),
        session_id: (*session_id).into(),
        session_version: version.parse().ok()?,
        nettype: (*nettype).into(),
        addrtype: (*addrtype).into(),
        address: (*address).into(),
    })
}

pub(super) fn parse_connection(v: &str) -> Option<Connection> {
    let f: Vec<&str> = v.split_ascii_whitespace().collect();
    let [nettype, addrtype, address] = f.as_slice() else {
        return None;
    };
    let base = address.split('/').next()?;
    let ok = match *addrtype {
        "IP4" => base.parse::<Ipv4Addr>().is_ok() || is_hostname(base),
        "IP6" => base.parse::<Ipv6Addr>().is_ok() || is_hostname(base),
        _ => false,
    };
    (*nettype == "IN" && ok).then(|| Connection {
        nettype: (*nettype).into(),
        addrtype: (*addrtype).into(),
        address: (*address).into(),
    })
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

pub(super) fn parse_media(v: &str) -> Option<MediaLine> {
    let mut f = v.split_ascii_whitespace();
    let media = f.next()?.to_owned();
    let port_field = f.next()?;
    let (port, num_ports) = match port_field.split_once('/') {
        Some((p, n)) => (p.parse().ok()?, Some(n.parse().ok()?)),
        None => (port_field.parse().ok()?, None),
    };
    let proto = f.next()?.to_owned();
    let formats: Vec<String> = f.map(str::to_owned).collect();
    if formats.is_empty() {
        return None;
    }
    Some(MediaLine {
        media,
        port,
        num_ports,
        proto,
        formats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_parses_channels_and_rejects_garbage() {
        let m = RtpMap::parse("111 opus/48000/2").unwrap();
        assert_eq!(
            (m.payload_type, m.encoding, m.clock_rate, m.channels),
            (111, "opus", 48000, Some(2))
        );
        assert!(RtpMap::parse("x PCMU/8000").is_none());
        assert!(RtpMap::parse("0 PCMU").is_none());
    }

    #[test]
    fn connection_accepts_multicast_suffix_and_hostnames() {
        let c = parse_connection("IN IP4 224.2.1.1/127").unwrap();
        assert_eq!(c.ip(), Some("224.2.1.1".parse().unwrap()));
        assert!(parse_connection("IN IP4 host.example.com")
            .unwrap()
            .ip()
            .is_none());
        assert!(parse_connection("IN IP4 1.2.3").is_none());
        assert!(parse_connection("IN IP7 1.2.3.4").is_none());
    }

    #[test]
    fn answer_direction_follows_rfc3264_6_1() {
        use Direction::*;
        assert_eq!(Direction::answer_to(SendOnly), RecvOnly);
        assert_eq!(Direction::answer_to(RecvOnly), SendOnly);
        assert_eq!(Direction::answer_to(SendRecv), SendRecv);
        assert_eq!(Direction::answer_to(Inactive), Inactive);
    }
}
