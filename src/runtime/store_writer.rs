//! Writes call starts and CDRs to the store in order, off the signalling path.
//!
//! Whatever has queued up while the previous commit ran is written as one batch in one
//! transaction ([`Store::record_batch`]): at low rates that is one record per commit, at
//! thousands of calls per second it is hundreds, so the writer keeps up without ever
//! delaying a record that could be committed now. If a batch fails, its records are
//! retried one by one so a single bad record cannot take the others with it.

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
    /// Stop after writing everything queued before this.
    Flush,
}

/// The most records in one transaction.
const MAX_BATCH: usize = 1000;

/// Starts the writer; the task ends after a [`StoreJob::Flush`].
pub fn spawn(
    store: Store,
    metrics: Arc<Metrics>,
) -> (mpsc::UnboundedSender<StoreJob>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
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
            write(&store, &metrics, std::mem::take(&mut jobs)).await;
            if flush.is_some() {
                return;
            }
        }
    });
    (tx, task)
}

async fn write(store: &Store, metrics: &Metrics, jobs: Vec<StoreJob>) {
    let mut started = Vec::new();
    let mut ended = Vec::new();
    for job in jobs {
        match job {
            StoreJob::Started(c) => started.push(c),
            StoreJob::Ended(c) => ended.push(c),
            StoreJob::Flush => {}
        }
    }
    let began = Instant::now();
    let ok = store.record_batch(&started, &ended).await.is_ok();
    metrics.store_write(began.elapsed(), started.len() + ended.len(), ok);
    if ok {
        return;
    }
    for c in &started {
        if let Err(e) = store.call_started(c).await {
            tracing::error!(%e, call_id = %c.call_id, "cannot record call start");
        }
    }
    for c in &ended {
        if let Err(e) = store.call_ended(c).await {
            tracing::error!(%e, call_id = %c.call_id, "cannot store CDR");
        }
    }
}
