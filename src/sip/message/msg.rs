//! Requests, responses and their printer (RFC 3261 §7.1, §7.2, §7.5): headers are written
//! in order under their long names, Content-Length is recomputed from the body, and the
//! body bytes are copied untouched. Also the §8.2.6 response builder and §21 phrases.

use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};

use super::header::{HeaderName, Headers};
use super::method::Method;
use super::typed::HasHeaders;
use super::uri::Uri;

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    pub headers: Headers,
    pub body: Bytes,
}

/// A SIP response; `reason` is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Headers,
    pub body: Bytes,
}

/// Either kind of message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipMessage {
    Request(Request),
    Response(Response),
}

impl HasHeaders for Request {
    fn headers(&self) -> &Headers {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }
}

impl HasHeaders for Response {
    fn headers(&self) -> &Headers {
        &self.headers
    }
    fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }
}

impl HasHeaders for SipMessage {
    fn headers(&self) -> &Headers {
        match self {
            SipMessage::Request(r) => &r.headers,
            SipMessage::Response(r) => &r.headers,
        }
    }
    fn headers_mut(&mut self) -> &mut Headers {
        match self {
            SipMessage::Request(r) => &mut r.headers,
            SipMessage::Response(r) => &mut r.headers,
        }
    }
}

impl SipMessage {
    pub fn body(&self) -> &Bytes {
        match self {
            SipMessage::Request(r) => &r.body,
            SipMessage::Response(r) => &r.body,
        }
    }

    pub fn to_bytes(&self) -> Bytes {
        match self {
            SipMessage::Request(r) => r.to_bytes(),
            SipMessage::Response(r) => r.to_bytes(),
        }
    }
}

fn write_headers_and_body(out: &mut BytesMut, headers: &Headers, body: &Bytes) {
    let mut cl_done = false;
    for h in headers {
        if h.name == HeaderName::CONTENT_LENGTH {
            if cl_done {
                continue;
            }
            cl_done = true;
            let _ = write!(out, "Content-Length: {}\r\n", body.len());
            continue;
        }
        out.put_slice(h.name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(&h.value);
        out.put_slice(b"\r\n");
    }
    if !cl_done {
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
    }
    out.put_slice(b"\r\n");
    out.put_slice(body);
}

fn capacity(headers: &Headers, body: &Bytes) -> usize {
    headers
        .iter()
        .map(|h| h.name.as_str().len() + h.value.len() + 4)
        .sum::<usize>()
        + body.len()
        + 128
}

impl Request {
    /// Prints the request; Content-Length is set from the body.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(capacity(&self.headers, &self.body));
        let _ = write!(out, "{} {} SIP/2.0\r\n", self.method, self.uri);
        write_headers_and_body(&mut out, &self.headers, &self.body);
        out.freeze()
    }
}

impl Response {
    /// Prints the response; Content-Length is set from the body.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(capacity(&self.headers, &self.body));
        let _ = write!(out, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        write_headers_and_body(&mut out, &self.headers, &self.body);
        out.freeze()
    }

    /// A response to `req` per RFC 3261 §8.2.6.2: all Vias in order, From, To, Call-ID
    /// and CSeq copied; the caller adds the To tag (when needed) and other headers.
    pub fn for_request(req: &Request, status: u16, reason: &str) -> Response {
        let mut headers = Headers::with_capacity(8);
        for h in req.headers.iter() {
            if h.name == HeaderName::VIA
                || h.name == HeaderName::FROM
                || h.name == HeaderName::TO
                || h.name == HeaderName::CALL_ID
                || h.name == HeaderName::CSEQ
            {
                headers.push(h.name.clone(), h.value.clone());
            }
        }
        Response {
            status,
            reason: reason.to_owned(),
            headers,
            body: Bytes::new(),
        }
    }
}

/// The standard reason phrase for a status code (RFC 3261 §21 and extensions), or a
/// class default such as `"Client Error"` for an unknown code.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        412 => "Conditional Request Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        417 => "Unknown Resource-Priority",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        428 => "Use Identity Header",
        429 => "Provide Referrer Identity",
        433 => "Anonymity Disallowed",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        494 => "Security Agreement Required",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        607 => "Unwanted",
        _ => class_phrase(status),
    }
}

