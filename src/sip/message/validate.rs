//! Semantic checks an element makes before acting on a parsed message (RFC 3261 §8.1.1,
//! §8.2.1, §16.3, §20; RFC 4475 §3.1.2 and §3.3): the mandatory headers are present
//! exactly once and well-formed, scalars are in range, the CSeq method matches the
//! request line, and the Request-URI is usable. The first defect found is reported as an
//! [`Invalid`] naming it, ready to go into a 400 (or 416) reason phrase.
//!
//! Max-Forwards is checked when present but its absence is tolerated: RFC 2543 UAs omit
//! it (RFC 4475 §3.4) and a proxy inserts one (RFC 3261 §16.6 step 3).

use super::error::{Invalid, ParseError};
use super::header::HeaderName;
use super::msg::SipMessage;
use super::nameaddr::scan_name_addr;
use super::scan::{comma_items, scan_params, trim_ws};
use super::typed::{parse_scalar, CSeq, HasHeaders};
use super::uri::Scheme;
use super::via::scan_via;

fn bad(what: &str, e: ParseError) -> Invalid {
    Invalid::bad(format!("Bad {what}: {}", e.reason()))
}

/// Checks `msg`; `Ok(())` means a proxy or UAS may act on it. One pass over the header
/// lines: each line of a header this module knows is parsed once, then the counts of
/// the single-valued headers and the start line are checked.
pub fn validate(msg: &SipMessage) -> Result<(), Invalid> {
    let single = [
        HeaderName::FROM,
        HeaderName::TO,
        HeaderName::CALL_ID,
        HeaderName::CSEQ,
        HeaderName::MAX_FORWARDS,
        HeaderName::CONTENT_LENGTH,
        HeaderName::EXPIRES,
    ];
    let mut counts = [0usize; 7];
    let mut vias = 0;
    let mut cseq = None;
    for hdr in msg.headers().iter() {
        let name = &hdr.name;
        if let Some(i) = single.iter().position(|n| n == name) {
            counts[i] += 1;
            if counts[i] > 1 {
                return Err(Invalid::bad(format!("Multiple {name} headers")));
            }
        }
        if !is_checked(name) {
            continue;
        }
        let v = hdr
            .value_str()
            .ok_or_else(|| Invalid::bad(format!("Bad {name}: not UTF-8")))?;
        let what = name.as_str();
        if *name == HeaderName::VIA {
            vias += 1;
            for via in comma_items(v) {
                via.and_then(scan_via).map_err(|e| bad(what, e))?;
            }
        } else if *name == HeaderName::FROM || *name == HeaderName::TO {
            scan_name_addr(v).map_err(|e| bad(what, e))?;
        } else if *name == HeaderName::CALL_ID {
            check_call_id(v)?;
        } else if *name == HeaderName::CSEQ {
            cseq = Some(CSeq::parse(v).map_err(|e| bad(what, e))?);
        } else if *name == HeaderName::MAX_FORWARDS {
            parse_scalar::<u8>(v, "not 0-255").map_err(|e| bad(what, e))?;
        } else if *name == HeaderName::EXPIRES {
            parse_scalar::<u32>(v, "not a 32-bit delta-seconds").map_err(|e| bad(what, e))?;
        } else if *name == HeaderName::CONTACT {
            check_contact(msg, v)?;
        } else if *name == HeaderName::ROUTE || *name == HeaderName::RECORD_ROUTE {
            for r in comma_items(v) {
                r.and_then(scan_name_addr).map_err(|e| bad(what, e))?;
            }
        } else if *name == HeaderName::DATE {
            check_date(v)?;
        } else if *name == HeaderName::RETRY_AFTER {
            let delta = trim_ws(v).split([' ', '\t', '(', ';']).next().unwrap_or("");
            parse_scalar::<u32>(delta, "bad delta-seconds").map_err(|e| bad(what, e))?;
        } else if *name == HeaderName::WARNING {
            for w in comma_items(v) {
                let w = w.map_err(|e| bad(what, e))?;
                let code = w.split(' ').next().unwrap_or("");
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Invalid::bad("Bad Warning: warn-code is not 3 digits"));
                }
            }
        }
    }
    if vias == 0 {
        return Err(Invalid::bad("Missing Via header"));
    }
    for (i, name) in single.iter().enumerate().take(4) {
        if counts[i] == 0 {
            return Err(Invalid::bad(format!("Missing {name} header")));
        }
    }
    if let SipMessage::Request(req) = msg {
        if cseq.is_some_and(|c| c.method != req.method) {
            return Err(Invalid::bad("Bad CSeq: method does not match request line"));
        }
        match req.uri.scheme {
            Scheme::Sip | Scheme::Sips => {
                if !req.uri.headers.is_empty() {
                    return Err(Invalid::bad("Bad Request-URI: headers are not allowed"));
                }
            }
            Scheme::Tel => {}
            Scheme::Other(_) => {
                return Err(Invalid {
                    status: 416,
                    reason: "Unsupported URI Scheme".into(),
                })
            }
        }
    }
    Ok(())
}

