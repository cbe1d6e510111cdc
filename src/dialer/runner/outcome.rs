//! What a failed outbound INVITE's final status says about the lead (RFC 3261 §21, and
//! the trade's reading of it): the person is busy, the number does not exist, nobody
//! answered, or the network failed.

use crate::dialer::floor::FailCause;
use crate::store::AttemptOutcome;

/// The attempt outcome and the pacer's view of a final non-2xx status.
pub fn classify(status: u16) -> (AttemptOutcome, FailCause) {
    match status {
        486 | 600 | 603 => (AttemptOutcome::Busy, FailCause::Rejected),
        404 | 410 | 484 | 604 => (AttemptOutcome::Invalid, FailCause::Rejected),
        // Ring-no-answer (our CANCEL at the ring timeout gives 487) or the callee's
        // phone was unreachable.
        480 | 408 | 487 => (AttemptOutcome::NoAnswer, FailCause::NoAnswer),
        _ => (AttemptOutcome::Congestion, FailCause::Rejected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_outcomes_the_retry_rules_know() {
        assert_eq!(classify(486).0, AttemptOutcome::Busy);
        assert_eq!(classify(603).0, AttemptOutcome::Busy);
        assert_eq!(classify(404).0, AttemptOutcome::Invalid);
        assert_eq!(classify(484).0, AttemptOutcome::Invalid);
        assert_eq!(
            classify(487),
            (AttemptOutcome::NoAnswer, FailCause::NoAnswer)
        );
        assert_eq!(classify(480).0, AttemptOutcome::NoAnswer);
        assert_eq!(classify(503).0, AttemptOutcome::Congestion);
        assert_eq!(classify(500).0, AttemptOutcome::Congestion);
        assert_eq!(classify(403).0, AttemptOutcome::Congestion);
    }
}
