//! Writes call starts and CDRs to the store in order, off the signalling path. Each
//! record is committed in its own transaction as soon as it arrives (the store module
//! decides durability); a failure is logged and retried once.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::store::{CallStart, Cdr, Store};

#[derive(Debug)]
pub enum StoreJob {
    Started(CallStart),
    Ended(Cdr),
    /// Stop after writing everything queued before this.
    Flush,
}

/// Starts the writer; the task ends after a [`StoreJob::Flush`].
pub fn spawn(store: Store) -> (mpsc::UnboundedSender<StoreJob>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(job) = rx.recv().await {
            match job {
                StoreJob::Started(c) => {
                    if let Err(e) = store.call_started(&c).await {
                        tracing::error!(%e, call_id = %c.call_id, "cannot record call start");
                    }
                }
                StoreJob::Ended(c) => {
                    let mut result = store.call_ended(&c).await;
                    if result.is_err() {
                        result = store.call_ended(&c).await;
                    }
                    if let Err(e) = result {
                        tracing::error!(%e, call_id = %c.call_id, "cannot store CDR");
                    }
                }
                StoreJob::Flush => break,
            }
        }
    });
    (tx, task)
}
