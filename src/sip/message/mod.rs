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
//! Fuzzing: `fuzz/` holds a cargo-fuzz target `parse` (`cargo +nightly fuzz run parse`,
//! after `cargo install cargo-fuzz`); it feeds arbitrary bytes to [`parse`], [`frame`],
//! [`validate`] and the typed accessors and checks that printing a parsed message
//! re-parses.

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
