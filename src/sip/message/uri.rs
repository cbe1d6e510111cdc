//! URIs: `sip:`/`sips:` (RFC 3261 §19.1, §25.1 `SIP-URI`), `tel:` (RFC 3966, number and
//! parameters only) and any other `absoluteURI` kept opaque. Percent escapes stay raw:
//! the user part is compared and printed exactly as received.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use memchr::{memchr, memchr2, memchr3};

use super::error::{err, ParseError};
use super::scan::{find_param, write_params, Params};

/// A URI scheme; `Sip`, `Sips` and `Tel` are matched case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
    Tel,
    /// Any other scheme, as written.
    Other(String),
}

impl Scheme {
    pub fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The host part of a URI or Via `sent-by`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name as written (may be empty for `tel:` and opaque URIs).
    Domain(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl Host {
    /// Parses `hostname / IPv4address / IPv6reference` (the brackets are required for v6).
    pub fn parse(s: &str) -> Result<Host, ParseError> {
        scan_host(s).map(HostRef::to_host)
    }
}

/// A host as scanned, borrowing the domain name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HostRef<'a> {
    Domain(&'a str),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl HostRef<'_> {
    pub(crate) fn to_host(self) -> Host {
        match self {
            HostRef::Domain(d) => Host::Domain(d.to_owned()),
            HostRef::V4(a) => Host::V4(a),
            HostRef::V6(a) => Host::V6(a),
        }
    }
}

pub(crate) fn scan_host(s: &str) -> Result<HostRef<'_>, ParseError> {
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or(err("unterminated IPv6 reference"))?;
        return inner
            .parse()
            .map(HostRef::V6)
            .map_err(|_| err("bad IPv6 address"));
    }
    if s.is_empty() {
        return Err(err("empty host"));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        if let Ok(v4) = s.parse() {
            return Ok(HostRef::V4(v4));
        }
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        return Err(err("bad host name"));
    }
    Ok(HostRef::Domain(s))
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A parsed URI. For `tel:` the number is in `user` and `host` is `Domain("")`; for
/// other schemes everything after the colon is in `user`, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    pub scheme: Scheme,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
    pub headers: Vec<(String, String)>,
}

/// `user-unreserved` + `unreserved` + `%` (escapes are kept raw), RFC 3261 §25.1, plus
/// a raw `#`, which the grammar wants escaped but phones send when dialling `*97#`.
fn is_user_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()%&=+$,;?/#".contains(&b)
}

/// Characters allowed in URI parameters and headers (`paramchar`, `hnv-unreserved`).
fn is_param_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.!~*'()%[]/:&+$?".contains(&b)
}

/// A URI as scanned: every part validated, nothing allocated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UriParts<'a> {
    scheme: &'a str,
    kind: Kind,
    user: Option<&'a str>,
    password: Option<&'a str>,
    host: Option<HostRef<'a>>,
    port: Option<u16>,
    /// `*( ";" uri-parameter )`, leading `;` included.
    params: &'a str,
    /// After the `?`.
    headers: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sip,
    Sips,
    Tel,
    Other,
}

