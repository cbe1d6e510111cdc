//! The hopper: leads queued ready to dial, handed out in order.
//!
//! In the simulator leads are dense indices, so the k-th dial of every policy reaches the
//! same lead (common random numbers). The real dialer refills it from the store.

use std::collections::VecDeque;

/// A lead's identity in the campaign list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LeadId(pub u64);

/// Leads ready to dial.
#[derive(Debug, Default)]
pub struct Hopper {
    queue: VecDeque<LeadId>,
    /// When set, the hopper never runs dry: it mints sequential ids from here.
    endless_from: Option<u64>,
}

impl Hopper {
    /// A hopper that mints `LeadId(0), LeadId(1), …` forever (simulation lists).
    pub fn endless() -> Self {
        Hopper {
            queue: VecDeque::new(),
            endless_from: Some(0),
        }
    }

    pub fn push(&mut self, lead: LeadId) {
        self.queue.push_back(lead);
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.endless_from.is_none()
    }

    /// The next lead to dial, if any.
    pub fn pop(&mut self) -> Option<LeadId> {
        if let Some(lead) = self.queue.pop_front() {
            return Some(lead);
        }
        let next = self.endless_from.as_mut()?;
        let lead = LeadId(*next);
        *next += 1;
        Some(lead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_first_then_minted() {
        let mut h = Hopper::endless();
        h.push(LeadId(42));
        assert_eq!(h.pop(), Some(LeadId(42)));
        assert_eq!(h.pop(), Some(LeadId(0)));
        assert_eq!(h.pop(), Some(LeadId(1)));
        let mut fin = Hopper::default();
        assert!(fin.is_empty());
        assert_eq!(fin.pop(), None);
    }
}