/// Headers whose values [`validate`] parses.
fn is_checked(name: &HeaderName) -> bool {
    [
        HeaderName::VIA,
        HeaderName::FROM,
        HeaderName::TO,
        HeaderName::CALL_ID,
        HeaderName::CSEQ,
        HeaderName::MAX_FORWARDS,
        HeaderName::EXPIRES,
        HeaderName::CONTACT,
        HeaderName::ROUTE,
        HeaderName::RECORD_ROUTE,
        HeaderName::DATE,
        HeaderName::RETRY_AFTER,
        HeaderName::WARNING,
    ]
    .contains(name)
}

/// `callid = word [ "@" word ]` (RFC 3261 §25.1): visible ASCII, no LWS.
fn check_call_id(v: &str) -> Result<(), Invalid> {
    if v.is_empty() || v.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err(Invalid::bad("Bad Call-ID"));
    }
    Ok(())
}

/// `Contact: *` (alone, REGISTER only in practice) or name-addrs whose `expires` fits
/// 32 bits (RFC 4475 §3.1.2.4).
fn check_contact(msg: &SipMessage, v: &str) -> Result<(), Invalid> {
    if v == "*" {
        return if msg.headers().count(&HeaderName::CONTACT) == 1 {
            Ok(())
        } else {
            Err(Invalid::bad("Bad Contact: '*' mixed with addresses"))
        };
    }
    for c in comma_items(v) {
        let c = c.and_then(scan_name_addr).map_err(|e| bad("Contact", e))?;
        let mut expires = None;
        scan_params(c.params, |n, v| {
            if n.eq_ignore_ascii_case("expires") {
                expires = Some(v.unwrap_or(""));
            }
        })
        .map_err(|e| bad("Contact", e))?;
        if let Some(e) = expires {
            parse_scalar::<u32>(e, "bad expires parameter").map_err(|e| bad("Contact", e))?;
        }
    }
    Ok(())
}

