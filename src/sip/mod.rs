//! The SIP signalling core (RFC 3261 and friends).
//!
//! Each submodule owns one layer; none of them reads the clock (time is passed in as
//! `Instant`s) except the thin tokio drivers in `transport`.

pub mod auth;
pub mod dialog;
pub mod dialog_auth;
pub mod layer;
pub mod message;
pub mod registrar;
pub mod sdp;
pub mod transport;
pub mod txn;
