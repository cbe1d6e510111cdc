//! The fixed sequence of named steps every new request walks, in Kamailio's spirit:
//! `sanity → nat_fixup → max_forwards → loop_check → overload → in_dialog → method`.
//! Each step is a small pure function returning `Ok(())` to go on or a [`Reject`] that
//! the switch sends as the answer; each is tested on its own.

use std::net::SocketAddr;

use crate::sip::dialog::OUR_BRANCH_MARK;
use crate::sip::message::{validate, HasHeaders, HeaderName, Method, Request, SipMessage, Via};

/// A request stopped by a step: the status and reason phrase to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub status: u16,
    pub reason: String,
    /// Extra headers for the answer (Retry-After, Allow, …).
    pub headers: Vec<(HeaderName, String)>,
}

impl Reject {
    pub fn new(status: u16, reason: impl Into<String>) -> Reject {
        Reject {
            status,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Reject {
        self.headers.push((name, value.into()));
        self
    }
}

/// Step `sanity`: RFC 3261 §8.2 / §16.3 checks (mandatory headers well-formed, CSeq
/// method matches, version …) through the parser's validator.
pub fn sanity(msg: &SipMessage) -> Result<(), Reject> {
    validate(msg).map_err(|inv| Reject::new(inv.status, inv.reason))
}

/// Step `nat_fixup` (RFC 3581, RFC 3261 §18.2.1): mark the top Via with `received`
/// when the source differs from sent-by, and fill an empty `rport`. Responses then go
/// back to where the request came from.
pub fn nat_fixup(req: &mut Request, src: SocketAddr) {
    let Some(line) = req.headers.get(&HeaderName::VIA).map(str::to_string) else {
        return;
    };
    let Ok(mut vias) = Via::parse_list(&line) else {
        return;
    };
    let Some(top) = vias.first_mut() else { return };
    let ip = src.ip().to_string();
    let mut changed = false;
    if top
        .host
        .to_string()
        .trim_start_matches('[')
        .trim_end_matches(']')
        != ip
    {
        top.set_param("received", Some(&ip));
        changed = true;
    }
    if top.rport() == Some(None) {
        top.set_param("rport", Some(&src.port().to_string()));
        changed = true;
    }
    if changed {
        let joined = vias
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        replace_first(req, HeaderName::VIA, joined);
    }
}

/// Replaces the first line of a header, keeping the others (Vias stay on top).
fn replace_first(req: &mut Request, name: HeaderName, value: String) {
    let rest: Vec<String> = req
        .headers
        .get_all(&name)
        .skip(1)
        .map(str::to_string)
        .collect();
    req.headers.remove(&name);
    for v in rest.into_iter().rev() {
        req.headers.insert_first(name.clone(), v);
    }
    req.headers.insert_first(name, value);
}

/// Step `max_forwards` (§16.3 step 3): a request we would forward with Max-Forwards 0
/// gets 483.
pub fn max_forwards(req: &Request) -> Result<(), Reject> {
    match req.max_forwards() {
        Ok(Some(0)) if req.method == Method::Invite => Err(Reject::new(483, "Too Many Hops")),
        _ => Ok(()),
    }
}

/// Step `loop_check` (§16.3 step 4, RFC 5393 in spirit): an INVITE that already passed
/// through us (one of its Vias carries our branch mark and one of our addresses) is a
/// spiral back to ourselves: 482.
pub fn loop_check(req: &Request, ours: &[String]) -> Result<(), Reject> {
    if req.method != Method::Invite {
        return Ok(());
    }
    let Ok(vias) = req.vias() else { return Ok(()) };
    let looped = vias.iter().any(|v| {
        v.branch().is_some_and(|b| b.starts_with(OUR_BRANCH_MARK)) && ours.contains(&v.sent_by())
    });
    if looped {
        Err(Reject::new(482, "Loop Detected"))
    } else {
        Ok(())
    }
}

/// Step `overload`: new calls beyond the limit, or while draining, get 503 with
/// Retry-After so well-behaved peers back off (RFC 3261 §21.5.4).
pub fn overload(active_calls: usize, max_calls: usize, draining: bool) -> Result<(), Reject> {
    if draining {
        return Err(Reject::new(503, "Service Unavailable (shutting down)")
            .with_header(HeaderName::RETRY_AFTER, "30"));
    }
    if active_calls >= max_calls {
        return Err(Reject::new(503, "Service Unavailable (call limit)")
            .with_header(HeaderName::RETRY_AFTER, "5"));
    }
    Ok(())
}

/// What a method out of dialog leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodRoute {
    Register,
    Options,
    Invite,
    /// Ignore (a stray ACK).
    Drop,
}

/// Step `method`: dispatch by method for requests outside any dialog.
pub fn method(req: &Request, allow: &str) -> Result<MethodRoute, Reject> {
    match &req.method {
        Method::Register => Ok(MethodRoute::Register),
        Method::Options => Ok(MethodRoute::Options),
        Method::Invite => Ok(MethodRoute::Invite),
        Method::Ack => Ok(MethodRoute::Drop),
        Method::Bye | Method::Update | Method::Info | Method::Prack => {
            Err(Reject::new(481, "Call/Transaction Does Not Exist"))
        }
        Method::Other(_) => {
            Err(Reject::new(501, "Not Implemented").with_header(HeaderName::ALLOW, allow))
        }
        _ => Err(Reject::new(405, "Method Not Allowed").with_header(HeaderName::ALLOW, allow)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn req(text: &str) -> Request {
        match crate::sip::message::parse(Bytes::from(text.replace('\n', "\r\n"))).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("not a request"),
        }
    }

    const INVITE: &str = "INVITE sip:1002@sb SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport\nMax-Forwards: 70\nFrom: <sip:1001@sb>;tag=a\nTo: <sip:1002@sb>\nCall-ID: c1\nCSeq: 1 INVITE\nContent-Length: 0\n\n";

    #[test]
    fn nat_fixup_sets_received_and_rport() {
        let mut r = req(INVITE);
        nat_fixup(&mut r, "192.0.2.7:40000".parse().unwrap());
        let via = r.top_via().unwrap();
        assert_eq!(via.received(), Some("192.0.2.7"));
        assert_eq!(via.rport(), Some(Some(40000)));
    }

    #[test]
    fn nat_fixup_leaves_matching_source_alone() {
        let mut r = req(INVITE);
        nat_fixup(&mut r, "10.0.0.5:5060".parse().unwrap());
        let via = r.top_via().unwrap();
        assert_eq!(via.received(), None);
        assert_eq!(via.rport(), Some(Some(5060)));
    }

    #[test]
    fn max_forwards_zero_is_483() {
        let r = req(&INVITE.replace("Max-Forwards: 70", "Max-Forwards: 0"));
        assert_eq!(max_forwards(&r).unwrap_err().status, 483);
        assert!(max_forwards(&req(INVITE)).is_ok());
    }

    #[test]
    fn our_own_via_is_a_loop() {
        let looped = INVITE.replace(
            "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;rport",
            "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsb0001",
        );
        let ours = vec!["127.0.0.1:5060".to_string()];
        assert_eq!(loop_check(&req(&looped), &ours).unwrap_err().status, 482);
        assert!(loop_check(&req(INVITE), &ours).is_ok());
    }

    #[test]
    fn overload_and_draining_are_503_with_retry_after() {
        let r = overload(10, 10, false).unwrap_err();
        assert_eq!(r.status, 503);
        assert_eq!(r.headers[0].0, HeaderName::RETRY_AFTER);
        assert_eq!(overload(0, 10, true).unwrap_err().status, 503);
        assert!(overload(9, 10, false).is_ok());
    }

    #[test]
    fn methods_map_to_405_501_481() {
        let m = |name: &str| {
            method(
                &req(&INVITE
                    .replace("INVITE sip", &format!("{name} sip"))
                    .replace("1 INVITE", &format!("1 {name}"))),
                "INVITE",
            )
        };
        assert_eq!(m("SUBSCRIBE").unwrap_err().status, 405);
        assert_eq!(m("FOO").unwrap_err().status, 501);
        assert_eq!(m("BYE").unwrap_err().status, 481);
        assert_eq!(m("INVITE").unwrap(), MethodRoute::Invite);
        assert_eq!(m("REGISTER").unwrap(), MethodRoute::Register);
    }

    #[test]
    fn sanity_names_the_problem() {
        let bad = req(&INVITE.replace("CSeq: 1 INVITE", "CSeq: 1 BYE"));
        let r = sanity(&SipMessage::Request(bad)).unwrap_err();
        assert_eq!(r.status, 400);
        assert!(r.reason.to_lowercase().contains("cseq"), "{}", r.reason);
    }
}
