//! Typed views of the headers every element needs (RFC 3261 §8.1.1, §20): parsed on
//! demand from the raw values by the [`HasHeaders`] accessors, shared by requests and
//! responses.

use std::fmt;

use super::error::{err, ParseError};
use super::header::{HeaderName, Headers};
use super::method::Method;
use super::nameaddr::NameAddr;
use super::scan::{comma_items, is_token, trim_ws};
use super::via::Via;

/// `CSeq: 4711 INVITE` (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    /// Parses `1*DIGIT LWS Method`; the number must be below 2**31 (RFC 3261 §8.1.1.5).
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        let s = trim_ws(s);
        let sp = s.find([' ', '\t']).ok_or(err("bad CSeq"))?;
        let (num, method) = (&s[..sp], trim_ws(&s[sp..]));
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) || !is_token(method) {
            return Err(err("bad CSeq"));
        }
        let seq: u32 = num.parse().map_err(|_| err("CSeq number too large"))?;
        if seq >= 1 << 31 {
            return Err(err("CSeq number too large"));
        }
        Ok(CSeq {
            seq,
            method: Method::parse(method),
        })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// The Contact header(s): `*` (REGISTER removal) or addresses with `expires`/`q` params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Star,
    Addrs(Vec<NameAddr>),
}

/// Parses a `1*DIGIT` scalar into `T`, rejecting signs, blanks and overflow.
pub(crate) fn parse_scalar<T: std::str::FromStr>(
    s: &str,
    what: &'static str,
) -> Result<T, ParseError> {
    let s = trim_ws(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(what));
    }
    s.parse().map_err(|_| err(what))
}

fn utf8<'a>(
    h: &'a Headers,
    name: &HeaderName,
    missing: &'static str,
) -> Result<Option<&'a str>, ParseError> {
    match h.get_bytes(name) {
        None => Ok(None),
        Some(v) => std::str::from_utf8(v).map(Some).map_err(|_| err(missing)),
    }
}

fn name_addr_list(h: &Headers, name: &HeaderName) -> Result<Vec<NameAddr>, ParseError> {
    let mut out = Vec::new();
    for line in h.get_all(name) {
        for v in comma_items(line) {
            out.push(NameAddr::parse(v?)?);
        }
    }
    Ok(out)
}

/// Typed accessors over a message's [`Headers`]; implemented by requests and responses.
pub trait HasHeaders {
    fn headers(&self) -> &Headers;
    fn headers_mut(&mut self) -> &mut Headers;

    /// Every Via, each line comma-split, top first.
    fn vias(&self) -> Result<Vec<Via>, ParseError> {
        let mut out = Vec::new();
        for line in self.headers().get_all(&HeaderName::VIA) {
            out.extend(Via::parse_list(line)?);
        }
        Ok(out)
    }

    /// The topmost Via (first value of the first line).
    fn top_via(&self) -> Result<Via, ParseError> {
        let line = utf8(self.headers(), &HeaderName::VIA, "bad Via")?.ok_or(err("missing Via"))?;
        comma_items(line)
            .next()
            .ok_or(err("missing Via"))?
            .and_then(Via::parse)
    }

    fn from(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse(
            utf8(self.headers(), &HeaderName::FROM, "bad From")?.ok_or(err("missing From"))?,
        )
    }

    fn to(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse(utf8(self.headers(), &HeaderName::TO, "bad To")?.ok_or(err("missing To"))?)
    }

