//! Our own SIP message parser and printer (RFC 3261 §7, §20, §25), held to the RFC 4475
//! torture tests.
//!
//! * [`parse`] turns one datagram (or one [`frame`]d stream message) into a
//!   [`SipMessage`]. Header values stay raw [`bytes::Bytes`] slices of the input
//!   (zero-copy) until a typed accessor of [`HasHeaders`] parses them; the body is never
//!   stringified.
//! * [`validate`] makes the semantic checks a proxy or UAS must make before acting and
//!   names the defect in an [`Invalid`] (status + reason phrase).
//! * [`Request::to_bytes`] / [`Response::to_bytes`] print, recomputing Content-Length.
//! * [`Response::for_request`] builds a response per RFC 3261 §8.2.6.2.
//!
//! Structural garbage (bad start line, header line without a colon, bad or too large
//! Content-Length) is a [`ParseError`] and the message is dropped; everything that can be
//! answered is parsed and left to [`validate`].
//!
//! ```
//! use bytes::Bytes;
//! use switchboard::sip::message::{parse, validate, reason_phrase, HasHeaders, Response, SipMessage};
//!
//! let datagram = Bytes::from_static(b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
//!     v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK74bf9;rport\r\n\
//!     Max-Forwards: 70\r\nf: <sip:alice@example.com>;tag=9fxced76sl\r\n\
//!     t: <sip:bob@example.com>\r\ni: 3848276298220188511@192.0.2.1\r\n\
//!     CSeq: 63104 OPTIONS\r\nl: 0\r\n\r\n");
//! let SipMessage::Request(req) = parse(datagram)? else { unreachable!() };
//! validate(&SipMessage::Request(req.clone())).expect("a well-formed OPTIONS");
//! assert_eq!(req.top_via()?.branch(), Some("z9hG4bK74bf9"));
//! let mut ok = Response::for_request(&req, 200, reason_phrase(200));
//! let mut to = ok.to()?;
//! to.set_tag("8321234356");
//! ok.headers.set(switchboard::sip::message::HeaderName::TO, to.to_string());
//! assert!(ok.to_bytes().starts_with(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;"));
//! # Ok::<(), switchboard::sip::message::ParseError>(())
//! ```
//!
//! Fuzzing: `fuzz/` holds a cargo-fuzz target `parse`. With `cargo install cargo-fuzz`
//! and a nightly toolchain, from the crate root:
//! `cargo +nightly fuzz run parse fuzz/corpus/parse -- -max_total_time=300` (seed the
//! corpus directory with `tests/data/rfc4475/*.dat`). It feeds arbitrary bytes to
//! [`skip_keepalive`], [`frame`], [`parse`], [`validate`], [`Uri::parse`] and every typed
//! accessor, and checks that whatever parses prints to bytes that parse to the same
//! headers and body.

mod error;
mod header;
mod method;
mod msg;
mod nameaddr;
mod parser;
mod scan;
mod typed;
mod uri;
mod validate;
mod via;

pub use error::{Invalid, ParseError};
pub use header::{Header, HeaderName, Headers};
pub use method::Method;
pub use msg::{reason_phrase, Request, Response, SipMessage};
pub use nameaddr::NameAddr;
pub use parser::{frame, parse, skip_keepalive, MAX_BODY_BYTES, MAX_HEADER_BYTES};
pub use scan::Params;
pub use typed::{CSeq, Contact, HasHeaders};
pub use uri::{Host, Scheme, Uri};
pub use validate::validate;
pub use via::Via;
