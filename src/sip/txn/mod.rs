//! SIP transactions: the four RFC 3261 §17 state machines, with RFC 6026's `Accepted`
//! state for INVITE, plus the UAS core's 2xx retransmission (RFC 3261 §13.3.1.4).
//!
//! This module owns the per-transaction state and its timers A–M ([`TsxTimer`], a table
//! indexed by the enum, durations from [`TimerConfig`]). It does not own matching
//! (§17.1.3 / §17.2.3: the driver finds the transaction by branch and method), message
//! parsing or building (messages are opaque [`Bytes`] plus their status code; the one
//! message the transaction layer itself builds, the ACK to a non-2xx final response, comes
//! from a closure the TU hands in), or IO. It never reads the clock and never imports tokio.
//!
//! # Driving contract (str0m / quinn style)
//!
//! Every input carries `now`. After each input (`new`, `on_response`, `send_response`,
//! `on_request_retransmission`, `on_ack`, `on_timer`, `on_transport_error`) the driver
//! drains [`poll_output`](ClientInviteTsx::poll_output) until it returns `None`, then sleeps
//! until [`poll_timeout`](ClientInviteTsx::poll_timeout) and calls `on_timer` with that
//! instant (or later). `next_timer` names the timer for logs. When the driver sees
//! [`TsxOutput::Terminated`] it drops the transaction (RFC 3261: "destroyed the instant it
//! enters the Terminated state"); inputs after that are ignored. [`TsxOutput::Transmit`]
//! goes to the transaction's peer (for a server transaction: per §18.2.2 / RFC 3581).
//!
//! `on_timer` fires every due timer, earliest first (on a tie, the timeout B/F/H before the
//! retransmission A/E/G, so nothing is sent just before giving up) and each at most once per
//! call; retransmission timers are re-armed relative to `now`, so a late wake-up never
//! causes a burst. Linger timers that are zero on reliable transports (D, I, J, K) are not
//! armed: the transaction terminates at once.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use bytes::Bytes;
//! use switchboard::sip::txn::{ClientNonInviteTsx, TimerConfig, TsxOutput};
//!
//! let t0 = Instant::now();
//! let options = Bytes::from_static(b"OPTIONS sip:carrier.example SIP/2.0\r\n...");
//! let mut tsx = ClientNonInviteTsx::new(t0, &TimerConfig::default(), false, options);
//! let (mut sends, mut now) = (Vec::new(), t0);
//! loop {
//!     while let Some(output) = tsx.poll_output() {
//!         match output {
//!             TsxOutput::Transmit(_bytes) => sends.push(now - t0), // socket.send_to(..)
//!             TsxOutput::Timeout => { /* the TU acts on a 408 */ }
//!             TsxOutput::TransportError => { /* the TU acts on a 503 */ }
//!             TsxOutput::Terminated => { /* remove it from the transaction map */ }
//!         }
//!     }
//!     // A real driver selects on the socket too and calls `on_response` when one matches.
//!     let Some(deadline) = tsx.poll_timeout() else { break };
//!     now = deadline;
//!     tsx.on_timer(now);
//! }
//! assert_eq!(sends.len(), 11); // 0, 0.5, 1.5, 3.5, 7.5, 11.5 … 31.5 s
//! assert_eq!(now - t0, Duration::from_secs(32)); // Timer F
//! ```
//!
//! # Client INVITE ([`ClientInviteTsx`]; RFC 3261 Figure 5 as amended by RFC 6026 §7.2)
//!
//! ```text
//!                          | INVITE from TU
//!                          | INVITE sent; A = T1 (UDP only), B = 64*T1
//!                          V
//!                    +------------+----+ Timer A fires: INVITE re-sent, A doubled
//!                    |  Calling   |    |
//!                    |            |<---+
//!                    +------------+-----------------------------------------------+
//!                      |   |    |         Timer B fires: Timeout (TU: 408)        |
//!                      |   |    |         transport error: TransportError         |
//!                      |   |    | 2xx: to TU                                      |
//!                      |   |    +------------------------+                        |
//!   300-699: to TU,    |   | 1xx: to TU                  |                        |
//!   ACK sent           |   | (A and B stop)              V                        |
//!                      |   V                      +------------+----+ 2xx: to TU  |
//!                      |  +------------+  2xx:    |  Accepted  |    | 1xx, 300-699:
//!                      |  | Proceeding |--------->|  M = 64*T1 |<---+ absorbed    |
//!                      |  |            |----+     +------------+                  |
//!                      |  |            |<---+ 1xx: to TU |                        |
//!                      |  +------------+---------------- | --------------------+  |
//!                      |      |    transport error:      |                     |  |
//!                      |      |    TransportError        |                     |  |
//!                      |      | 300-699: to TU, ACK sent |                     |  |
//!                      V      V                          |                     |  |
//!                    +------------+----+ 300-699 again:  |                     |  |
//!                    | Completed  |    | the same ACK    |                     |  |
//!                    | D = 32 s   |<---+ re-sent,        |                     |  |
//!                    | 0 reliable |      absorbed        |                     |  |
//!                    +------------+--------------------- | -----------------+  |  |
//!                          |       transport error:      |                  |  |  |
//!                          |       TransportError        |                  |  |  |
//!                          | Timer D fires               | Timer M fires    |  |  |
//!                          V                             V                  V  V  V
//!     +---------------------------------------------------------------------------+
//!     |                                Terminated                                 |
//!     +---------------------------------------------------------------------------+
//! ```
//!
//! A 1xx stops Timer A *and* Timer B: RFC 3261 §17.1.1.2 gives Timer B effect only in
//! Calling; a ringing INVITE is bounded by the TU (CANCEL, or Timer C in a proxy). Inside
//! Accepted the transaction sends nothing (the ACK to a 2xx is the TU's), so a transport
//! error there is not the transaction's and is ignored.
//!
//! # Client non-INVITE ([`ClientNonInviteTsx`]; RFC 3261 Figure 6)
//!
//! ```text
//!                          | request from TU
//!                          | request sent; E = T1 (UDP only), F = 64*T1
//!                          V
//!                    +------------+----+ Timer E fires: request re-sent,
//!                    |   Trying   |    | E = min(2E, T2)
//!                    |            |<---+
//!                    +------------+---------------------------------------------+
//!                      |      |          Timer F fires: Timeout (TU: 408)       |
//!                      |      |          transport error: TransportError        |
//!                      |      | 1xx: to TU (E keeps its deadline)               |
//!                      |      V                                                 |
//!                      |  +------------+----+ 1xx: to TU                        |
//!   200-699: to TU     |  | Proceeding |    | Timer E fires: request re-sent,   |
//!                      |  |            |<---+ E = T2                            |
//!                      |  +------------+--------------------------------------+ |
//!                      |      |          Timer F fires: Timeout               | |
//!                      |      |          transport error: TransportError      | |
//!                      |      | 200-699: to TU                                | |
//!                      V      V                                               | |
//!                    +------------+----+ any response: absorbed               | |
//!                    | Completed  |    |                                      | |
//!                    | K = T4 UDP |<---+                                      | |
//!                    | 0 reliable |                                           | |
//!                    +------------+                                           | |
//!                          | Timer K fires                                    | |
//!                          V                                                  V V
//!     +---------------------------------------------------------------------------+
//!     |                                Terminated                                 |
//!     +---------------------------------------------------------------------------+
//! ```
//!
//! # Server INVITE ([`ServerInviteTsx`]; RFC 3261 Figure 7 as amended by RFC 6026 §7.1)
//!
//! ```text
//!                          | INVITE: the driver passes it to the TU and sends
//!                          | 100 Trying through send_response
//!                          V
//!                    +------------+----+ 1xx from TU: sent
//!                    | Proceeding |    | INVITE again: last 1xx re-sent
//!                    |            |<---+ transport error: TransportError
//!                    +------------+
//!                      |        | 2xx from TU: sent
//!                      |        +----------------------------+
//!   300-699 from TU:   |                                     V
//!   sent; G = T1       |                              +------------+----+ INVITE: absorbed
//!   (UDP only),        |                              |  Accepted  |    | ACK: to TU
//!   H = 64*T1          V                              |  L = 64*T1 |<---+ 2xx from TU: sent
//!                    +------------+----+ INVITE:      +------------+      transport error:
//!                    | Completed  |    | final re-sent       |            TransportError
//!                    |            |<---+ Timer G fires:      |
//!                    +------------+      final re-sent,      |
//!                      |      |          G = min(2G, T2)     |
//!                      |      |          transport error:    |
//!                      |      |          TransportError      |
//!                      |      | ACK: absorbed                |
//!                      |      | I = T4 (UDP), 0 reliable     |
//!                      |      V                              |
//!                      |  +------------+----+ INVITE, ACK:   |
//!   Timer H fires:     |  | Confirmed  |    | absorbed       |
//!   Timeout            |  |            |<---+                |
//!   (ACK never came)   |  +------------+                     |
//!                      |      | Timer I fires                | Timer L fires
//!                      V      V                              V
//!     +---------------------------------------------------------------------------+
//!     |                                Terminated                                 |
//!     +---------------------------------------------------------------------------+
//! ```
//!
//! RFC 6026 makes a transport error a self-loop (inform the TU, which may try RFC 3263 §5
//! fall-backs) in Proceeding, Completed and Accepted; Completed still ends by Timer H.
//!
//! # Server non-INVITE ([`ServerNonInviteTsx`]; RFC 3261 Figure 8)
//!
//! ```text
//!                          | request: the driver passes it to the TU
//!                          V
//!                    +------------+----+ request again: absorbed silently
//!                    |   Trying   |    |
//!                    |            |<---+
//!                    +------------+
//!                      |      | 1xx from TU: sent
//!                      |      V
//!                      |  +------------+----+ 1xx from TU: sent
//!                      |  | Proceeding |    | request again: last 1xx re-sent
//!                      |  |            |<---+
//!   200-699 from TU:   |  +------------+--------------------------------------+
//!   sent               |      |          transport error: TransportError      |
//!                      |      | 200-699 from TU: sent                         |
//!                      V      V                                               |
//!                    +------------+----+ request again: final re-sent         |
//!                    | Completed  |    |                                      |
//!                    | J = 64*T1  |<---+                                      |
//!                    | UDP, 0 rel.|-------------------------------------------+ |
//!                    +------------+      transport error: TransportError      | |
//!                          | Timer J fires                                    | |
//!                          V                                                  V V
//!     +---------------------------------------------------------------------------+
//!     |                                Terminated                                 |
//!     +---------------------------------------------------------------------------+
//! ```
//!
//! # 2xx retransmission by the UAS core ([`AnswerRetransmitter`]; RFC 3261 §13.3.1.4)
//!
//! A 2xx to INVITE is retransmitted end to end by the UAS core, not by the transaction:
//! the transaction sends it once, then the retransmitter re-sends it after intervals of T1,
//! 2T1, 4T1 … capped at T2, *whatever the transport* (a UDP hop may lie beyond a TCP one),
//! until the ACK arrives. After 64·T1 without an ACK it reports
//! [`TsxOutput::Timeout`] and the TU ends the session with a BYE.

