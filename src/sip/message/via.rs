//! The Via header (RFC 3261 §20.42, §25.1 `via-parm`) with the RFC 3581 `rport` and the
//! §18.2.1 `received` parameters. LWS is allowed inside `SIP / 2.0 / UDP` and around
//! `:`, `;` and `=`; unknown transports are kept.

use std::fmt;

use super::error::{err, ParseError};
use super::scan::{
    comma_items, find_param, is_token_byte, parse_params, scan_params, set_param, skip_ws,
    write_params, Params,
};
use super::uri::{scan_host, Host, HostRef};

/// One `via-parm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Upper-case transport: UDP, TCP, TLS, WS, WSS, SCTP or any other token.
    pub transport: String,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
}

fn token(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < b.len() && is_token_byte(b[j]) {
        j += 1;
    }
    j
}

/// A via-parm as scanned: validated, nothing allocated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ViaParts<'a> {
    transport: &'a str,
    host: HostRef<'a>,
    port: Option<u16>,
    /// From the first `;`.
    pub(crate) params: &'a str,
}

/// Validates one `via-parm` without allocating.
pub(crate) fn scan_via(s: &str) -> Result<ViaParts<'_>, ParseError> {
    let b = s.as_bytes();
    let mut i = skip_ws(b, 0);
    let mut parts = [""; 3];
    for (k, part) in parts.iter_mut().enumerate() {
        if k > 0 {
            i = skip_ws(b, i);
            if b.get(i) != Some(&b'/') {
                return Err(err("bad Via sent-protocol"));
            }
            i = skip_ws(b, i + 1);
        }
        let e = token(b, i);
        if e == i {
            return Err(err("bad Via sent-protocol"));
        }
        *part = &s[i..e];
        i = e;
    }
    if !parts[0].eq_ignore_ascii_case("SIP") || parts[1] != "2.0" {
        return Err(err("Via protocol is not SIP/2.0"));
    }
    let hs = skip_ws(b, i);
    if hs == i {
        return Err(err("missing LWS before Via sent-by"));
    }
    i = hs;
    let he = if b.get(i) == Some(&b'[') {
        memchr::memchr(b']', &b[i..]).ok_or(err("unterminated IPv6 reference"))? + i + 1
    } else {
        let mut j = i;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b"-._".contains(&b[j])) {
            j += 1;
        }
        j
    };
    let host = scan_host(&s[i..he])?;
    i = skip_ws(b, he);
    let mut port = None;
    if b.get(i) == Some(&b':') {
        let ps = skip_ws(b, i + 1);
        let mut pe = ps;
        while pe < b.len() && b[pe].is_ascii_digit() {
            pe += 1;
        }
        port = Some(s[ps..pe].parse::<u16>().map_err(|_| err("bad Via port"))?);
        i = pe;
    }
    let params = &s[i..];
    scan_params(params, |_, _| {})?;
    Ok(ViaParts {
        transport: parts[2],
        host,
        port,
        params,
    })
}

impl Via {
    /// Parses a Via header value: one or more comma-separated `via-parm`s.
    pub fn parse_list(s: &str) -> Result<Vec<Via>, ParseError> {
        comma_items(s).map(|v| v.and_then(Via::parse)).collect()
    }

    /// Parses a single `via-parm`.
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        let p = scan_via(s)?;
        Ok(Via {
            transport: p.transport.to_ascii_uppercase(),
            host: p.host.to_host(),
            port: p.port,
            params: parse_params(p.params)?,
        })
    }

    /// The `branch` parameter (transaction id, RFC 3261 §17.2.3).
    pub fn branch(&self) -> Option<&str> {
        find_param(&self.params, "branch").flatten()
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        find_param(&self.params, "received").flatten()
    }

    /// The RFC 3581 `rport`: `Some(None)` when present without a (numeric) value.
    pub fn rport(&self) -> Option<Option<u16>> {
        find_param(&self.params, "rport").map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// Sets or adds a parameter (e.g. `received`, `rport`), keeping its position.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        set_param(&mut self.params, name, value);
    }

    /// `host[:port]` of the sent-by.
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.to_string(),
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lws_everywhere_and_lists() {
        let v = Via::parse_list("SIP / 2.0 / udp 192.0.2.2 : 5060 ; branch = z9hG4bK1 ;rport, SIP/2.0/TCP [2001:db8::9]:5061;received=192.0.2.1")
            .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].transport, "UDP");
        assert_eq!(v[0].port, Some(5060));
        assert_eq!(v[0].branch(), Some("z9hG4bK1"));
        assert_eq!(v[0].rport(), Some(None));
        assert_eq!(v[1].host, Host::V6("2001:db8::9".parse().unwrap()));
        assert_eq!(v[1].received(), Some("192.0.2.1"));
        assert_eq!(v[1].rport(), None);
    }

    #[test]
    fn set_param_and_display() {
        let mut v = Via::parse("SIP/2.0/UNKNOWN host.example;branch=z9hG4bKa;rport").unwrap();
        v.set_param("rport", Some("5062"));
        v.set_param("received", Some("10.0.0.1"));
        assert_eq!(v.rport(), Some(Some(5062)));
        let s = v.to_string();
        assert_eq!(
            s,
            "SIP/2.0/UNKNOWN host.example;branch=z9hG4bKa;rport=5062;received=10.0.0.1"
        );
        assert_eq!(Via::parse(&s).unwrap(), v);
    }

    #[test]
    fn rejects_bad_vias() {
        for bad in [
            "SIP/2.0 host",
            "SIP/3.0/UDP h",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP h:99999",
            "SIP/2.0/UDPh",
            "SIP/2.0/UDP h;branch=a,",
        ] {
            assert!(Via::parse_list(bad).is_err(), "{bad}");
        }
    }
}
