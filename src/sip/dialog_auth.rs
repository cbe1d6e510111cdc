//! Answering a digest challenge from a server we sent a request to (a carrier's 401 or
//! 407, RFC 3261 §22.2): the same request again with a new branch, the next CSeq and the
//! Authorization (or Proxy-Authorization) header computed from the best challenge.

use bytes::Bytes;

use crate::sip::auth::{authorization, Challenge};
use crate::sip::dialog::new_branch;
use crate::sip::message::{HasHeaders, HeaderName, Request, Response, Via};

/// The retry of `req` answering `challenge` (a 401 or 407), or `None` when the response
/// carries no challenge we can answer.
pub fn answer_challenge(
    req: &Request,
    challenge: &Response,
    username: &str,
    password: &str,
) -> Option<Request> {
    let (from, to) = match challenge.status {
        401 => (HeaderName::WWW_AUTHENTICATE, HeaderName::AUTHORIZATION),
        407 => (
            HeaderName::PROXY_AUTHENTICATE,
            HeaderName::PROXY_AUTHORIZATION,
        ),
        _ => return None,
    };
    let best = Challenge::best(challenge.headers.get_all(&from))?;
    let cnonce = format!("{:016x}", rand::random::<u64>());
    let value = authorization(
        &best,
        username,
        password,
        req.method.as_str(),
        &req.uri.to_string(),
        1,
        &cnonce,
    );
    let mut retry = req.clone();
    let seq = req.cseq().ok()?.seq + 1;
    retry
        .headers
        .set(HeaderName::CSEQ, format!("{seq} {}", req.method));
    let mut via = Via::parse(req.headers.get(&HeaderName::VIA)?).ok()?;
    via.set_param("branch", Some(&new_branch()));
    retry.headers.set(HeaderName::VIA, via.to_string());
    retry.headers.remove(&to);
    retry.headers.push(to, value);
    retry.body = Bytes::clone(&req.body);
    Some(retry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::auth::{Credentials, Verifier, VerifierConfig};
    use crate::sip::message::{parse, SipMessage};
    use std::time::SystemTime;

    #[test]
    fn retry_carries_valid_credentials_next_cseq_and_new_branch() {
        let text = "INVITE sip:44201@192.0.2.9:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKsb1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:1001@sb>;tag=f\r\nTo: <sip:44201@192.0.2.9>\r\nCall-ID: x1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let SipMessage::Request(req) = parse(Bytes::from(text)).unwrap() else {
            panic!()
        };
        let verifier = Verifier::with_random_secret(VerifierConfig::default());
        let mut chal = Response::for_request(&req, 407, "Proxy Authentication Required");
        for c in verifier.challenges("carrier", SystemTime::now(), false) {
            chal.headers.push(HeaderName::PROXY_AUTHENTICATE, c);
        }
        let retry = answer_challenge(&req, &chal, "acct", "s3cret").unwrap();
        assert_eq!(retry.cseq().unwrap().seq, 2);
        assert_ne!(
            retry.top_via().unwrap().branch(),
            req.top_via().unwrap().branch()
        );
        let creds =
            Credentials::parse(retry.headers.get(&HeaderName::PROXY_AUTHORIZATION).unwrap())
                .unwrap();
        assert!(verifier
            .verify(&creds, "INVITE", "s3cret", SystemTime::now())
            .is_ok());
        assert!(
            answer_challenge(&req, &Response::for_request(&req, 486, "Busy"), "a", "b").is_none()
        );
    }
}