fn class_phrase(status: u16) -> &'static str {
    match status / 100 {
        1 => "Session Progress",
        2 => "Successful",
        3 => "Redirection",
        4 => "Client Error",
        5 => "Server Error",
        _ => "Global Failure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::parse;

    const REQ: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n\
        v: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK0, SIP/2.0/TCP 10.0.0.2;branch=z9hG4bKz\r\n\
        Max-Forwards: 69\r\n\
        f: \"Alice\" <sip:alice@example.com>;tag=a\r\n\
        To: <sip:bob@example.com>\r\n\
        Call-ID: abc\r\n\
        CSeq: 7 INVITE\r\n\
        Contact: <sip:alice@10.0.0.1>\r\n\
        Content-Length: 999\r\n\
        X-Trace: 1\r\n\
        \r\n";

    fn request() -> Request {
        let mut raw = REQ.to_vec();
        raw.extend(std::iter::repeat_n(b'x', 999));
        match parse(Bytes::from(raw)).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => unreachable!(),
        }
    }

    #[test]
    fn printer_expands_compact_forms_and_recomputes_length() {
        let mut r = request();
        r.body = Bytes::from_static(b"v=0\r\n");
        let out = r.to_bytes();
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.starts_with("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP p1"));
        assert!(text.contains("\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK0, SIP/2.0/TCP"));
        assert!(text.contains("\r\nFrom: \"Alice\" <sip:alice@example.com>;tag=a\r\n"));
        assert!(text.contains("\r\nContent-Length: 5\r\nX-Trace: 1\r\n\r\nv=0\r\n"));
        let mut r2 = r.clone();
        r2.headers.remove(&HeaderName::CONTENT_LENGTH);
        assert!(std::str::from_utf8(&r2.to_bytes())
            .unwrap()
            .ends_with("X-Trace: 1\r\nContent-Length: 5\r\n\r\nv=0\r\n"));
    }

    #[test]
    fn response_for_request_copies_rfc3261_8_2_6_2_headers() {
        let r = request();
        let mut resp = Response::for_request(&r, 486, reason_phrase(486));
        assert_eq!(resp.vias().unwrap().len(), 3);
        let mut to = resp.to().unwrap();
        to.set_tag("b1");
        resp.headers.set(HeaderName::TO, to.to_string());
        let out = resp.to_bytes();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "SIP/2.0 486 Busy Here\r\n\
             Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\r\n\
             Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK0, SIP/2.0/TCP 10.0.0.2;branch=z9hG4bKz\r\n\
             From: \"Alice\" <sip:alice@example.com>;tag=a\r\n\
             To: <sip:bob@example.com>;tag=b1\r\n\
             Call-ID: abc\r\n\
             CSeq: 7 INVITE\r\n\
             Content-Length: 0\r\n\r\n"
        );
        let SipMessage::Response(back) = parse(out).unwrap() else {
            panic!()
        };
        assert_eq!(back.to().unwrap().tag(), Some("b1"));
        assert_eq!(
            crate::sip::message::validate(&SipMessage::Response(back)),
            Ok(())
        );
    }

    #[test]
    fn request_built_from_parts_prints_and_reparses() {
        use crate::sip::message::{Method, NameAddr, Uri, Via};
        let mut headers = Headers::new();
        let mut via = Via::parse("SIP/2.0/UDP [2001:db8::5]:5070;branch=z9hG4bKnew;rport").unwrap();
        via.set_param("received", Some("2001:db8::6"));
        headers.push(HeaderName::VIA, via.to_string());
        headers.push(HeaderName::MAX_FORWARDS, "70");
        let mut from = NameAddr::parse("\"Queue 7\" <sip:q7@pbx.example.com>").unwrap();
        from.set_tag("f1");
        headers.push(HeaderName::FROM, from.to_string());
        headers.push(HeaderName::TO, "<tel:+15551234567>");
        headers.push(HeaderName::CALL_ID, "c1@pbx");
        headers.push(HeaderName::CSEQ, "1 INVITE");
        let req = Request {
            method: Method::Invite,
            uri: Uri::parse("sip:+15551234567@[2001:db8::1]:5060;user=phone").unwrap(),
            headers,
            body: Bytes::from_static(b"v=0\r\n"),
        };
        let out = req.to_bytes();
        assert!(
            out.starts_with(b"INVITE sip:+15551234567@[2001:db8::1]:5060;user=phone SIP/2.0\r\n")
        );
        let SipMessage::Request(back) = parse(out).unwrap() else {
            panic!()
        };
        assert_eq!(back.uri, req.uri);
        assert_eq!(back.top_via().unwrap(), via);
        assert_eq!(back.from().unwrap(), from);
        assert_eq!(back.to().unwrap().uri.user.as_deref(), Some("+15551234567"));
        assert_eq!(back.content_length().unwrap(), Some(5));
        assert_eq!(
            crate::sip::message::validate(&SipMessage::Request(back)),
            Ok(())
        );
    }

    #[test]
    fn phrases() {
        assert_eq!(reason_phrase(200), "OK");
        assert_eq!(reason_phrase(481), "Call/Transaction Does Not Exist");
        assert_eq!(reason_phrase(499), "Client Error");
        assert_eq!(reason_phrase(699), "Global Failure");
    }
}
