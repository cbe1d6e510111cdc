//! Progressive 1:1: one call per idle agent not already covered by a call in flight
//! or an answered call waiting. The floor every other policy must not go below.

use super::{Pacer, Trigger};
use crate::dialer::floor::Floor;
use crate::dialer::Millis;

/// Progressive 1:1.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progressive;

impl Pacer for Progressive {
    fn calls_to_place(&mut self, _now: Millis, floor: &Floor, _trigger: Trigger) -> u32 {
        floor.progressive_need()
    }
}
