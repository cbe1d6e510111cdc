//! Writes call starts and CDRs to the store in order, off the signalling path.
//!
//! Whatever has queued up while the previous commit ran is written as one batch in one
//! transaction ([`Store::record_batch`]): at low rates that is one record per commit, at
//! thousands of calls per second it is hundreds, so the writer keeps up without ever
//! delaying a record that could be committed now. If a batch fails, its records are
//! retried one by one so a single bad record cannot take the others with it.
//!
//! After each batch the writer tells the core task how far the store has got
//! ([`Written`]): the switch holds the responses that vouch for a record (a BYE's 200, the
//! caller's answer) until then. The core numbers the records as the switch does and sends
//! [`StoreJob::Through`] after them, so the writer never counts on its own.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::api::metrics::Metrics;

use crate::store::{CallStart, Cdr, Store};

#[derive(Debug)]
pub enum StoreJob {
    Started(CallStart),
    Ended(Cdr),
    /// The records sent before this one are numbered up to this (the switch's numbering,
    /// [`crate::switch::Switch::records_output`]): report it once they are written.
    Through(u64),
    /// Stop after writing everything queued before this.
    Flush,
}

/// How far the store has got, reported after each batch that carried a
/// [`StoreJob::Through`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Every record numbered up to this is written (or given up).
    pub through: u64,
    /// False when some record of this batch could not be written.
    pub committed: bool,
}

/// The core task's side of the writer: jobs in, progress back.
pub struct StoreLink {
    pub jobs: mpsc::UnboundedSender<StoreJob>,
    pub written: mpsc::UnboundedReceiver<Written>,
    /// Where the core counts responses that left without their record.
    pub metrics: Arc<Metrics>,
}

/// The most records in one transaction.
const MAX_BATCH: usize = 1000;

/// Starts the writer; the task ends after a [`StoreJob::Flush`].
pub fn spawn(store: Store, metrics: Arc<Metrics>) -> (StoreLink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (written_tx, written) = mpsc::unbounded_channel();
    let link = StoreLink {
        jobs: tx,
        written,
        metrics: metrics.clone(),
    };
    let task = tokio::spawn(async move {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        loop {
            if rx.recv_many(&mut jobs, MAX_BATCH).await == 0 {
                return;
            }
            let flush = jobs.iter().position(|j| matches!(j, StoreJob::Flush));
            if let Some(at) = flush {
                jobs.truncate(at);
            }
            let through = jobs.iter().rev().find_map(|j| match j {
                StoreJob::Through(n) => Some(*n),
                _ => None,
            });
            let committed = write(&store, &metrics, std::mem::take(&mut jobs)).await;
            if let Some(through) = through {
                // The core may be gone (stopping): nobody waits any more.
                let _ = written_tx.send(Written { through, committed });
            }
            if flush.is_some() {
                return;
            }
        }
    });
    (link, task)
}

/// Writes one batch; false if some record could not be written.
async fn write(store: &Store, metrics: &Metrics, jobs: Vec<StoreJob>) -> bool {
    let mut started = Vec::new();
    let mut ended = Vec::new();
    for job in jobs {
        match job {
            StoreJob::Started(c) => started.push(c),
            StoreJob::Ended(c) => ended.push(c),
            StoreJob::Through(_) | StoreJob::Flush => {}
        }
    }
    if started.is_empty() && ended.is_empty() {
        return true;
    }
    let began = Instant::now();
    let ok = store.record_batch(&started, &ended).await.is_ok();
    metrics.store_write(began.elapsed(), started.len() + ended.len(), ok);
    if ok {
        return true;
    }
    let mut all = true;
    for c in &started {
        if let Err(e) = store.call_started(c).await {
            tracing::error!(%e, call_id = %c.call_id, "cannot record call start");
            all = false;
        }
    }
    for c in &ended {
        if let Err(e) = store.call_ended(c).await {
            tracing::error!(%e, call_id = %c.call_id, "cannot store CDR");
            all = false;
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CallRecordId, HangupSide};

    fn start(id: &str) -> CallStart {
        CallStart {
            id: CallRecordId::from(id),
            call_id: format!("{id}@test"),
            caller: "a".into(),
            callee: "b".into(),
            direction: None,
            started_at_ms: 1_800_000_000_000,
        }
    }

    fn cdr(id: &str) -> Cdr {
        Cdr {
            id: CallRecordId::from(id),
            call_id: format!("{id}@test"),
            caller: "a".into(),
            callee: "b".into(),
            direction: None,
            started_at_ms: 1_800_000_000_000,
            answered_at_ms: None,
            ended_at_ms: 1_800_000_001_000,
            duration_ms: 1_000,
            billable_ms: 0,
            sip_status: 486,
            hangup_side: HangupSide::Callee,
            hangup_cause: "busy".into(),
            legs: Vec::new(),
            media: Vec::new(),
        }
    }

    #[tokio::test]
    async fn the_writer_reports_how_far_the_store_has_got() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = Store::open(&url).await.unwrap();
        let (mut link, task) = spawn(store.clone(), Arc::new(Metrics::new()));
        link.jobs.send(StoreJob::Started(start("r1"))).unwrap();
        link.jobs.send(StoreJob::Through(1)).unwrap();
        let w = link.written.recv().await.expect("progress");
        assert_eq!(
            w,
            Written {
                through: 1,
                committed: true
            }
        );
        assert_eq!(store.in_flight_count().await.unwrap(), 1, "committed first");

        link.jobs.send(StoreJob::Ended(cdr("r1"))).unwrap();
        link.jobs.send(StoreJob::Through(2)).unwrap();
        assert_eq!(link.written.recv().await.unwrap().through, 2);
        assert_eq!(store.cdr_count().await.unwrap(), 1);

        // A record the store refuses (the same CDR again) is reported as not committed:
        // the switch then sends its held responses anyway and counts them.
        link.jobs.send(StoreJob::Ended(cdr("r1"))).unwrap();
        link.jobs.send(StoreJob::Through(3)).unwrap();
        let w = link.written.recv().await.unwrap();
        assert_eq!(
            w,
            Written {
                through: 3,
                committed: false
            }
        );

        link.jobs.send(StoreJob::Flush).unwrap();
        task.await.unwrap();
        assert!(link.written.recv().await.is_none(), "the writer ended");
    }
}
