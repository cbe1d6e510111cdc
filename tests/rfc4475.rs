//! RFC 4475 torture tests: every message of §3.1.1 (valid), §3.1.2 (invalid), §3.2
//! (transaction layer) and §3.3/§3.4 (application layer) through `parse` and `validate`,
//! with the verdict each must get and, for the accepted ones, the fields read back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use switchboard::sip::message::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Parses and validates.
    Accept,
    /// `parse` fails; the status the error maps to.
    Reject(u16),
    /// Parses; `validate` says this status.
    Invalid(u16),
}
use Verdict::*;

/// (file, verdict, a word the error's reason must contain — so each rejection is for the
/// defect the RFC names, not an incidental one)
const VERDICTS: &[(&str, Verdict, &str)] = &[
    // §3.1.1 valid messages
    ("wsinv", Accept, ""),
    ("intmeth", Accept, ""),
    ("esc01", Accept, ""),
    ("escnull", Accept, ""),
    ("esc02", Accept, ""),
    ("lwsdisp", Accept, ""),
    ("longreq", Accept, ""),
    ("dblreq", Accept, ""),
    ("semiuri", Accept, ""),
    ("transports", Accept, ""),
    ("mpart01", Accept, ""),
    ("unreason", Accept, ""),
    ("noreason", Accept, ""),
    // §3.1.2 invalid messages
    ("badinv01", Invalid(400), "Via"),
    ("clerr", Reject(400), "Content-Length"),
    ("ncl", Reject(400), "Content-Length"),
    ("scalar02", Invalid(400), "CSeq"),
    ("scalarlg", Invalid(400), "CSeq"),
    ("quotbal", Invalid(400), "quoted"),
    ("ltgtruri", Reject(400), "Request-URI"),
    ("lwsruri", Reject(400), "Request-Line"),
    ("lwsstart", Reject(400), "Request-Line"),
    ("trws", Reject(400), "Request-Line"),
    ("escruri", Invalid(400), "Request-URI"),
    ("baddate", Invalid(400), "Date"),
    ("regbadct", Invalid(400), "Contact"),
    ("badaspec", Invalid(400), "To"),
    ("baddn", Invalid(400), "display name"),
    ("badvers", Reject(505), "version"),
    ("mismatch01", Invalid(400), "CSeq"),
    ("mismatch02", Invalid(400), "CSeq"),
    ("bigcode", Reject(400), "status code"),
    // §3.2 transaction layer: a parser must not break; falling back to RFC 2543 matching is allowed
    ("badbranch", Accept, ""),
    // §3.3 application layer
    ("insuf", Invalid(400), "Missing"),
    ("unkscm", Invalid(416), "Scheme"),
    ("novelsc", Invalid(416), "Scheme"),
    ("unksm2", Accept, ""),
    ("bext01", Accept, ""),
    ("invut", Accept, ""),
    ("regaut01", Accept, ""),
    ("multi01", Invalid(400), "Multiple"),
    ("mcl01", Invalid(400), "Content-Length"),
    ("bcast", Accept, ""),
    ("zeromf", Accept, ""),
    ("cparam01", Accept, ""),
    ("cparam02", Accept, ""),
    ("regescrt", Accept, ""),
    ("sdp01", Accept, ""),
    // §3.4 backward compatibility
    ("inv2543", Accept, ""),
];

fn corpus() -> BTreeMap<String, Bytes> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rfc4475"));
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(&dir).expect("tests/data/rfc4475") {
        let p = e.expect("dir entry").path();
        if p.extension().is_some_and(|x| x == "dat") {
            let name = p.file_stem().expect("stem").to_string_lossy().into_owned();
            out.insert(name, Bytes::from(std::fs::read(&p).expect("read")));
        }
    }
    out
}

fn verdict_of(data: &Bytes) -> (Verdict, String) {
    match parse(data.clone()) {
        Err(e) => (Reject(e.status()), e.reason().to_owned()),
        Ok(m) => match validate(&m) {
            Ok(()) => (Accept, String::new()),
            Err(i) => (Invalid(i.status), i.reason),
        },
    }
}

