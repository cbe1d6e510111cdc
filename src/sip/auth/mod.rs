//! HTTP Digest authentication for SIP: RFC 3261 §22 with the RFC 7616 syntax and the
//! RFC 8760 algorithms (MD5 and SHA-256, `qop=auth`, stale nonces).
//!
//! This module owns the digest computation, the header-value grammar of
//! `WWW-Authenticate`/`Proxy-Authenticate` and `Authorization`/`Proxy-Authorization`
//! (it works on header *values*, not on SIP messages), stateless self-validating nonces
//! and the bounded replay tracker. It does no IO and never reads the clock: `now` is a
//! [`std::time::SystemTime`] passed in (a nonce carries its issue time, which must mean
//! the same after a restart and on every node sharing the secret, so wall-clock seconds
//! are used rather than an `Instant`).
//!
//! * Server side: [`Verifier`] issues challenges ([`Verifier::challenges`]: SHA-256 first,
//!   then MD5, so old phones still work) and checks [`Credentials`] with
//!   [`Verifier::verify`] (password) or [`Verifier::verify_ha1`] (stored `HA1`).
//! * Client side (the switch registering to a carrier trunk): [`Challenge::parse`],
//!   [`Challenge::best`] and [`authorization`].
//!
//! Decisions:
//! * `MD5-sess` and `SHA-256-sess` are computed on both sides (they cost one extra hash),
//!   but the server only *offers* `SHA-256` and `MD5`.
//! * `qop=auth-int` is not supported (SIP bodies are rarely protected with it; RFC 8760
//!   phones use `auth`). A challenge offering only `auth-int` is answered in RFC 2069 mode.
//! * RFC 2069 answers (no `qop`, hence no `nc`) are refused by default
//!   ([`VerifierConfig::allow_rfc2069`]); when allowed, such a nonce is good for one
//!   request only, since without a nonce count nothing else stops a replay.
//! * The digest-uri is not compared with the Request-URI here (the caller owns the
//!   message); SIP UAs are allowed to differ in URI form.

mod client;
mod credentials;
mod digest;
mod error;
mod nonce;
mod params;
mod verifier;

pub use client::{authorization, Challenge, ChallengeParams};
pub use credentials::Credentials;
pub use digest::{ha1, DigestAlgorithm, Qop};
pub use error::{AuthError, HeaderFault};
pub use verifier::{Verifier, VerifierConfig};
