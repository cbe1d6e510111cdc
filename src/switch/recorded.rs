//! Responses that tell a peer "your call is recorded" wait here until the store has the
//! record they vouch for (issue 6: a call a peer saw complete is never lost to a crash).
//!
//! * The 200 to a BYE (either side) waits for the call's CDR.
//! * The 200 relayed from the callee to the caller waits for the call's in-flight row, so a
//!   crash after it leaves a `restart` CDR. The switch's own answer (IVR, queue) is not
//!   held: its program goes on at once, and a prompt's end or BYE must not overtake it.
//!
//! Records are numbered 1, 2, 3… in the order the switch outputs them
//! ([`super::SwitchOutput::CallStarted`] and [`super::SwitchOutput::CallEnded`]); the
//! runtime reports the highest number the store is done with ([`super::Switch::on_recorded`]).
//! A held response waits for one number: a BYE's 200 for the last record output when it
//! was decided (the CDR is output in the same step), an answer for its call's start record
//! (usually committed long before, while the callee rang: then it leaves at once).
//!
//! Held responses sit in front of the transaction layer, which absorbs retransmitted
//! requests meanwhile (a UDP BYE's retransmission finds its transaction still `Trying`; a
//! CANCEL crossing a held answer gets 200 and no 487, see `TransactionLayer::hold_final`).
//! Other calls' signalling never waits. If the store reports a failure, or has not answered
//! within [`RecordWait`], the response leaves anyway — signalling must not die with the disk —
//! and is counted in [`super::SwitchStats::sent_unrecorded`].

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::b2bua::AfterRecord;
use crate::store::CallRecordId;

/// How long a response waits for the store before it leaves anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordWait(pub Duration);

impl Default for RecordWait {
    fn default() -> Self {
        RecordWait(Duration::from_secs(2))
    }
}

struct Held<T> {
    /// The record number that must be done first.
    after: u64,
    since: Instant,
    response: T,
}

/// Record numbering, what the store has done, and the responses that wait for it.
pub(super) struct Recorded<T> {
    /// The number of the last record output.
    output: u64,
    /// Every record up to this number is done (committed, or given up after an error).
    done: u64,
    /// Start records not yet done: id → number (found by an answer).
    starts: HashMap<CallRecordId, u64>,
    /// The same, in number order (to forget them once done).
    starts_order: VecDeque<(u64, CallRecordId)>,
    /// In arrival order (so the front is the oldest).
    held: VecDeque<Held<T>>,
    wait: RecordWait,
}

impl<T> Default for Recorded<T> {
    fn default() -> Self {
        Recorded {
            output: 0,
            done: 0,
            starts: HashMap::new(),
            starts_order: VecDeque::new(),
            held: VecDeque::new(),
            wait: RecordWait::default(),
        }
    }
}

/// Why a held response leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Release {
    /// Its record is committed.
    Recorded,
    /// The store failed on the batch that held its record, or did not answer in time.
    Unrecorded,
}

impl<T> Recorded<T> {
    pub(super) fn with_wait(wait: RecordWait) -> Recorded<T> {
        Recorded {
            wait,
            ..Recorded::default()
        }
    }

    /// Numbers one start record being output; returns its number.
    pub(super) fn start_output(&mut self, id: &CallRecordId) -> u64 {
        self.output += 1;
        self.starts.insert(id.clone(), self.output);
        self.starts_order.push_back((self.output, id.clone()));
        self.output
    }

    /// Numbers one CDR being output; returns its number.
    pub(super) fn end_output(&mut self) -> u64 {
        self.output += 1;
        self.output
    }

    /// The number of the last record output.
    pub(super) fn output(&self) -> u64 {
        self.output
    }

    /// The record number a response waiting for `after` waits for (0: nothing to wait for).
    pub(super) fn number_of(&self, after: &AfterRecord) -> u64 {
        match after {
            AfterRecord::Everything => self.output,
            AfterRecord::Start(id) => self.starts.get(id).copied().unwrap_or(0),
        }
    }

    /// Takes a response that waits for record `after`; gives it back if that is done.
    pub(super) fn hold(&mut self, now: Instant, after: u64, response: T) -> Option<T> {
        if after <= self.done {
            return Some(response);
        }
        self.held.push_back(Held {
            after,
            since: now,
            response,
        });
        None
    }

    /// The store is done with every record up to `through`; `committed` is false when some
    /// of them could not be written. Returns the responses that may leave now.
    pub(super) fn on_done(&mut self, through: u64, committed: bool) -> Vec<(T, Release)> {
        let through = through.min(self.output);
        if through <= self.done {
            return Vec::new();
        }
        self.done = through;
        while let Some((n, _)) = self.starts_order.front() {
            if *n > self.done {
                break;
            }
            if let Some((_, id)) = self.starts_order.pop_front() {
                self.starts.remove(&id);
            }
        }
        let why = match committed {
            true => Release::Recorded,
            false => Release::Unrecorded,
        };
        let done = self.done;
        self.take(|h| h.after <= done, why)
    }

