//! SDP bodies (RFC 4566) and the offer/answer rules the switch needs (RFC 3264).
//!
//! Owns: parsing an SDP body into a [`SessionDescription`], printing it back, and the
//! handful of edits a media-anchoring B2BUA makes: [`SessionDescription::rewrite_for_relay`]
//! (connection address, `m=` port, `a=rtcp` of RFC 3605), [`SessionDescription::bump_version`]
//! (RFC 3264 §8: `sess-version` grows with every new offer) and direction changes for hold
//! (RFC 3264 §6.1 and §8.4).
//!
//! Printing is byte-exact for every line the switch does not touch: each line keeps its
//! original text until it is edited, lines keep their order, and the line ending seen
//! in the input (CRLF, or bare LF from sloppy senders) is reused. `a=` lines are kept as
//! raw `(name, Option<value>)` pairs; typed helpers (`rtpmap`, `fmtp`, `ptime`, `rtcp`,
//! `rtcp-mux`, the direction attributes, `telephone-event`) read them on demand.
//!
//! Why not the `sdp` crate of webrtc-rs: it re-renders every line from its model, so an
//! unknown or oddly spaced line from a phone does not come back byte for byte, and we want
//! a line number in every error (the switch answers 488 Not Acceptable Here).
//!
//! Pure: no IO, no clock.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

mod codecs;
mod fields;

pub use codecs::{CodecKind, FormatKind, RtpFormat, OPUS_FMTP};
use fields::{addrtype_of, parse_connection, parse_media, parse_origin};
pub use fields::{Attribute, Connection, Direction, MediaLine, Origin, RtcpAttr, RtpMap};

/// Why an SDP body was refused; the line number is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP line {line}: {reason}")]
    Syntax { line: usize, reason: SdpSyntax },
    #[error("SDP has no media description {0}")]
    NoSuchMedia(usize),
}

impl SdpError {
    /// The SIP status the switch answers with (RFC 3261 §21.4.26 for bad SDP).
    pub fn status_code(&self) -> u16 {
        match self {
            SdpError::Syntax { .. } => 488,
            SdpError::NoSuchMedia(_) => 500,
        }
    }
}

/// The reason part of [`SdpError::Syntax`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpSyntax {
    #[error("empty body")]
    Empty,
    #[error("not UTF-8")]
    NotUtf8,
    #[error("expected `<letter>=<value>`")]
    NotTypeValue,
    #[error("the first line must be v=0")]
    VersionFirst,
    #[error("unsupported protocol version {0:?}")]
    UnsupportedVersion(String),
    #[error("o= missing or not the second line")]
    MissingOrigin,
    #[error("o= needs 6 fields with a numeric sess-version")]
    BadOrigin,
    #[error("c= must be `IN IP4|IP6 <address>`")]
    BadConnection,
    #[error("m= must be `<media> <port>[/<n>] <proto> <fmt> ...`")]
    BadMedia,
    #[error("media description {0} has no connection address (c=)")]
    NoConnection(usize),
}

fn syntax(line: usize, reason: SdpSyntax) -> SdpError {
    SdpError::Syntax { line, reason }
}

/// A typed value with the text it was parsed from; the text is printed until the value is edited.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Kept<T> {
    value: T,
    raw: Option<String>,
}