/// The driving contract every transaction machine shares (`poll_output`, `poll_timeout`,
/// `next_timer`, `state`, `is_terminated`) and its private `terminate`, written once over
/// the machine's `core` and `state` fields.
macro_rules! driving_contract {
    ($tsx:ident, $state:ident) => {
        impl $tsx {
            pub fn poll_output(&mut self) -> Option<TsxOutput> {
                self.core.poll_output()
            }

            pub fn poll_timeout(&self) -> Option<Instant> {
                self.core.poll_timeout()
            }

            /// The next timer to fire and when, for logs.
            pub fn next_timer(&self) -> Option<(TsxTimer, Instant)> {
                self.core.timers.next()
            }

            pub fn state(&self) -> $state {
                self.state
            }

            pub fn is_terminated(&self) -> bool {
                self.state == $state::Terminated
            }

            fn terminate(&mut self) {
                self.state = $state::Terminated;
                self.core.terminate();
            }
        }
    };
}
pub(crate) use driving_contract;

mod answer;
mod client_invite;
mod client_non_invite;
mod core;
mod server_invite;
mod server_non_invite;
mod timer;

#[cfg(test)]
mod testkit;

use bytes::Bytes;

pub use answer::AnswerRetransmitter;
pub use client_invite::{ClientInviteState, ClientInviteTsx};
pub use client_non_invite::{ClientNonInviteState, ClientNonInviteTsx};
pub use server_invite::{ServerInviteState, ServerInviteTsx};
pub use server_non_invite::{ServerNonInviteState, ServerNonInviteTsx};
pub use timer::{TimerConfig, TimerTable, TsxTimer};

