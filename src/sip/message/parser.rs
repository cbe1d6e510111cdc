//! The wire parser (RFC 3261 §7, §7.3.1, §7.4.1, §7.5, §18.3): start line, header fields
//! (CRLF or bare LF, folding, `Name :`, compact forms) and a Content-Length–delimited
//! body, all as zero-copy slices of one [`Bytes`] buffer; plus stream framing.
//!
//! Stream transports (TCP, TLS): the reader keeps a buffer, first drops RFC 5626
//! keep-alives with [`skip_keepalive`] (answering a double-CRLF ping with a CRLF pong is
//! the transport's job), then asks [`frame`] how long the next message is and hands
//! exactly that many bytes to [`parse`].

use bytes::Bytes;

use super::error::{err, ParseError};
use super::header::{HeaderName, Headers};
use super::method::Method;
use super::msg::{Request, Response, SipMessage};
use super::scan::{is_token_byte, is_ws};
use super::uri::Uri;

/// Largest header section [`frame`] waits for before giving up on a stream.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest body [`frame`] accepts on a stream.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Number of leading CR and LF bytes (keep-alives, RFC 5626 §3.5.1, and the CRLFs that
/// RFC 3261 §7.5 says to ignore before a start line).
pub fn skip_keepalive(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// Index of the next `\n` at or after `from`.
fn find_lf(b: &[u8], from: usize) -> Option<usize> {
    memchr::memchr(b'\n', b.get(from..)?).map(|p| p + from)
}

/// End of the line content ending at the LF at `lf` (drops a preceding CR).
fn content_end(b: &[u8], start: usize, lf: usize) -> usize {
    if lf > start && b[lf - 1] == b'\r' {
        lf - 1
    } else {
        lf
    }
}

fn trim_range(b: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && is_ws(b[s]) {
        s += 1;
    }
    while e > s && is_ws(b[e - 1]) {
        e -= 1;
    }
    (s, e)
}

/// Parses one message from a datagram (or a buffer [`frame`] delimited). Leading CRLFs
/// are skipped. With a Content-Length the body is exactly that long (extra bytes are
/// discarded, too few is an error); without one the body is the rest of the buffer.
pub fn parse(data: Bytes) -> Result<SipMessage, ParseError> {
    let b = &data[..];
    let start = skip_keepalive(b);
    let lf = find_lf(b, start).ok_or(err("no end of start line"))?;
    let start_line = std::str::from_utf8(&b[start..content_end(b, start, lf)])
        .map_err(|_| err("start line is not UTF-8"))?;
    let mut pos = lf + 1;

    let mut headers = Headers::with_capacity(16);
    let mut content_length: Option<usize> = None;
    let body_start = loop {
        if pos == b.len() {
            // Datagram ends after the last header line without the empty line: lenient,
            // so that the message can still be answered (RFC 4475 §3.1.2.15 baddn).
            break pos;
        }
        let lf = find_lf(b, pos).ok_or(err("header section not terminated"))?;
        let end = content_end(b, pos, lf);
        if end == pos {
            break lf + 1;
        }
        if is_ws(b[pos]) {
            return Err(err("continuation line without a header"));
        }
        let colon =
            pos + memchr::memchr(b':', &b[pos..end]).ok_or(err("header line without ':'"))?;
        let (ns, ne) = trim_range(b, pos, colon);
        if ns != pos || ne == ns || !b[ns..ne].iter().all(|&c| is_token_byte(c)) {
            return Err(err("bad header name"));
        }
        let name_str = std::str::from_utf8(&b[ns..ne]).map_err(|_| err("bad header name"))?;
        let name = HeaderName::new(name_str);

        // Extend over continuation lines (folding, RFC 3261 §7.3.1).
        let mut last_lf = lf;
        let mut folded = false;
        while b.get(last_lf + 1).is_some_and(|&c| is_ws(c)) {
            folded = true;
            last_lf = find_lf(b, last_lf + 1).ok_or(err("header section not terminated"))?;
        }
        let value = if folded {
            Bytes::from(unfold(b, colon + 1, last_lf))
        } else {
            let (vs, ve) = trim_range(b, colon + 1, end);
            data.slice(vs..ve)
        };
        if name == HeaderName::CONTENT_LENGTH && content_length.is_none() {
            content_length = Some(parse_length(&value)?);
        }
        headers.push(name, value);
        pos = last_lf + 1;
    };

    let body = match content_length {
        Some(cl) => {
            let end = body_start
                .checked_add(cl)
                .ok_or(err("bad Content-Length"))?;
            if end > b.len() {
                return Err(err("body shorter than Content-Length"));
            }
            data.slice(body_start..end)
        }
        None => data.slice(body_start..),
    };

    if start_line.starts_with("SIP/") {
        let (status, reason) = parse_status_line(start_line)?;
        Ok(SipMessage::Response(Response {
            status,
            reason: reason.to_owned(),
            headers,
            body,
        }))
    } else {
        let (method, uri) = parse_request_line(start_line)?;
        Ok(SipMessage::Request(Request {
            method,
            uri,
            headers,
            body,
        }))
    }
}

fn parse_length(v: &[u8]) -> Result<usize, ParseError> {
    if v.is_empty() || v.len() > 10 || !v.iter().all(u8::is_ascii_digit) {
        return Err(err("bad Content-Length"));
    }
    let n = v.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    usize::try_from(n).map_err(|_| err("bad Content-Length"))
}

/// Value bytes from `from` to the LF at `last_lf`, with every `*WSP [CR] LF 1*WSP`
/// collapsed to one SP and the ends trimmed.
fn unfold(b: &[u8], from: usize, last_lf: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(last_lf - from);
    let mut i = from;
    while i < last_lf {
        let lf = find_lf(b, i).unwrap_or(last_lf).min(last_lf);
        let (s, e) = trim_range(b, i, content_end(b, i, lf));
        if s < e {
            if !out.is_empty() {
                out.push(b' ');
            }
            out.extend_from_slice(&b[s..e]);
        }
        i = lf + 1;
    }
    out
}

/// `SIP-Version`: "SIP/2.0" is accepted; any other `SIP/x.y` is a 505.
fn check_version(v: &str) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let rest = v.get(4..).unwrap_or("");
    let looks_sip = v.len() > 4 && v.as_bytes()[..4].eq_ignore_ascii_case(b"SIP/");
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match rest.split_once('.') {
        Some((a, b)) if looks_sip && digits(a) && digits(b) => {
            Err(ParseError::with_status("SIP version not supported", 505))
        }
        _ => Err(err("bad SIP version")),
    }
}