#[test]
fn every_torture_message_gets_its_verdict() {
    let corpus = corpus();
    assert_eq!(corpus.len(), 49, "the 49 RFC 4475 messages");
    assert_eq!(VERDICTS.len(), 49);
    let mut table = String::new();
    let mut wrong = 0;
    for (name, want, because) in VERDICTS {
        let data = corpus
            .get(*name)
            .unwrap_or_else(|| panic!("{name}.dat missing"));
        let (got, why) = verdict_of(data);
        let right = got == *want && why.contains(because);
        let mark = if right { "ok " } else { "BAD" };
        wrong += usize::from(!right);
        table.push_str(&format!(
            "{mark} {name:11} want {want:?} ({because}), got {got:?} {why}\n"
        ));
    }
    assert_eq!(wrong, 0, "verdicts:\n{table}");
}

struct ReadBack {
    start: &'static str,
    ruri: Option<(Option<&'static str>, &'static str)>,
    call_id: &'static str,
    cseq: &'static str,
    branch: Option<&'static str>,
    vias: usize,
    to_tag: Option<&'static str>,
    cl: Option<usize>,
    body: usize,
}

#[allow(clippy::too_many_arguments)] // one row of the read-back table
fn rb(
    start: &'static str,
    ruri: Option<(Option<&'static str>, &'static str)>,
    call_id: &'static str,
    cseq: &'static str,
    branch: Option<&'static str>,
    vias: usize,
    to_tag: Option<&'static str>,
    cl: Option<usize>,
    body: usize,
) -> ReadBack {
    ReadBack {
        start,
        ruri,
        call_id,
        cseq,
        branch,
        vias,
        to_tag,
        cl,
        body,
    }
}

