//! The registrar's location service: bindings from an address-of-record to the contacts
//! where its user can be reached (RFC 3261 §10.3).
//!
//! This module owns the bindings and the REGISTER processing rules of §10.3 steps 6–8:
//! the `*` wildcard, expiry selection (Contact `expires` param, else the Expires header,
//! else the default), 423 Interval Too Brief, clamping to a maximum, Call-ID/CSeq
//! ordering, several contacts per AOR with q-ordered lookup. It is pure logic: inputs are
//! a [`RegisterRequest`] the caller builds from the parsed message (after digest
//! authentication), and time is an [`std::time::Instant`] passed in.
//!
//! ```text
//!   (none) --REGISTER expires>0--> bound --refresh--> bound
//!                                    |--expires=0 / * --> (none)
//!                                    |--expires_at <= now --> expired --purge--> (none)
//! ```
//!
//! Decisions, beyond RFC 3261:
//! * A contact carrying `+sip.instance` is matched by (instance, `reg-id`) rather than by
//!   URI (as RFC 5626/5627 registrars do), so a phone whose NATed address changed
//!   replaces its old binding instead of adding a second one. Other contacts match by a
//!   normalised URI (scheme, host and parameters case-insensitive; user part exact).
//! * More than `max_contacts` live bindings: 403 Forbidden (a policy refusal; 503 would
//!   invite retries), unless [`RegistrarPolicy::evict_when_full`] is set, in which case
//!   the bindings closest to expiry (not touched by this request) make room.
//! * Same Call-ID with CSeq not above the stored one: 500 (RFC 3261 only says "the
//!   request fails"; 500 is what common registrars send).
//! * A contact without `q` sorts as `q=1.0`; ties keep registration order.

mod aor;
mod binding;
mod error;
mod location;

pub use aor::{Aor, AorError};
pub use binding::{Binding, ContactSet, ContactSpec, RegisterRequest, Transport};
pub use error::RegisterError;
pub use location::{RegisterOutcome, Registrar, RegistrarPolicy};