/// RFC 3261 §25.1 `rfc1123-date`: `wkday "," SP 2DIGIT SP month SP 4DIGIT SP time SP "GMT"`.
fn check_date(d: &str) -> Result<(), Invalid> {
    let ok = (|| {
        let (wk, rest) = d.split_once(", ")?;
        let p: Vec<&str> = rest.split(' ').collect();
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let wkdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let time_ok = p.get(3)?.split(':').all(|t| digits(t, 2)) && p[3].len() == 8;
        (wkdays.contains(&wk)
            && p.len() == 5
            && digits(p[0], 2)
            && months.contains(&p[1])
            && digits(p[2], 4)
            && time_ok
            && p[4] == "GMT")
            .then_some(())
    })();
    ok.ok_or_else(|| Invalid::bad("Bad Date: not an RFC 1123 date in GMT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::sip::message::parse;

    const BASE: &str =
        "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n\
                        Call-ID: x@y\r\nCSeq: 1 INVITE\r\n";

    fn check(start: &str, extra: &str) -> Result<(), Invalid> {
        let text = format!("{start}\r\n{BASE}{extra}\r\n");
        validate(&parse(bytes::Bytes::from(text)).unwrap())
    }

    fn reason(start: &str, extra: &str) -> String {
        check(start, extra).unwrap_err().reason
    }

    #[test]
    fn accepts_minimal_and_tel() {
        assert_eq!(check("INVITE sip:u@h SIP/2.0", ""), Ok(()));
        assert_eq!(
            check("INVITE tel:+15551234567 SIP/2.0", "Max-Forwards: 70\r\n"),
            Ok(())
        );
        assert_eq!(check("SIP/2.0 180 Ringing", ""), Ok(()));
        assert_eq!(
            check("SIP/2.0 180 Ringing", "CSeq: 1 INVITE\r\n")
                .unwrap_err()
                .reason,
            "Multiple CSeq headers"
        );
    }

    #[test]
    fn names_the_defect() {
        let r = "INVITE sip:u@h SIP/2.0";
        assert_eq!(
            reason("BYE sip:u@h SIP/2.0", ""),
            "Bad CSeq: method does not match request line"
        );
        assert_eq!(
            reason(r, "Max-Forwards: 256\r\n"),
            "Bad Max-Forwards: not 0-255"
        );
        assert_eq!(
            reason(r, "Expires: 1\r\nExpires: 2\r\n"),
            "Multiple Expires headers"
        );
        assert_eq!(
            reason(r, "Contact: *\r\nContact: <sip:a@b>\r\n"),
            "Bad Contact: '*' mixed with addresses"
        );
        assert_eq!(
            reason(r, "Contact: <sip:a@b>;expires=4294967296\r\n"),
            "Bad Contact: bad expires parameter"
        );
        assert_eq!(
            reason(r, "Route: <sip:p;lr>,\r\n"),
            "Bad Route: empty element in comma-separated list"
        );
        assert_eq!(
            reason(r, "Warning: 1812 overture \"x\"\r\n"),
            "Bad Warning: warn-code is not 3 digits"
        );
        assert_eq!(
            reason(r, "Retry-After: 99999999999\r\n"),
            "Bad Retry-After: bad delta-seconds"
        );
        assert_eq!(
            reason("INVITE sip:u@h?Subject=x SIP/2.0", ""),
            "Bad Request-URI: headers are not allowed"
        );
        let text = "INVITE sip:u@h SIP/2.0\r\nFrom: <sip:a@b>\r\n\r\n";
        assert_eq!(
            validate(&parse(bytes::Bytes::from_static(text.as_bytes())).unwrap())
                .unwrap_err()
                .reason,
            "Missing Via header"
        );
        let e = check("OPTIONS urn:x SIP/2.0", "CSeq: 1 OPTIONS\r\n").unwrap_err();
        assert_eq!(e.reason, "Multiple CSeq headers");
        let text = format!(
            "OPTIONS urn:x SIP/2.0\r\n{}CSeq: 1 OPTIONS\r\n\r\n",
            BASE.replace("CSeq: 1 INVITE\r\n", "")
        );
        let e = validate(&parse(bytes::Bytes::from(text)).unwrap()).unwrap_err();
        assert_eq!(
            (e.status, e.reason.as_str()),
            (416, "Unsupported URI Scheme")
        );
    }

    #[test]
    fn dates() {
        assert!(check_date("Sat, 13 Nov 2010 23:29:00 GMT").is_ok());
        assert!(check_date("Fri, 01 Jan 2010 16:00:00 EST").is_err());
        assert!(check_date("Fri, 1 Jan 2010 16:00:00 GMT").is_err());
    }
}