impl<T: fmt::Display> Kept<T> {
    fn parsed(value: T, raw: &str) -> Self {
        Kept {
            value,
            raw: Some(raw.to_owned()),
        }
    }
    fn edited(value: T) -> Self {
        Kept { value, raw: None }
    }
    fn get_mut(&mut self) -> &mut T {
        self.raw = None;
        &mut self.value
    }
    fn print(&self, out: &mut String) {
        match &self.raw {
            Some(raw) => out.push_str(raw),
            None => out.push_str(&self.value.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Origin(Kept<Origin>),
    Connection(Kept<Connection>),
    Attribute(Kept<Attribute>),
    /// Any other line, verbatim (v, s, i, u, e, p, b, t, r, z, k).
    Other {
        kind: char,
        value: String,
    },
}

impl Line {
    fn print(&self, out: &mut String) {
        match self {
            Line::Origin(o) => {
                out.push_str("o=");
                o.print(out)
            }
            Line::Connection(c) => {
                out.push_str("c=");
                c.print(out)
            }
            Line::Attribute(a) => {
                out.push_str("a=");
                a.print(out)
            }
            Line::Other { kind, value } => {
                out.push(*kind);
                out.push('=');
                out.push_str(value)
            }
        }
    }
    fn attribute(&self) -> Option<&Attribute> {
        match self {
            Line::Attribute(a) => Some(&a.value),
            _ => None,
        }
    }
}

/// One `m=` section and the lines under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    m: Kept<MediaLine>,
    lines: Vec<Line>,
}

/// A whole SDP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    session: Vec<Line>,
    media: Vec<MediaDescription>,
    eol: &'static str,
    /// Line ending(s) after the last line, verbatim (some senders add a blank line).
    tail: String,
}

fn attributes_of(lines: &[Line]) -> impl Iterator<Item = &Attribute> {
    lines.iter().filter_map(Line::attribute)
}

fn direction_of(lines: &[Line]) -> Option<Direction> {
    attributes_of(lines)
        .filter(|a| a.value.is_none())
        .find_map(|a| Direction::from_attribute(&a.name))
}

fn connection_of(lines: &[Line]) -> Option<&Connection> {
    lines.iter().find_map(|l| match l {
        Line::Connection(c) => Some(&c.value),
        _ => None,
    })
}

impl MediaDescription {
    pub fn media_line(&self) -> &MediaLine {
        &self.m.value
    }
    /// Edit the `m=` line (it is re-printed from now on).
    pub fn media_line_mut(&mut self) -> &mut MediaLine {
        self.m.get_mut()
    }
    /// Media-level `c=`, if any.
    pub fn connection(&self) -> Option<&Connection> {
        connection_of(&self.lines)
    }
    /// All `a=` lines in order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        attributes_of(&self.lines)
    }
    /// The value of the first `a=<name>`: `Some(None)` for a flag attribute.
    pub fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes()
            .find(|a| a.name == name)
            .map(|a| a.value.as_deref())
    }
    pub fn rtpmaps(&self) -> impl Iterator<Item = RtpMap<'_>> {
        self.attributes()
            .filter(|a| a.name == "rtpmap")
            .filter_map(|a| a.value.as_deref().and_then(RtpMap::parse))
    }
    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap<'_>> {
        self.rtpmaps().find(|m| m.payload_type == payload_type)
    }
    /// The format parameters of `a=fmtp:<pt> <params>`.
    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.attributes()
            .filter(|a| a.name == "fmtp")
            .find_map(|a| {
                let (pt, params) = a.value.as_deref()?.split_once(' ')?;
                (pt.parse::<u8>().ok()? == payload_type).then_some(params.trim())
            })
    }
    /// `a=ptime` in milliseconds (may be fractional in the wild; we round down).
    pub fn ptime(&self) -> Option<u32> {
        let v = self.attribute("ptime")??;
        let int = v.split('.').next()?.trim();
        int.parse().ok()
    }
    pub fn rtcp(&self) -> Option<RtcpAttr> {
        let v = self.attribute("rtcp")??;
        let mut parts = v.split_ascii_whitespace();
        let port = parts.next()?.parse().ok()?;
        let address = match (parts.next(), parts.next(), parts.next()) {
            (Some(_net), Some(_ty), Some(addr)) => addr.parse().ok(),
            _ => None,
        };
        Some(RtcpAttr { port, address })
    }
    /// `a=rtcp-mux` (RFC 5761).
    pub fn rtcp_mux(&self) -> bool {
        self.attribute("rtcp-mux").is_some()
    }
    /// The `telephone-event` mapping (RFC 4733 §7), if offered.
    pub fn telephone_event(&self) -> Option<RtpMap<'_>> {
        self.rtpmaps()
            .find(|m| m.encoding.eq_ignore_ascii_case("telephone-event"))
    }
    /// The media-level direction attribute, if present.
    pub fn direction_attr(&self) -> Option<Direction> {
        direction_of(&self.lines)
    }
    /// Replace the value of the first `a=<name>` or append it; returns whether it replaced.
    pub fn set_attribute(&mut self, name: &str, value: Option<String>) -> bool {
        for line in &mut self.lines {
            if let Line::Attribute(a) = line {
                if a.value.name == name {
                    a.get_mut().value = value;
                    return true;
                }
            }
        }
        self.lines
            .push(Line::Attribute(Kept::edited(Attribute::new(name, value))));
        false
    }
    /// Remove every `a=<name>`.
    pub fn remove_attribute(&mut self, name: &str) {
        self.lines
            .retain(|l| l.attribute().is_none_or(|a| a.name != name));
    }
    fn set_connection(&mut self, c: Connection) {
        for line in &mut self.lines {
            if let Line::Connection(k) = line {
                *k.get_mut() = c;
                return;
            }
        }
        // RFC 4566 order: i= then c= — put it after any i= line.
        let at = self
            .lines
            .iter()
            .position(|l| !matches!(l, Line::Other { kind: 'i', .. }))
            .unwrap_or(self.lines.len());
        self.lines.insert(at, Line::Connection(Kept::edited(c)));
    }
}