/// `Method SP Request-URI SP SIP-Version` — exactly one SP between elements.
fn parse_request_line(line: &str) -> Result<(Method, Uri), ParseError> {
    let mut it = line.split(' ');
    let (Some(m), Some(u), Some(v), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(err("bad Request-Line"));
    };
    if m.is_empty() || !m.bytes().all(is_token_byte) {
        return Err(err("bad method"));
    }
    check_version(v)?;
    let uri = Uri::parse(u).map_err(|_| err("bad Request-URI"))?;
    Ok((Method::parse(m), uri))
}

/// `SIP-Version SP Status-Code SP Reason-Phrase` (an empty phrase may omit the SP).
fn parse_status_line(line: &str) -> Result<(u16, &str), ParseError> {
    let (v, rest) = line.split_once(' ').ok_or(err("bad Status-Line"))?;
    check_version(v)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("bad status code"));
    }
    let status: u16 = code.parse().map_err(|_| err("bad status code"))?;
    if !(100..=699).contains(&status) {
        return Err(err("status code out of range"));
    }
    Ok((status, reason))
}

/// Length of the first complete message in a stream buffer, including its body.
///
/// * `Ok(Some(n))` — `buf[..n]` is one message; pass it to [`parse`].
/// * `Ok(None)` — incomplete; read more.
/// * `Err` — the stream is unusable (no Content-Length, which streams require per
///   RFC 3261 §18.3; a bad one; an oversized header section or body; or leading CR/LF,
///   which the caller must first remove with [`skip_keepalive`]). Close the connection.
pub fn frame(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    if matches!(buf.first(), Some(b'\r' | b'\n')) {
        return Err(err(
            "keep-alive CRLF before message: call skip_keepalive first",
        ));
    }
    let mut pos = match find_lf(buf, 0) {
        Some(lf) => lf + 1,
        None => return incomplete(buf.len()),
    };
    let mut content_length = None;
    loop {
        let Some(lf) = find_lf(buf, pos) else {
            return incomplete(buf.len());
        };
        let end = content_end(buf, pos, lf);
        if end == pos {
            let body_start = lf + 1;
            if body_start > MAX_HEADER_BYTES {
                return Err(err("header section too large"));
            }
            let cl = content_length.ok_or(err("missing Content-Length on a stream"))?;
            if cl > MAX_BODY_BYTES {
                return Err(err("body too large"));
            }
            let total = body_start + cl;
            return Ok((buf.len() >= total).then_some(total));
        }
        if content_length.is_none() && !is_ws(buf[pos]) {
            if let Some(colon) = buf[pos..end].iter().position(|&c| c == b':') {
                let (ns, ne) = trim_range(buf, pos, pos + colon);
                let name = &buf[ns..ne];
                if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
                    let (vs, ve) = trim_range(buf, pos + colon + 1, end);
                    content_length = Some(parse_length(&buf[vs..ve])?);
                }
            }
        }
        pos = lf + 1;
    }
}

