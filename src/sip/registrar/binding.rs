//! Bindings and the REGISTER request as the registrar sees it (RFC 3261 §10.2, §10.3).

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

use super::aor::Aor;

/// The transport a REGISTER arrived on (Via `sent-protocol` transport names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Ws,
    Wss,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Connection-oriented: bindings die with the connection (see
    /// [`super::Registrar::remove_by_source`]).
    pub fn is_connection_oriented(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of UDP, TCP, TLS, WS, WSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport")]
pub struct UnknownTransport;

impl FromStr for Transport {
    type Err = UnknownTransport;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Transport::Udp,
            Transport::Tcp,
            Transport::Tls,
            Transport::Ws,
            Transport::Wss,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
        .ok_or(UnknownTransport)
    }
}

/// One Contact of a REGISTER.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactSpec {
    /// The Contact URI as sent (with or without angle brackets).
    pub uri: String,
    /// The Contact's `expires` parameter.
    pub expires_param: Option<u32>,
    /// The Contact's `q` parameter (0.0 ..= 1.0).
    pub q: Option<f32>,
    /// The other Contact parameters (`+sip.instance`, `reg-id`, …), names as sent.
    pub params: Vec<(String, Option<String>)>,
}

impl ContactSpec {
    /// A contact with no parameters.
    pub fn new(uri: impl Into<String>) -> Self {
        ContactSpec {
            uri: uri.into(),
            expires_param: None,
            q: None,
            params: Vec::new(),
        }
    }
}

/// The Contact header fields of a REGISTER.
#[derive(Debug, Clone, PartialEq)]
pub enum ContactSet {
    /// `Contact: *` (alone): remove every binding, only valid with `Expires: 0`.
    Star,
    /// The contacts; empty means a query for the current bindings.
    List(Vec<ContactSpec>),
}

/// A REGISTER, authenticated and reduced to what the location service needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterRequest {
    /// From the To header (§10.3 step 5).
    pub aor: Aor,
    pub call_id: String,
    pub cseq: u32,
    /// The Expires header.
    pub header_expires: Option<u32>,
    pub contacts: ContactSet,
    /// Where the REGISTER came from (after `received`/`rport`): requests go there.
    pub source: SocketAddr,
    pub transport: Transport,
}

/// One binding of an AOR to a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The Contact URI as sent.
    pub contact: String,
    /// Contact parameters other than `expires` and `q`.
    pub params: Vec<(String, Option<String>)>,
    /// Where the REGISTER came from: calls go there (NAT).
    pub source: SocketAddr,
    pub transport: Transport,
    pub call_id: String,
    pub cseq: u32,
    pub expires_at: Instant,
    pub q: Option<f32>,
}

impl Binding {
    /// Whole seconds left, rounded up (the `expires` to put in the 200's Contact).
    pub fn expires_in(&self, now: Instant) -> u32 {
        let left = self.expires_at.saturating_duration_since(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        u32::try_from(secs).unwrap_or(u32::MAX)
    }

    pub fn is_live(&self, now: Instant) -> bool {
        self.expires_at > now
    }

    /// The value of a Contact parameter (name case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.params, name)
    }

    /// The `Contact` header value for a 2xx to REGISTER: `<uri>;params;expires=N`.
    pub fn contact_header(&self, now: Instant) -> String {
        let mut s = String::with_capacity(self.contact.len() + 32);
        let uri = self.contact.trim();
        if uri.starts_with('<') {
            s.push_str(uri);
        } else {
            s.push('<');
            s.push_str(uri);
            s.push('>');
        }
        for (n, v) in &self.params {
            s.push(';');
            s.push_str(n);
            if let Some(v) = v {
                s.push('=');
                s.push_str(v);
            }
        }
        if let Some(q) = self.q {
            s.push_str(&format!(";q={q}"));
        }
        s.push_str(&format!(";expires={}", self.expires_in(now)));
        s
    }

    pub(crate) fn key(&self) -> BindingKey {
        BindingKey::of(&self.contact, &self.params)
    }
}

pub(crate) fn param<'a>(params: &'a [(String, Option<String>)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref().unwrap_or(""))
}

/// What identifies a binding within an AOR (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BindingKey {
    Instance { instance: String, reg_id: String },
    Uri(String),
}

impl BindingKey {
    pub(crate) fn of(uri: &str, params: &[(String, Option<String>)]) -> BindingKey {
        match param(params, "+sip.instance") {
            Some(inst) if !inst.trim_matches('"').is_empty() => BindingKey::Instance {
                instance: inst.trim_matches('"').to_ascii_lowercase(),
                reg_id: param(params, "reg-id").unwrap_or("").to_owned(),
            },
            _ => BindingKey::Uri(normalise_uri(uri)),
        }
    }
}

/// A comparison form of a SIP URI (RFC 3261 §19.1.4, simplified): scheme, host and
/// parameters lower-cased, parameters sorted, user part and headers kept as they are.
fn normalise_uri(uri: &str) -> String {
    let s = uri.trim();
    let s = s.strip_prefix('<').unwrap_or(s);
    let s = s.strip_suffix('>').unwrap_or(s);
    let (scheme, rest) = s.split_once(':').unwrap_or(("", s));
    let (main, headers) = rest.split_once('?').unwrap_or((rest, ""));
    let mut parts = main.split(';');
    let addr = parts.next().unwrap_or("");
    let addr = match addr.rsplit_once('@') {
        Some((user, host)) => format!("{user}@{}", host.to_ascii_lowercase()),
        None => addr.to_ascii_lowercase(),
    };
    let mut params: Vec<String> = parts
        .filter(|p| !p.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    params.sort_unstable();
    let mut out = scheme.to_ascii_lowercase();
    out.push(':');
    out.push_str(&addr);
    for p in params {
        out.push(';');
        out.push_str(&p);
    }
    if !headers.is_empty() {
        out.push('?');
        out.push_str(headers);
    }
    out
}

pub(crate) fn expires_at(now: Instant, secs: u32) -> Instant {
    now + Duration::from_secs(u64::from(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_comparison_form() {
        assert_eq!(
            normalise_uri("<SIP:Alice@PC33.Example.com;Transport=TCP;lr>"),
            normalise_uri("sip:Alice@pc33.example.com;lr;transport=tcp")
        );
        assert_ne!(
            normalise_uri("sip:alice@pc33.example.com"),
            normalise_uri("sip:Alice@pc33.example.com")
        );
        assert_ne!(normalise_uri("sip:a@h:5060"), normalise_uri("sip:a@h:5062"));
    }

    #[test]
    fn instance_identifies_regardless_of_uri() {
        let p = |reg: &str| {
            vec![
                (
                    "+sip.instance".to_owned(),
                    Some("\"<urn:uuid:ABC>\"".to_owned()),
                ),
                ("reg-id".to_owned(), Some(reg.to_owned())),
            ]
        };
        assert_eq!(
            BindingKey::of("sip:a@10.0.0.1", &p("1")),
            BindingKey::of("sip:a@192.0.2.7:4000", &p("1"))
        );
        assert_ne!(
            BindingKey::of("sip:a@10.0.0.1", &p("1")),
            BindingKey::of("sip:a@10.0.0.1", &p("2"))
        );
    }

    #[test]
    fn transport_names() {
        assert_eq!("wss".parse(), Ok(Transport::Wss));
        assert_eq!("Udp".parse(), Ok(Transport::Udp));
        assert!("sctp".parse::<Transport>().is_err());
        assert!(!Transport::Udp.is_connection_oriented());
        assert!(Transport::Ws.is_connection_oriented());
    }
}