impl SessionDescription {
    /// Parse an SDP body (RFC 4566 §5). Accepts CRLF or bare LF.
    pub fn parse(body: &[u8]) -> Result<Self, SdpError> {
        let text = std::str::from_utf8(body).map_err(|e| {
            let line = body[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            syntax(line, SdpSyntax::NotUtf8)
        })?;
        let eol = match text.find('\n') {
            Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        let content = text.trim_end_matches(['\r', '\n']);
        let tail = text[content.len()..].to_owned();
        if content.trim().is_empty() {
            return Err(syntax(1, SdpSyntax::Empty));
        }
        let mut session = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();
        let raw_lines: Vec<&str> = content.split('\n').collect();
        for (i, raw) in raw_lines.iter().enumerate() {
            let n = i + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let bytes = raw.as_bytes();
            if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_lowercase() {
                return Err(syntax(n, SdpSyntax::NotTypeValue));
            }
            let kind = bytes[0] as char;
            let value = &raw[2..];
            match (n, kind) {
                (1, 'v') if value == "0" => {}
                (1, 'v') => return Err(syntax(n, SdpSyntax::UnsupportedVersion(value.into()))),
                (1, _) => return Err(syntax(n, SdpSyntax::VersionFirst)),
                (2, 'o') => {}
                (2, _) => return Err(syntax(n, SdpSyntax::MissingOrigin)),
                _ => {}
            }
            let line = match kind {
                'o' if n == 2 => Line::Origin(Kept::parsed(
                    parse_origin(value).ok_or(syntax(n, SdpSyntax::BadOrigin))?,
                    value,
                )),
                'c' => Line::Connection(Kept::parsed(
                    parse_connection(value).ok_or(syntax(n, SdpSyntax::BadConnection))?,
                    value,
                )),
                'a' => {
                    let attr = match value.split_once(':') {
                        Some((name, v)) => Attribute::new(name, Some(v.into())),
                        None => Attribute::new(value, None),
                    };
                    Line::Attribute(Kept::parsed(attr, value))
                }
                'm' => {
                    let m = parse_media(value).ok_or(syntax(n, SdpSyntax::BadMedia))?;
                    media.push(MediaDescription {
                        m: Kept::parsed(m, value),
                        lines: Vec::new(),
                    });
                    continue;
                }
                _ => Line::Other {
                    kind,
                    value: value.into(),
                },
            };
            match media.last_mut() {
                Some(m) => m.lines.push(line),
                None => session.push(line),
            }
        }
        if raw_lines.len() < 2 {
            return Err(syntax(raw_lines.len() + 1, SdpSyntax::MissingOrigin));
        }
        let sdp = SessionDescription {
            session,
            media,
            eol,
            tail,
        };
        if connection_of(&sdp.session).is_none() {
            if let Some(i) = sdp.media.iter().position(|m| m.connection().is_none()) {
                return Err(syntax(raw_lines.len(), SdpSyntax::NoConnection(i)));
            }
        }
        Ok(sdp)
    }

    /// Print the body; untouched lines come back byte for byte.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    pub fn origin(&self) -> &Origin {
        self.session
            .iter()
            .find_map(|l| match l {
                Line::Origin(o) => Some(&o.value),
                _ => None,
            })
            .expect("parse guarantees an o= line")
    }

    /// Edit the `o=` line (it is re-printed from now on).
    pub fn origin_mut(&mut self) -> &mut Origin {
        self.session
            .iter_mut()
            .find_map(|l| match l {
                Line::Origin(o) => Some(o.get_mut()),
                _ => None,
            })
            .expect("parse guarantees an o= line")
    }

    /// Increase `sess-version` by one: required for each new offer in a session (RFC 3264 §8).
    pub fn bump_version(&mut self) {
        let o = self.origin_mut();
        o.session_version = o.session_version.wrapping_add(1);
    }

    /// The session-level `c=`.
    pub fn connection(&self) -> Option<&Connection> {
        connection_of(&self.session)
    }
    pub fn media(&self) -> &[MediaDescription] {
        &self.media
    }
    pub fn media_mut(&mut self, index: usize) -> Result<&mut MediaDescription, SdpError> {
        self.media
            .get_mut(index)
            .ok_or(SdpError::NoSuchMedia(index))
    }
    fn media_at(&self, index: usize) -> Result<&MediaDescription, SdpError> {
        self.media.get(index).ok_or(SdpError::NoSuchMedia(index))
    }

    /// The connection in effect for a media description (its own `c=`, else the session's).
    pub fn connection_for(&self, index: usize) -> Result<&Connection, SdpError> {
        let m = self.media_at(index)?;
        m.connection()
            .or_else(|| self.connection())
            .ok_or(SdpError::NoSuchMedia(index))
    }

    /// Where the party wants to receive RTP; `None` when disabled (port 0), on hold by
    /// null address, or not an IP address.
    pub fn remote_rtp(&self, index: usize) -> Result<Option<SocketAddr>, SdpError> {
        let m = self.media_at(index)?;
        let ip = self.connection_for(index)?.ip();
        Ok(match ip {
            Some(ip) if !ip.is_unspecified() && m.m.value.port != 0 => {
                Some(SocketAddr::new(ip, m.m.value.port))
            }
            _ => None,
        })
    }

    /// Where the party wants RTCP: `a=rtcp` (RFC 3605), the RTP address with `rtcp-mux`,
    /// else RTP port + 1 (RFC 3550 §11).
    pub fn remote_rtcp(&self, index: usize) -> Result<Option<SocketAddr>, SdpError> {
        let Some(rtp) = self.remote_rtp(index)? else {
            return Ok(None);
        };
        let m = self.media_at(index)?;
        Ok(Some(match m.rtcp() {
            _ if m.rtcp_mux() => rtp,
            Some(r) => SocketAddr::new(r.address.unwrap_or(rtp.ip()), r.port),
            None => SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1)),
        }))
    }

    /// The direction in effect: media attribute, else session attribute, else sendrecv
    /// (RFC 3264 §5.1). A null `c=` is a hold too, see [`Self::is_held`].
    pub fn direction(&self, index: usize) -> Result<Direction, SdpError> {
        let m = self.media_at(index)?;
        Ok(m.direction_attr()
            .or_else(|| direction_of(&self.session))
            .unwrap_or_default())
    }

    /// Hold in either style: sendonly/inactive or a `0.0.0.0` connection (RFC 3264 §8.4).
    pub fn is_held(&self, index: usize) -> Result<bool, SdpError> {
        Ok(!self.direction(index)?.receives() || self.connection_for(index)?.is_null())
    }

    /// Set the media-level direction attribute (replacing any in place).
    pub fn set_direction(&mut self, index: usize, dir: Direction) -> Result<(), SdpError> {
        let m = self.media_mut(index)?;
        let pos = m.lines.iter().position(|l| {
            l.attribute()
                .is_some_and(|a| a.value.is_none() && Direction::from_attribute(&a.name).is_some())
        });
        m.lines.retain(|l| {
            l.attribute()
                .is_none_or(|a| a.value.is_some() || Direction::from_attribute(&a.name).is_none())
        });
        let line = Line::Attribute(Kept::edited(Attribute::new(dir.as_str(), None)));
        match pos {
            Some(p) => m.lines.insert(p.min(m.lines.len()), line),
            None => m.lines.push(line),
        }
        Ok(())
    }

    /// Point media description `index` at the relay: its `c=`, `m=` port and `a=rtcp`.
    ///
    /// * A session-level `c=` is rewritten too (so the far end never learns the phone's
    ///   address); other media descriptions that relied on it get their own copy of the
    ///   old one first, so they keep meaning what they meant.
    /// * A null address (`0.0.0.0`, hold) stays null; a port of 0 (stream refused) stays 0.
    /// * `rtcp_port: None` removes `a=rtcp` (RTCP muxed or absent).
    ///
    /// Does not bump `o=`; call [`Self::bump_version`] once per new offer.
    pub fn rewrite_for_relay(
        &mut self,
        index: usize,
        addr: IpAddr,
        rtp_port: u16,
        rtcp_port: Option<u16>,
    ) -> Result<(), SdpError> {
        self.media_at(index)?;
        let new_c = |old: Option<&Connection>| {
            if old.is_some_and(Connection::is_null) {
                Connection::from_ip(null_of(addr))
            } else {
                Connection::from_ip(addr)
            }
        };
        if let Some(old) = self.connection().cloned() {
            for (i, m) in self.media.iter_mut().enumerate() {
                if i != index && m.connection().is_none() {
                    m.set_connection(old.clone());
                }
            }
            let c = new_c(Some(&old));
            for line in &mut self.session {
                if let Line::Connection(k) = line {
                    *k.get_mut() = c;
                    break;
                }
            }
        }
        let session_c = self.connection().cloned();
        let m = self.media_mut(index)?;
        let old = m.connection().cloned().or(session_c);
        if m.connection().is_some() || old.is_none() {
            m.set_connection(new_c(old.as_ref()));
        }
        if m.m.value.port != 0 {
            m.media_line_mut().port = rtp_port;
        }
        match rtcp_port {
            Some(p) => {
                let value = match m.rtcp().and_then(|r| r.address) {
                    Some(_) => format!("{p} IN {} {addr}", addrtype_of(addr)),
                    None => p.to_string(),
                };
                m.set_attribute("rtcp", Some(value));
            }
            None => m.remove_attribute("rtcp"),
        }
        Ok(())
    }
}

fn null_of(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(512);
        let mut first = true;
        let mut end = |out: &mut String| {
            if !first {
                out.push_str(self.eol);
            }
            first = false;
        };
        for line in &self.session {
            end(&mut out);
            line.print(&mut out);
        }
        for m in &self.media {
            end(&mut out);
            out.push_str("m=");
            m.m.print(&mut out);
            for line in &m.lines {
                end(&mut out);
                line.print(&mut out);
            }
        }
        out.push_str(&self.tail);
        f.write_str(&out)
    }
}
