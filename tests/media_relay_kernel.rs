//! The relay suite of `media_relay.rs` again, with `kernel_forwarding` on: what the
//! relay threads did alone must hold when the kernel forwards the plain audio (where the
//! kernel refuses the program, the engine relays in userspace and this is the same suite
//! twice; `media_kernel.rs` checks that the kernel did forward).

mod media_support;

const KERNEL_FORWARDING: bool = true;
const PORT_OFFSET: u16 = 1000;
include!("media_relay/suite.rs");