/// Validates an `addr-spec` / `Request-URI` without allocating.
pub(crate) fn scan_uri(s: &str) -> Result<UriParts<'_>, ParseError> {
    let colon = memchr(b':', s.as_bytes()).ok_or(err("URI without scheme"))?;
    let scheme = &s[..colon];
    let sb = scheme.as_bytes();
    if sb.is_empty()
        || !sb[0].is_ascii_alphabetic()
        || !sb
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return Err(err("bad URI scheme"));
    }
    let rest = &s[colon + 1..];
    if rest.is_empty()
        || rest
            .bytes()
            .any(|b| b <= b' ' || b == 0x7f || b == b'<' || b == b'>' || b == b'"')
    {
        return Err(err("bad character in URI"));
    }
    let kind = if scheme.eq_ignore_ascii_case("sip") {
        Kind::Sip
    } else if scheme.eq_ignore_ascii_case("sips") {
        Kind::Sips
    } else if scheme.eq_ignore_ascii_case("tel") {
        Kind::Tel
    } else {
        Kind::Other
    };
    let mut parts = UriParts {
        scheme,
        kind,
        user: Some(rest),
        password: None,
        host: None,
        port: None,
        params: "",
        headers: None,
    };
    match kind {
        Kind::Other => return Ok(parts),
        Kind::Tel => {
            let end = memchr2(b';', b'?', rest.as_bytes()).unwrap_or(rest.len());
            parts.user = Some(&rest[..end]);
            (parts.params, parts.headers) = scan_params_and_headers(&rest[end..])?;
            return Ok(parts);
        }
        Kind::Sip | Kind::Sips => {}
    }
    let (userinfo, hostpart) = match memchr(b'@', rest.as_bytes()) {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    parts.user = None;
    if let Some(ui) = userinfo {
        let (u, p) = match memchr(b':', ui.as_bytes()) {
            Some(c) => (&ui[..c], Some(&ui[c + 1..])),
            None => (ui, None),
        };
        if u.is_empty() || !u.bytes().all(is_user_byte) {
            return Err(err("bad URI user part"));
        }
        if p.is_some_and(|p| !p.bytes().all(is_user_byte)) {
            return Err(err("bad URI password"));
        }
        parts.user = Some(u);
        parts.password = p;
    }
    let hb = hostpart.as_bytes();
    let host_end = if hb.first() == Some(&b'[') {
        memchr(b']', hb).ok_or(err("unterminated IPv6 reference"))? + 1
    } else {
        memchr3(b':', b';', b'?', hb).unwrap_or(hb.len())
    };
    parts.host = Some(scan_host(&hostpart[..host_end])?);
    let mut i = host_end;
    if hb.get(i) == Some(&b':') {
        let ps = i + 1;
        i = ps;
        while i < hb.len() && hb[i].is_ascii_digit() {
            i += 1;
        }
        parts.port = Some(
            hostpart[ps..i]
                .parse::<u16>()
                .map_err(|_| err("bad URI port"))?,
        );
    }
    (parts.params, parts.headers) = scan_params_and_headers(&hostpart[i..])?;
    Ok(parts)
}

impl UriParts<'_> {
    pub(crate) fn to_uri(self) -> Uri {
        let scheme = match self.kind {
            Kind::Sip => Scheme::Sip,
            Kind::Sips => Scheme::Sips,
            Kind::Tel => Scheme::Tel,
            Kind::Other => Scheme::Other(self.scheme.to_owned()),
        };
        let mut params = Vec::new();
        if let Some(p) = self.params.strip_prefix(';') {
            for item in p.split(';') {
                let (n, v) = split_param(item);
                params.push((n.to_owned(), v.map(str::to_owned)));
            }
        }
        let mut headers = Vec::new();
        for item in self.headers.into_iter().flat_map(|h| h.split('&')) {
            let (n, v) = item.split_once('=').unwrap_or((item, ""));
            headers.push((n.to_owned(), v.to_owned()));
        }
        Uri {
            scheme,
            user: self.user.map(str::to_owned),
            password: self.password.map(str::to_owned),
            host: self
                .host
                .map_or(Host::Domain(String::new()), HostRef::to_host),
            port: self.port,
            params,
            headers,
        }
    }
}

fn split_param(item: &str) -> (&str, Option<&str>) {
    match memchr(b'=', item.as_bytes()) {
        Some(e) => (&item[..e], Some(&item[e + 1..])),
        None => (item, None),
    }
}

impl Uri {
    /// Parses an `addr-spec` / `Request-URI`. No whitespace is allowed anywhere.
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        scan_uri(s).map(UriParts::to_uri)
    }

    /// A URI parameter by name (case-insensitive): `Some(None)` when present without value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// `host[:port]` as it would be printed.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.to_string(),
        }
    }
}

