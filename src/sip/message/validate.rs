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
use super::scan::{split_commas, trim_ws};
use super::typed::{parse_scalar, Contact, HasHeaders};
use super::uri::Scheme;

fn bad(what: &str, e: ParseError) -> Invalid {
    Invalid::bad(format!("Bad {what}: {}", e.reason()))
}

fn exactly_one(msg: &SipMessage, name: &HeaderName) -> Result<(), Invalid> {
    match msg.headers().count(name) {
        0 => Err(Invalid::bad(format!("Missing {name} header"))),
        1 => Ok(()),
        _ => Err(Invalid::bad(format!("Multiple {name} headers"))),
    }
}

/// Checks `msg`; `Ok(())` means a proxy or UAS may act on it.
pub fn validate(msg: &SipMessage) -> Result<(), Invalid> {
    let h = msg.headers();
    if !h.contains(&HeaderName::VIA) {
        return Err(Invalid::bad("Missing Via header"));
    }
    msg.vias().map_err(|e| bad("Via", e))?;
    for name in [
        HeaderName::FROM,
        HeaderName::TO,
        HeaderName::CALL_ID,
        HeaderName::CSEQ,
    ] {
        exactly_one(msg, &name)?;
    }
    msg.from().map_err(|e| bad("From", e))?;
    msg.to().map_err(|e| bad("To", e))?;
    msg.call_id().map_err(|e| bad("Call-ID", e))?;
    let cseq = msg.cseq().map_err(|e| bad("CSeq", e))?;
    if h.count(&HeaderName::CONTENT_LENGTH) > 1 {
        return Err(Invalid::bad("Multiple Content-Length headers"));
    }
    if h.count(&HeaderName::MAX_FORWARDS) > 1 {
        return Err(Invalid::bad("Multiple Max-Forwards headers"));
    }
    msg.max_forwards().map_err(|e| bad("Max-Forwards", e))?;
    msg.expires().map_err(|e| bad("Expires", e))?;
    if let Some(Contact::Addrs(list)) = msg.contacts().map_err(|e| bad("Contact", e))? {
        for c in &list {
            if let Some(v) = c.param("expires") {
                parse_scalar::<u32>(v.unwrap_or(""), "bad expires parameter")
                    .map_err(|e| bad("Contact", e))?;
            }
        }
    }
    msg.routes().map_err(|e| bad("Route", e))?;
    msg.record_routes().map_err(|e| bad("Record-Route", e))?;
    if let Some(d) = h.get(&HeaderName::DATE) {
        check_date(d)?;
    }
    if let Some(r) = h.get(&HeaderName::RETRY_AFTER) {
        let delta = trim_ws(r).split([' ', '\t', '(', ';']).next().unwrap_or("");
        parse_scalar::<u32>(delta, "bad delta-seconds").map_err(|e| bad("Retry-After", e))?;
    }
    for line in h.get_all(&HeaderName::WARNING) {
        for w in split_commas(line).map_err(|e| bad("Warning", e))? {
            let code = w.split(' ').next().unwrap_or("");
            if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Invalid::bad("Bad Warning: warn-code is not 3 digits"));
            }
        }
    }
    if let SipMessage::Request(req) = msg {
        if cseq.method != req.method {
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

    #[test]
    fn dates() {
        assert!(check_date("Sat, 13 Nov 2010 23:29:00 GMT").is_ok());
        assert!(check_date("Fri, 01 Jan 2010 16:00:00 EST").is_err());
        assert!(check_date("Fri, 1 Jan 2010 16:00:00 GMT").is_err());
    }
}
