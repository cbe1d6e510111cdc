//! Fixed dial level with VICIdial `RATIO` semantics (`AST_VDauto_dial.pl`): every 2.5 s,
//! `goal = round(level × (READY + INCALL agents))`, `make = goal − existing`, where
//! `existing` counts ringing, answered-waiting *and bridged* calls. Level 1.0 is
//! progressive except that it only acts on the 2.5 s loop.

use super::{Pacer, Trigger};
use crate::dialer::floor::Floor;
use crate::dialer::Millis;

/// VICIdial's placement loop period.
pub const PLACEMENT_PERIOD: Millis = Millis(2_500);

/// The placement step shared by RATIO and the ADAPT methods.
pub fn vicidial_make(level: f64, floor: &Floor) -> u32 {
    let agents = f64::from(floor.ready() + floor.in_call());
    let goal = (level * agents).round().max(0.0) as u32;
    let existing = floor.in_flight_count() + floor.waiting() + floor.in_call();
    goal.saturating_sub(existing)
}

/// Fixed ratio N:1.
#[derive(Clone, Debug)]
pub struct FixedRatio {
    level: f64,
    next_place: Option<Millis>,
}

impl FixedRatio {
    pub fn new(level: f64) -> Self {
        FixedRatio {
            level,
            next_place: None,
        }
    }
}

impl Pacer for FixedRatio {
    fn calls_to_place(&mut self, now: Millis, floor: &Floor, trigger: Trigger) -> u32 {
        if trigger != Trigger::Tick || self.next_place.is_some_and(|t| now < t) {
            return 0;
        }
        self.next_place = Some(now + PLACEMENT_PERIOD);
        vicidial_make(self.level, floor)
    }
}