#[test]
fn accepted_messages_read_back_correctly() {
    let corpus = corpus();
    let long_cid = "longreq.onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallylongcallid";
    let intmeth = "!interesting-Method0123456789_*+`.%indeed'~";
    let cases: Vec<(&str, ReadBack)> = vec![
        (
            "wsinv",
            rb(
                "INVITE",
                Some((Some("vivekg"), "chair-dnrc.example.com")),
                "wsinv.ndaksdj@192.0.2.1",
                "9 INVITE",
                Some("390skdjuw"),
                3,
                Some("1918181833n"),
                Some(150),
                150,
            ),
        ),
        (
            "intmeth",
            rb(
                intmeth,
                Some((
                    Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"),
                    "example.com",
                )),
                "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
                "139122385 !interesting-Method0123456789_*+`.%indeed'~",
                Some("z9hG4bK-.!%66*_+`'~"),
                1,
                None,
                Some(0),
                0,
            ),
        ),
        (
            "esc01",
            rb(
                "INVITE",
                Some((Some("sips%3Auser%40example.com"), "example.net")),
                "esc01.239409asdfakjkn23onasd0-3234",
                "234234 INVITE",
                Some("z9hG4bKkdjuw"),
                1,
                None,
                Some(150),
                150,
            ),
        ),
        (
            "escnull",
            rb(
                "REGISTER",
                Some((None, "example.com")),
                "escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
                "14398234 REGISTER",
                Some("z9hG4bKkdjuw"),
                1,
                None,
                Some(0),
                0,
            ),
        ),
        (
            "esc02",
            rb(
                "RE%47IST%45R",
                Some((None, "registrar.example.com")),
                "esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf",
                "29344 RE%47IST%45R",
                Some("z9hG4bK209%fzsnel234"),
                1,
                None,
                Some(0),
                0,
            ),
        ),
        (
            "lwsdisp",
            rb(
                "OPTIONS",
                Some((Some("user"), "example.com")),
                "lwsdisp.1234abcd@funky.example.com",
                "60 OPTIONS",
                Some("z9hG4bKkdjuw"),
                1,
                None,
                Some(0),
                0,
            ),
        ),
        (
            "longreq",
            rb(
                "INVITE",
                Some((Some("user"), "example.com")),
                long_cid,
                "3882340 INVITE",
                None,
                34,
                None,
                Some(150),
                150,
            ),
        ),
        (
            "dblreq",
            rb(
                "REGISTER",
                Some((None, "example.com")),
                "dblreq.0ha0isndaksdj99sdfafnl3lk233412",
                "8 REGISTER",
                Some("z9hG4bKkdjuw23492"),
                1,
                None,
                Some(0),
                0,
            ),
        ),
        (
            "semiuri",
            rb(
                "OPTIONS",
                Some((Some("user;par=u%40example.net"), "example.com")),
                "semiuri.0ha0isndaksdj",
                "8 OPTIONS",
                Some("z9hG4bKkdjuw"),
                1,
                None,
                Some(0),
                0,
            ),
        ),
        (
            "transports",
            rb(
                "OPTIONS",
                Some((Some("user"), "example.com")),
                "transports.kijh4akdnaqjkwendsasfdj",
                "60 OPTIONS",
                Some("z9hG4bKkdjuw"),
                5,
                None,
                Some(0),
                0,
            ),
        ),
        (
            "mpart01",
            rb(
                "MESSAGE",
                Some((Some("kumiko"), "example.org")),
                "3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..",
                "1 MESSAGE",
                Some("z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-"),
                1,
                None,
                Some(553),
                553,
            ),
        ),
        (
            "unreason",
            rb(
                "200 = 2**3 * 5**2 но сто девяносто девять - простое",
                None,
                "unreason.1234ksdfak3j2erwedfsASdf",
                "35 INVITE",
                Some("z9hG4bK1324923"),
                1,
                Some("2229"),
                Some(154),
                154,
            ),
        ),
        (
            "noreason",
            rb(
                "100 ",
                None,
                "noreason.asndj203insdf99223ndf",
                "35 INVITE",
                Some("z9hG4bK2398ndaoe"),
                1,
                Some("902jndnke3"),
                Some(0),
                0,
            ),
        ),
        (
            "badbranch",
            rb(
                "OPTIONS",
                Some((Some("user"), "example.com")),
                "badbranch.sadonfo23i420jv0as0derf3j3n",
                "8 OPTIONS",
                Some("z9hG4bK"),
                1,
                None,
                Some(0),
                0,
            ),
        ),
        (
            "bcast",
            rb(
                "200 OK",
                None,
                "bcast.0384840201234ksdfak3j2erwedfsASdf",
                "35 INVITE",
                Some("z9hG4bK1324923"),
                2,
                Some("2229"),
                Some(154),
                154,
            ),
        ),
        (
            "zeromf",
            rb(
                "OPTIONS",
                Some((Some("user"), "example.com")),
                "zeromf.jfasdlfnm2o2l43r5u0asdfas",
                "39234321 OPTIONS",
                Some("z9hG4bKkdjuw2349i"),
                1,
                None,
                Some(0),
                0,
            ),
        ),
        (
            "inv2543",
            rb(
                "INVITE",
                Some((Some("UserB"), "example.com")),
                "inv2543.1717@ift.client.example.com",
                "56 INVITE",
                None,
                1,
                None,
                None,
                105,
            ),
        ),
        (
            "unksm2",
            rb(
                "REGISTER",
                Some((None, "example.com")),
                "unksm2.daksdj@hyphenated-host.example.com",
                "234902 REGISTER",
                Some("z9hG4bKkdjuw"),
                1,
                None,
                Some(0),
                0,
            ),
        ),
    ];
    for (name, want) in cases {
        let msg = parse(corpus[name].clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let start = match &msg {
            SipMessage::Request(r) => {
                let (user, host) = want.ruri.expect("request");
                assert_eq!(r.uri.user.as_deref(), user, "{name} R-URI user");
                assert_eq!(r.uri.host, Host::Domain(host.into()), "{name} R-URI host");
                r.method.to_string()
            }
            SipMessage::Response(r) => format!("{} {}", r.status, r.reason),
        };
        assert_eq!(start, want.start, "{name} start line");
        assert_eq!(msg.call_id().unwrap(), want.call_id, "{name} Call-ID");
        assert_eq!(msg.cseq().unwrap().to_string(), want.cseq, "{name} CSeq");
        assert_eq!(
            msg.top_via().unwrap().branch(),
            want.branch,
            "{name} branch"
        );
        assert_eq!(msg.vias().unwrap().len(), want.vias, "{name} Vias");
        assert_eq!(msg.to().unwrap().tag(), want.to_tag, "{name} To tag");
        assert_eq!(
            msg.content_length().unwrap(),
            want.cl,
            "{name} Content-Length"
        );
        assert_eq!(msg.body().len(), want.body, "{name} body length");
    }
}

fn req(corpus: &BTreeMap<String, Bytes>, name: &str) -> Request {
    match parse(corpus[name].clone()).expect(name) {
        SipMessage::Request(r) => r,
        SipMessage::Response(_) => panic!("{name} is a request"),
    }
}

#[test]
fn valid_messages_details() {
    let c = corpus();
    // wsinv: folding, `Name :`, escaped quotes in the display name, leading zeros, LWS in Via.
    let m = req(&c, "wsinv");
    let from = m.from().unwrap();
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    assert_eq!(m.uri.param("unknownparam"), Some(None));
    assert_eq!(
        m.headers.get(&HeaderName::new("NewFangledHeader")),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(m.headers.get(&HeaderName::SUBJECT), Some(""));
    let vias = m.vias().unwrap();
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].host.to_string(), "192.168.255.111");
    assert_eq!(
        m.routes().unwrap()[0].uri.param("unknown-no-value"),
        Some(None)
    );
    // transports: unknown transports are kept, upper-cased.
    let t: Vec<String> = req(&c, "transports")
        .vias()
        .unwrap()
        .into_iter()
        .map(|v| v.transport)
        .collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    // esc02: extension method, CSeq matches verbatim.
    assert_eq!(
        req(&c, "esc02").method,
        Method::Other("RE%47IST%45R".into())
    );
    // escnull: escaped NULs stay escaped.
    assert_eq!(
        req(&c, "escnull").to().unwrap().uri.user.as_deref(),
        Some("null-%00-null")
    );
    // lwsdisp: no LWS between display name and '<'.
    assert_eq!(
        req(&c, "lwsdisp").from().unwrap().display.as_deref(),
        Some("caller")
    );
    // dblreq: the trailing INVITE is not part of the REGISTER.
    assert!(req(&c, "dblreq").body.is_empty());
    // mpart01: the multipart body is the last 553 bytes, byte-exact.
    let mp = req(&c, "mpart01");
    assert_eq!(&mp.body[..], &c["mpart01"][c["mpart01"].len() - 553..]);
    // unksm2: unknown schemes in To.
    assert_eq!(
        req(&c, "unksm2").to().unwrap().uri.scheme,
        Scheme::Other("isbn".into())
    );
    // regescrt: escaped header in a bracketed Contact is kept.
    let Some(Contact::Addrs(cs)) = req(&c, "regescrt").contacts().unwrap() else {
        panic!("contacts")
    };
    assert_eq!(
        cs[0].uri.headers,
        [("Route".to_string(), "%3Csip:sip.example.com%3E".to_string())]
    );
    // cparam01: bare addr-spec, so `;unknownparam` is a Contact parameter.
    let Some(Contact::Addrs(cs)) = req(&c, "cparam01").contacts().unwrap() else {
        panic!("contacts")
    };
    assert_eq!(
        (cs[0].param("unknownparam"), cs[0].uri.param("unknownparam")),
        (Some(None), None)
    );
    // cparam02: inside <>, it is a URI parameter.
    let Some(Contact::Addrs(cs)) = req(&c, "cparam02").contacts().unwrap() else {
        panic!("contacts")
    };
    assert_eq!(
        (cs[0].param("unknownparam"), cs[0].uri.param("unknownparam")),
        (None, Some(None))
    );
}

