//! Switchboard: a telephony switch.
//!
//! The crate is one binary's worth of subsystems that talk through narrow, typed
//! commands and events (see `DESIGN.md` in the shared folder for the full map):
//!
//! * [`sip`] — the signalling core: our own parser/printer (`sip::message`),
//!   sans-IO transactions (`sip::txn`), transports, dialogs, registrar and digest auth.
//! * [`dialplan`] — `dialplans/*.toml`: contexts, extensions, conditions; pure `route()`.
//! * [`config`] — `switchboard.toml`, validated at load with file, line and reason.
//! * [`runtime`] — wiring: the tokio tasks that drive the sans-IO cores, and the clock
//!   (the only place that reads "now").
//!
//! Imports point down only: `runtime` → `b2bua` → `sip`; `config`, `store` and
//! `dialplan` sit at the bottom and import none of the others.

pub mod b2bua;
pub mod config;
pub mod dialer;
pub mod dialplan;
pub mod media;
pub mod runtime;
pub mod sip;
pub mod store;
pub mod switch;
