//! The relay over real UDP sockets on 127.0.0.1; test sockets play the two phones.
//! Every receive is bounded (2 s) so a bug fails instead of hanging; no fixed sleeps.

mod media_support;

const KERNEL_FORWARDING: bool = false;
const PORT_OFFSET: u16 = 0;
include!("media_relay/suite.rs");