/// What a transaction asks its driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsxOutput {
    /// Send these bytes to the transaction's peer.
    Transmit(Bytes),
    /// Timer B, F or H fired (or the [`AnswerRetransmitter`] gave up). Client: the TU acts
    /// as if a 408 (Request Timeout) arrived. Server INVITE: the ACK never came.
    Timeout,
    /// The transport could not deliver a message (RFC 3261 §17.1.4, §17.2.4). Client: the
    /// TU tries the next RFC 3263 target or acts as if a 503 arrived.
    TransportError,
    /// The transaction is over; drop it. Always the last output.
    Terminated,
}

/// Where an incoming response (client) or ACK (server) goes.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Pass it up to the TU.
    ToTu,
    /// The transaction consumed it (a retransmission, or a message its state ignores).
    Absorb,
}

/// A TU asked a server transaction for something its state forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsxError {
    /// Status codes outside 100..=699 cannot be sent (RFC 3261 §7.2).
    #[error("status code {0} is outside 100..=699")]
    InvalidStatus(u16),
    /// A response after the final one (e.g. a 487 racing a 200), or a non-2xx in `Accepted`.
    #[error("cannot send a {status} response: the transaction is {state}")]
    WrongState {
        /// The status the TU tried to send.
        status: u16,
        /// The transaction's state, for logs.
        state: &'static str,
    },
}