#[test]
fn print_then_parse_is_identical() {
    for (name, data) in corpus() {
        let Ok(first) = parse(data) else { continue };
        let printed = first.to_bytes();
        let second = parse(printed.clone())
            .unwrap_or_else(|e| panic!("{name}: reprint does not parse: {e}\n{printed:?}"));
        let strip = |m: &SipMessage| -> Vec<(String, Bytes)> {
            m.headers()
                .iter()
                .filter(|h| h.name != HeaderName::CONTENT_LENGTH)
                .map(|h| (h.name.as_str().to_owned(), h.value.clone()))
                .collect()
        };
        assert_eq!(strip(&first), strip(&second), "{name} headers");
        assert_eq!(first.body(), second.body(), "{name} body");
        match (&first, &second) {
            (SipMessage::Request(a), SipMessage::Request(b)) => {
                assert_eq!((&a.method, &a.uri), (&b.method, &b.uri), "{name}")
            }
            (SipMessage::Response(a), SipMessage::Response(b)) => {
                assert_eq!((a.status, &a.reason), (b.status, &b.reason), "{name}")
            }
            _ => panic!("{name}: kind changed"),
        }
        assert_eq!(second.to_bytes(), printed, "{name}: printing is stable");
        if validate(&first).is_ok() {
            assert_eq!(
                validate(&second),
                Ok(()),
                "{name}: still valid after printing"
            );
        }
    }
}
