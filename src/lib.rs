//! Switchboard: a telephony switch.
//!
//! The crate is one binary's worth of subsystems that talk through narrow, typed
//! commands and events:
//!
//! * [`sip`] — the signalling core: our own parser/printer (`sip::message`), sans-IO
//!   transactions (`sip::txn`) and the layer that multiplexes them (`sip::layer`),
//!   dialogs, transports, registrar, digest auth and SDP.
//! * [`b2bua`] — the call model: legs, forking, relaying, CDR records.
//! * [`switch`] — the sans-IO switch core: request pipeline, REGISTER, INVITE admission.
//! * [`runtime`] — wiring: the tokio tasks that drive the switch, and the clock (the
//!   only place that reads "now").
//! * [`config`], [`dialplan`], [`store`] — configuration, routing language, durable
//!   storage; they sit at the bottom and import none of the others.
//! * [`media`] — the RTP relay; [`dialer`] — pacing and the dialer simulator.
//!
//! Imports point down only: `runtime` → `switch` → `b2bua` → `sip`.

pub mod acd;
pub mod b2bua;
pub mod config;
pub mod dialer;
pub mod dialplan;
pub mod media;
pub mod runtime;
pub mod sip;
pub mod store;
pub mod switch;