fn incomplete(len: usize) -> Result<Option<usize>, ParseError> {
    if len > MAX_HEADER_BYTES {
        Err(err("header section too large"))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::HasHeaders;

    const INVITE: &str = "INVITE sip:bob@example.com SIP/2.0\r\n\
        v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n\
        Max-Forwards: 70\r\n\
        f: <sip:alice@example.com>;tag=a\r\n\
        t: <sip:bob@example.com>\r\n\
        i: abc@10.0.0.1\r\n\
        CSeq: 1 INVITE\r\n\
        l: 4\r\n\
        \r\n\
        v=0\r\nEXTRA";

    fn req(s: &[u8]) -> Request {
        match parse(Bytes::copy_from_slice(s)).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("request expected"),
        }
    }

    #[test]
    fn compact_forms_content_length_and_zero_copy() {
        let data = Bytes::from_static(INVITE.as_bytes());
        let SipMessage::Request(r) = parse(data.clone()).unwrap() else {
            panic!()
        };
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.call_id().unwrap(), "abc@10.0.0.1");
        assert_eq!(r.headers.iter().next().unwrap().name.as_str(), "Via");
        assert_eq!(&r.body[..], b"v=0\r");
        let range = data.as_ptr() as usize..data.as_ptr() as usize + data.len();
        for h in r.headers.iter() {
            assert!(
                range.contains(&(h.value.as_ptr() as usize)) || h.value.is_empty(),
                "{:?} copied",
                h.name
            );
        }
    }

    #[test]
    fn bare_lf_space_before_colon_and_folding() {
        let r = req(b"OPTIONS sip:a@b SIP/2.0\nVia : SIP/2.0/UDP h;branch=z9hG4bKx\nSubject: one\n \t two  \n   three\nCall-ID: x\n\nbody");
        assert_eq!(r.top_via().unwrap().branch(), Some("z9hG4bKx"));
        assert_eq!(r.headers.get(&HeaderName::SUBJECT), Some("one two three"));
        assert_eq!(&r.body[..], b"body");
    }

    #[test]
    fn leading_crlf_and_binary_body() {
        let mut m = b"\r\n\r\nMESSAGE sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\n".to_vec();
        m.extend_from_slice(&[0xff, 0x00, 0xfe, 0x80]);
        let r = req(&m);
        assert_eq!(&r.body[..], &[0xff, 0x00, 0xfe, 0x80]);
        assert_eq!(
            &r.to_bytes()[r.to_bytes().len() - 4..],
            &[0xff, 0x00, 0xfe, 0x80]
        );
    }

    #[test]
    fn structural_errors() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nshort",
                "body shorter than Content-Length",
            ),
            (
                b"INVITE sip:a@b SIP/2.0\r\nl: -1\r\n\r\n",
                "bad Content-Length",
            ),
            (
                b"INVITE sip:a@b SIP/2.0\r\nNoColon\r\n\r\n",
                "header line without ':'",
            ),
            (
                b"INVITE sip:a@b SIP/2.0\r\n Folded: x\r\n\r\n",
                "continuation line without a header",
            ),
            (
                b"INVITE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
                "bad header name",
            ),
            (
                b"INVITE sip:a@b SIP/2.0\r\nVia: x",
                "header section not terminated",
            ),
            (b"INVITE sip:a@b SIP/2.0", "no end of start line"),
            (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", "bad Request-Line"),
            (b"INV@TE sip:a@b SIP/2.0\r\n\r\n", "bad method"),
            (b"INVITE sip:a@b HTTP/1.1\r\n\r\n", "bad SIP version"),
            (b"SIP/2.0 99 Odd\r\n\r\n", "bad status code"),
            (b"SIP/2.0 700 Odd\r\n\r\n", "status code out of range"),
            (b"", "no end of start line"),
        ];
        for (input, reason) in cases {
            let e = parse(Bytes::copy_from_slice(input)).unwrap_err();
            assert_eq!(e.reason(), *reason, "{}", String::from_utf8_lossy(input));
            assert_eq!(e.status(), 400);
        }
        let e = parse(Bytes::from_static(b"SIP/3.0 200 OK\r\n\r\n")).unwrap_err();
        assert_eq!(e.status(), 505);
        // Found by the fuzzer: a multi-byte character across the "SIP/" prefix.
        let e = parse(Bytes::from_static(
            "OPTIONS sip:a@b SIPҥ\r\n\r\n".as_bytes(),
        ))
        .unwrap_err();
        assert_eq!(e.reason(), "bad SIP version");
    }

    #[test]
    fn responses_keep_reason_verbatim() {
        let SipMessage::Response(r) = parse(Bytes::from_static(
            "SIP/2.0 486 Occupé  là \r\n\r\n".as_bytes(),
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!((r.status, r.reason.as_str()), (486, "Occupé  là "));
        let SipMessage::Response(r) = parse(Bytes::from_static(b"SIP/2.0 100\r\n\r\n")).unwrap()
        else {
            panic!()
        };
        assert_eq!((r.status, r.reason.as_str()), (100, ""));
    }

    #[test]
    fn framing_on_streams() {
        let one = b"OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabc";
        let mut two = one.to_vec();
        two.extend_from_slice(b"BYE sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(frame(&two).unwrap(), Some(one.len()));
        assert_eq!(
            frame(&two[one.len()..]).unwrap(),
            Some(two.len() - one.len())
        );
        for cut in 0..one.len() {
            assert_eq!(frame(&one[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(
            frame(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n").is_err(),
            "CL required"
        );
        assert!(
            frame(b"\r\nOPTIONS").is_err(),
            "keep-alive must be skipped first"
        );
        assert_eq!(skip_keepalive(b"\r\n\r\nOPTIONS"), 4);
        assert_eq!(skip_keepalive(b"OPTIONS"), 0);
        assert!(frame(&vec![b'a'; MAX_HEADER_BYTES + 1]).is_err());
        let big = format!(
            "OPTIONS sip:a@b SIP/2.0\r\nl: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        assert!(frame(big.as_bytes()).is_err());
    }

    /// Cheap deterministic mutation fuzzing over the RFC 4475 corpus: nothing panics and
    /// whatever parses prints to something that parses again.
    #[test]
    fn mutated_torture_messages_never_panic() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rfc4475");
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let files: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        let alphabet = b" \t\r\n:;,<>\"\\@[]/=%0aZ\xff";
        for f in &files {
            for _ in 0..60 {
                let mut m = f.clone();
                for _ in 0..(next() % 4 + 1) {
                    let i = (next() as usize) % m.len().max(1);
                    match next() % 3 {
                        0 if i < m.len() => m[i] = alphabet[(next() as usize) % alphabet.len()],
                        1 => m.truncate(i),
                        _ => m.insert(i.min(m.len()), alphabet[(next() as usize) % alphabet.len()]),
                    }
                }
                let _ = frame(&m);
                if let Ok(msg) = parse(Bytes::from(m)) {
                    let _ = crate::sip::message::validate(&msg);
                    let _ = (
                        msg.vias(),
                        msg.from(),
                        msg.to(),
                        msg.contacts(),
                        msg.routes(),
                        msg.cseq(),
                    );
                    parse(msg.to_bytes()).expect("printed message parses");
                }
            }
        }
    }
}
