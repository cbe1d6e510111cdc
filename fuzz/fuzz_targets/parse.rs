//! Fuzz target `parse`: arbitrary bytes through `sip::message::{skip_keepalive, frame,
//! parse, validate}` and every typed accessor. Nothing may panic, and a message that
//! parses must print to bytes that parse again to the same headers and body.
//!
//! Run: `cargo install cargo-fuzz` then, from the crate root,
//! `cargo +nightly fuzz run parse fuzz/corpus/parse ../tests/data/rfc4475` (or seed the
//! corpus with `tests/data/rfc4475/*.dat`).
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use switchboard::sip::message::{frame, parse, skip_keepalive, validate, HasHeaders, Uri};

fuzz_target!(|data: &[u8]| {
    let skip = skip_keepalive(data);
    if let Ok(Some(n)) = frame(&data[skip..]) {
        assert!(skip + n <= data.len());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(uri) = Uri::parse(text) {
            let again = Uri::parse(&uri.to_string()).expect("printed URI parses");
            assert_eq!(again, uri);
        }
    }
    let Ok(msg) = parse(Bytes::copy_from_slice(data)) else { return };
    let _ = validate(&msg);
    let _ = (msg.vias(), msg.top_via(), msg.from(), msg.to(), msg.call_id(), msg.cseq());
    let _ = (msg.max_forwards(), msg.contacts(), msg.expires(), msg.routes(), msg.record_routes());
    let printed = msg.to_bytes();
    let again = parse(printed.clone()).expect("printed message parses");
    let names = |m: &switchboard::sip::message::SipMessage| {
        m.headers()
            .iter()
            .filter(|h| h.name.as_str() != "Content-Length")
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&msg), names(&again));
    assert_eq!(msg.body(), again.body());
    assert_eq!(again.to_bytes(), printed);
});
