//! A min-heap of wake-ups. Entries are never removed early: a popped entry whose owner
//! has meanwhile rescheduled (or finished) is simply fired and the owner ignores it,
//! which keeps scheduling O(log n) without a cancellation index.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

pub struct TimerHeap<T: Ord> {
    heap: BinaryHeap<Reverse<(Instant, T)>>,
}

impl<T: Ord> Default for TimerHeap<T> {
    fn default() -> Self {
        TimerHeap {
            heap: BinaryHeap::new(),
        }
    }
}

impl<T: Ord + Copy> TimerHeap<T> {
    pub fn schedule(&mut self, at: Instant, owner: T) {
        self.heap.push(Reverse((at, owner)));
    }

    /// The next owner due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<T> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse((_, o))| o),
            _ => None,
        }
    }

    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_deadline_order_only_when_due() {
        let t0 = Instant::now();
        let mut h = TimerHeap::default();
        h.schedule(t0 + Duration::from_millis(20), 2u8);
        h.schedule(t0 + Duration::from_millis(10), 1u8);
        assert_eq!(h.next(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(h.pop_due(t0), None);
        assert_eq!(h.pop_due(t0 + Duration::from_millis(15)), Some(1));
        assert_eq!(h.pop_due(t0 + Duration::from_millis(15)), None);
        assert_eq!(h.pop_due(t0 + Duration::from_millis(20)), Some(2));
    }
}