/// Validates `*( ";" uri-parameter ) [ "?" header *( "&" header ) ]`, returning the
/// parameter part (leading `;` included) and the header part (after `?`).
fn scan_params_and_headers(s: &str) -> Result<(&str, Option<&str>), ParseError> {
    let (p, h) = match memchr(b'?', s.as_bytes()) {
        Some(q) => (&s[..q], Some(&s[q + 1..])),
        None => (s, None),
    };
    if !p.is_empty() {
        let list = p.strip_prefix(';').ok_or(err("junk after URI host"))?;
        for item in list.split(';') {
            let (n, v) = split_param(item);
            if n.is_empty()
                || !n.bytes().all(is_param_byte)
                || !v.unwrap_or("").bytes().all(is_param_byte)
            {
                return Err(err("bad URI parameter"));
            }
        }
    }
    if let Some(h) = h {
        for item in h.split('&') {
            let (n, v) = item.split_once('=').ok_or(err("URI header without '='"))?;
            if n.is_empty() || !n.bytes().all(is_param_byte) || !v.bytes().all(is_param_byte) {
                return Err(err("bad URI header"));
            }
        }
    }
    Ok((p, h))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        match self.scheme {
            Scheme::Other(_) => return f.write_str(self.user.as_deref().unwrap_or("")),
            Scheme::Tel => f.write_str(self.user.as_deref().unwrap_or(""))?,
            Scheme::Sip | Scheme::Sips => {
                if let Some(u) = &self.user {
                    f.write_str(u)?;
                    if let Some(p) = &self.password {
                        write!(f, ":{p}")?;
                    }
                    f.write_str("@")?;
                }
                write!(f, "{}", self.host)?;
                if let Some(p) = self.port {
                    write!(f, ":{p}")?;
                }
            }
        }
        write_params(f, &self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> Uri {
        let u = Uri::parse(s).unwrap();
        assert_eq!(u.to_string(), s, "round trip");
        u
    }

    #[test]
    fn sip_uri_parts() {
        let u = rt("sip:john.doe:secret@10.0.0.1:5060;transport=tcp;lr?Subject=hi&X=y");
        assert_eq!(u.scheme, Scheme::Sip);
        assert_eq!(u.user.as_deref(), Some("john.doe"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, Host::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(u.port, Some(5060));
        assert_eq!(u.param("TRANSPORT"), Some(Some("tcp")));
        assert_eq!(u.param("lr"), Some(None));
        assert_eq!(u.headers.len(), 2);
        assert_eq!(u.host_port(), "10.0.0.1:5060");
    }

    #[test]
    fn ipv6_semiuri_escapes_tel_and_opaque() {
        let u = rt("sips:[2001:db8::10]:5061");
        assert_eq!(u.host, Host::V6("2001:db8::10".parse().unwrap()));
        assert_eq!(u.host_port(), "[2001:db8::10]:5061");
        let u = rt("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(u.host, Host::Domain("example.com".into()));
        let u = rt("sip:%61lice%00@atlanta.com");
        assert_eq!(u.user.as_deref(), Some("%61lice%00"));
        let u = rt("tel:+1-972-555-2222;phone-context=example.com");
        assert_eq!(
            (u.scheme.clone(), u.user.as_deref()),
            (Scheme::Tel, Some("+1-972-555-2222"))
        );
        assert_eq!(u.host, Host::Domain(String::new()));
        let u = rt("soap.beep://192.0.2.103:3002");
        assert_eq!(u.scheme, Scheme::Other("soap.beep".into()));
        assert_eq!(Uri::parse("SIP:a@B.com").unwrap().scheme, Scheme::Sip);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "<sip:a@b>",
            "sip:a@b c",
            "sip:",
            "sip:a@",
            "sip:a@b:99999",
            "sip:a@[::1",
            "nocolon",
            "sip:a@b;",
            "1x:y",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }
}