    fn call_id(&self) -> Result<&str, ParseError> {
        let v = utf8(self.headers(), &HeaderName::CALL_ID, "bad Call-ID")?
            .ok_or(err("missing Call-ID"))?;
        if v.is_empty() || v.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return Err(err("bad Call-ID"));
        }
        Ok(v)
    }

    fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(
            utf8(self.headers(), &HeaderName::CSEQ, "bad CSeq")?.ok_or(err("missing CSeq"))?,
        )
    }

    /// Max-Forwards (0–255), `None` if absent.
    fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        utf8(
            self.headers(),
            &HeaderName::MAX_FORWARDS,
            "bad Max-Forwards",
        )?
        .map(|v| parse_scalar(v, "bad Max-Forwards"))
        .transpose()
    }

    /// All Contact lines, comma-split; `Star` for `*`.
    fn contacts(&self) -> Result<Option<Contact>, ParseError> {
        let h = self.headers();
        if !h.contains(&HeaderName::CONTACT) {
            return Ok(None);
        }
        let mut all_star = true;
        let mut any_star = false;
        for line in h.get_all(&HeaderName::CONTACT) {
            let star = line == "*";
            all_star &= star;
            any_star |= star;
        }
        if any_star {
            return if all_star && h.count(&HeaderName::CONTACT) == 1 {
                Ok(Some(Contact::Star))
            } else {
                Err(err("Contact '*' mixed with addresses"))
            };
        }
        Ok(Some(Contact::Addrs(name_addr_list(
            h,
            &HeaderName::CONTACT,
        )?)))
    }

    /// Expires (delta-seconds), `None` if absent.
    fn expires(&self) -> Result<Option<u32>, ParseError> {
        utf8(self.headers(), &HeaderName::EXPIRES, "bad Expires")?
            .map(|v| parse_scalar(v, "bad Expires"))
            .transpose()
    }

    /// Content-Length, `None` if absent.
    fn content_length(&self) -> Result<Option<usize>, ParseError> {
        utf8(
            self.headers(),
            &HeaderName::CONTENT_LENGTH,
            "bad Content-Length",
        )?
        .map(|v| parse_scalar(v, "bad Content-Length"))
        .transpose()
    }

    /// Route set, top first.
    fn routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        name_addr_list(self.headers(), &HeaderName::ROUTE)
    }

    fn record_routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        name_addr_list(self.headers(), &HeaderName::RECORD_ROUTE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq_grammar() {
        assert_eq!(
            CSeq::parse("  4711   INVITE ").unwrap(),
            CSeq {
                seq: 4711,
                method: Method::Invite
            }
        );
        assert_eq!(
            CSeq::parse("0 FOO").unwrap().method,
            Method::Other("FOO".into())
        );
        for bad in [
            "INVITE",
            "-1 INVITE",
            "36893488147419103232 INVITE",
            "2147483648 INVITE",
            "1 INV ITE",
            "1",
        ] {
            assert!(CSeq::parse(bad).is_err(), "{bad}");
        }
    }

    fn msg(headers: &str) -> crate::sip::message::SipMessage {
        let text = format!("REGISTER sip:example.com SIP/2.0\r\n{headers}\r\n");
        crate::sip::message::parse(bytes::Bytes::from(text)).unwrap()
    }

    #[test]
    fn accessors_over_several_lines() {
        let m = msg(
            "Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n\
                     v: SIP/2.0/TCP c;branch=z9hG4bK3\r\n\
                     Route: <sip:p1;lr>, <sip:p2;lr>\r\nRoute: <sip:p3;lr>\r\n\
                     Record-Route: <sip:rr@[2001:db8::1]:5080;lr>\r\n\
                     m: <sip:u@h1>;expires=60, \"U\" <sip:u@h2>;q=0.5\r\nContact: <sip:u@h3>\r\n\
                     Max-Forwards: 0\r\nExpires: 3600\r\n",
        );
        let branches: Vec<_> = m
            .vias()
            .unwrap()
            .iter()
            .map(|v| v.branch().unwrap().to_owned())
            .collect();
        assert_eq!(branches, ["z9hG4bK1", "z9hG4bK2", "z9hG4bK3"]);
        assert_eq!(m.top_via().unwrap().host.to_string(), "a");
        let routes: Vec<_> = m
            .routes()
            .unwrap()
            .iter()
            .map(|r| r.uri.host.to_string())
            .collect();
        assert_eq!(routes, ["p1", "p2", "p3"]);
        assert_eq!(
            m.record_routes().unwrap()[0].uri.host_port(),
            "[2001:db8::1]:5080"
        );
        let Some(Contact::Addrs(c)) = m.contacts().unwrap() else {
            panic!("contacts")
        };
        assert_eq!(c.len(), 3);
        assert_eq!(
            (
                c[0].param("expires"),
                c[1].display.as_deref(),
                c[1].param("q")
            ),
            (Some(Some("60")), Some("U"), Some(Some("0.5")))
        );
        assert_eq!(m.max_forwards().unwrap(), Some(0));
        assert_eq!(m.expires().unwrap(), Some(3600));
        assert_eq!(m.content_length().unwrap(), None);
        assert!(m.call_id().is_err());
        assert!(m.from().is_err());
    }

    #[test]
    fn contact_star() {
        assert_eq!(
            msg("Contact: *\r\n").contacts().unwrap(),
            Some(Contact::Star)
        );
        assert!(msg("Contact: *\r\nContact: <sip:a@b>\r\n")
            .contacts()
            .is_err());
        assert_eq!(msg("Expires: 0\r\n").contacts().unwrap(), None);
    }

    #[test]
    fn scalars() {
        assert_eq!(parse_scalar::<u8>("070", "x").unwrap(), 70);
        assert!(parse_scalar::<u8>("300", "x").is_err());
        assert!(parse_scalar::<u32>("10000000000000", "x").is_err());
        assert!(parse_scalar::<usize>("-999", "x").is_err());
        assert!(parse_scalar::<usize>("", "x").is_err());
    }
}