    /// Releases the responses that waited [`RecordWait`] or longer.
    pub(super) fn on_timeout(&mut self, now: Instant) -> Vec<(T, Release)> {
        let wait = self.wait.0;
        self.take(|h| now >= h.since + wait, Release::Unrecorded)
    }

    /// When the oldest held response stops waiting.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.held.front().map(|h| h.since + self.wait.0)
    }

    /// Responses still waiting for the store.
    pub(super) fn len(&self) -> usize {
        self.held.len()
    }

    fn take(&mut self, due: impl Fn(&Held<T>) -> bool, why: Release) -> Vec<(T, Release)> {
        if !self.held.iter().any(&due) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut keep = VecDeque::with_capacity(self.held.len());
        for h in self.held.drain(..) {
            match due(&h) {
                true => out.push((h.response, why)),
                false => keep.push_back(h),
            }
        }
        self.held = keep;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERYTHING: AfterRecord = AfterRecord::Everything;

    fn hold<T>(r: &mut Recorded<T>, now: Instant, after: &AfterRecord, v: T) -> Option<T> {
        let n = r.number_of(after);
        r.hold(now, n, v)
    }

    #[test]
    fn a_response_waits_for_its_record_and_no_longer() {
        let t0 = Instant::now();
        let mut r = Recorded::default();
        let a = CallRecordId::from("A");
        let start_a = AfterRecord::Start(a.clone());
        assert_eq!(r.start_output(&a), 1);
        assert_eq!(r.end_output(), 2);
        // A BYE's 200 decided now waits for record 2; the answer of A for record 1.
        assert_eq!(hold(&mut r, t0, &EVERYTHING, "bye 200"), None);
        assert_eq!(hold(&mut r, t0, &start_a, "answer"), None);
        assert_eq!(r.len(), 2);
        assert_eq!(r.on_done(1, true), vec![("answer", Release::Recorded)]);
        assert!(
            r.on_done(1, true).is_empty(),
            "an old ack releases nothing more"
        );
        assert_eq!(r.on_done(2, true), vec![("bye 200", Release::Recorded)]);
        assert_eq!(r.len(), 0);
        // Done records hold nothing back any more.
        assert_eq!(hold(&mut r, t0, &start_a, "re-answer"), Some("re-answer"));
        assert_eq!(hold(&mut r, t0, &EVERYTHING, "bye"), Some("bye"));
        // A start never output waits for nothing.
        let unknown = AfterRecord::Start("unknown".into());
        assert_eq!(hold(&mut r, t0, &unknown, "x"), Some("x"));
    }

    #[test]
    fn an_answer_waits_for_its_own_start_not_for_later_records() {
        let t0 = Instant::now();
        let mut r = Recorded::default();
        let (a, b) = (CallRecordId::from("A"), CallRecordId::from("B"));
        r.start_output(&a);
        r.start_output(&b);
        r.end_output();
        assert_eq!(
            hold(&mut r, t0, &AfterRecord::Start(b.clone()), "answer B"),
            None
        );
        assert_eq!(
            hold(&mut r, t0, &AfterRecord::Start(a.clone()), "answer A"),
            None
        );
        assert_eq!(r.on_done(1, true), vec![("answer A", Release::Recorded)]);
        assert_eq!(r.on_done(3, true), vec![("answer B", Release::Recorded)]);
    }

    #[test]
    fn a_failed_or_silent_store_releases_responses_as_unrecorded() {
        let t0 = Instant::now();
        let mut r = Recorded::with_wait(RecordWait(Duration::from_secs(2)));
        r.end_output();
        assert_eq!(hold(&mut r, t0, &EVERYTHING, 1), None);
        assert_eq!(r.on_done(1, false), vec![(1, Release::Unrecorded)]);

        r.end_output();
        assert_eq!(hold(&mut r, t0, &EVERYTHING, 2), None);
        r.end_output();
        let later = t0 + Duration::from_millis(500);
        assert_eq!(hold(&mut r, later, &EVERYTHING, 3), None);
        assert_eq!(r.next_deadline(), Some(t0 + Duration::from_secs(2)));
        assert!(r.on_timeout(t0 + Duration::from_millis(1999)).is_empty());
        assert_eq!(
            r.on_timeout(t0 + Duration::from_secs(2)),
            vec![(2, Release::Unrecorded)]
        );
        assert_eq!(r.next_deadline(), Some(later + Duration::from_secs(2)));
        // An ack for more than was output cannot mark future records done.
        assert_eq!(r.on_done(99, true), vec![(3, Release::Recorded)]);
        r.end_output();
        assert_eq!(hold(&mut r, later, &EVERYTHING, 4), None);
        assert_eq!(r.next_deadline(), Some(later + Duration::from_secs(2)));
    }
}
