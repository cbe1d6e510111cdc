//! Writes call starts and CDRs to the store in order, off the signalling path; also the
//! agent state history and the recordings index.
//!
//! Whatever has queued up while the previous commit ran is written as one batch in one
//! transaction ([`Store::record_batch`]): at low rates that is one record per commit, at
//! thousands of calls per second it is hundreds, so the writer keeps up without ever
//! delaying a record that could be committed now. If a batch fails, its records are
//! retried one by one so a single bad record cannot take the others with it.
//!
//! Agent state transitions (the ACD's `agent.state` events) and recordings reach the writer
//! on the same ordered channel as the CDRs, from the core task, so none is lost to a slow
//! event-bus listener. A recording's index entry is made of two jobs: `recording.started`
//! (the call's event: file, call, start time) and the relay's `RecordDone` for the same
//! media session (which may come after the call has ended); the writer pairs them in
//! order, reads the file's size and commits the row.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::api::metrics::Metrics;

use crate::store::{AgentStateRow, CallStart, Cdr, RecordingRow, Store};

#[derive(Debug)]
pub enum StoreJob {
    Started(CallStart),
    Ended(Cdr),
    /// An agent changed state.
    AgentState(AgentStateRow),
    /// A recording began; its index entry waits for the matching [`StoreJob::RecordingDone`].
    RecordingStarted(RecordingStart),
    /// The relay closed the file of the media session's oldest open recording.
    RecordingDone {
        media: String,
        frames: u64,
        failed: bool,
        at_ms: i64,
    },
    /// Stop after writing everything queued before this.
    Flush,
}

/// What `recording.started` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingStart {
    pub media: String,
    pub call: String,
    pub call_id: String,
    /// Relative to the recordings directory.
    pub file: String,
    pub started_at_ms: i64,
}

/// One recorded frame (stereo, 20 ms).
const FRAME_MS: u64 = 20;

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// `{"state":"paused","reason":"lunch"}` → ("paused", Some("lunch")).
fn state(v: &Value) -> Option<(String, Option<String>)> {
    Some((text(v, "state")?, text(v, "reason")))
}

impl StoreJob {
    /// The job for another layer's event, when the store keeps it (`agent.state`,
    /// `recording.started`); `at_ms` is when the core task saw it.
    pub fn for_event(kind: &str, data: &Value, at_ms: i64) -> Option<StoreJob> {
        match kind {
            "agent.state" => {
                let (from_state, from_reason) = state(data.get("from")?)?;
                let (to_state, to_reason) = state(data.get("to")?)?;
                Some(StoreJob::AgentState(AgentStateRow {
                    agent: text(data, "agent")?,
                    from_state,
                    from_reason,
                    to_state,
                    to_reason,
                    reason: text(data, "reason").unwrap_or_default(),
                    call: text(data, "call"),
                    at_ms,
                }))
            }
            "recording.started" => Some(StoreJob::RecordingStarted(RecordingStart {
                media: text(data, "media")?,
                call: text(data, "call")?,
                call_id: text(data, "call_id").unwrap_or_default(),
                file: text(data, "file")?,
                started_at_ms: data
                    .get("started_at_ms")
                    .and_then(Value::as_i64)
                    .unwrap_or(at_ms),
            })),
            _ => None,
        }
    }
}

/// The most records in one transaction.
const MAX_BATCH: usize = 1000;

/// Starts the writer; the task ends after a [`StoreJob::Flush`]. `recordings` is the
/// directory recordings' files are relative to (for their sizes).
pub fn spawn(
    store: Store,
    metrics: Arc<Metrics>,
    recordings: PathBuf,
) -> (mpsc::UnboundedSender<StoreJob>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut jobs = Vec::with_capacity(MAX_BATCH);
        let mut open = OpenRecordings::default();
        loop {
            if rx.recv_many(&mut jobs, MAX_BATCH).await == 0 {
                return;
            }
            let flush = jobs.iter().position(|j| matches!(j, StoreJob::Flush));
            if let Some(at) = flush {
                jobs.truncate(at);
            }
            write(
                &store,
                &metrics,
                &recordings,
                &mut open,
                std::mem::take(&mut jobs),
            )
            .await;
            if flush.is_some() {
                return;
            }
        }
    });
    (tx, task)
}

/// Recordings started and not yet closed, by media session, oldest first.
#[derive(Debug, Default)]
struct OpenRecordings(HashMap<String, VecDeque<RecordingStart>>);

impl OpenRecordings {
    fn started(&mut self, r: RecordingStart) {
        self.0.entry(r.media.clone()).or_default().push_back(r);
    }

    fn done(&mut self, media: &str) -> Option<RecordingStart> {
        let queue = self.0.get_mut(media)?;
        let first = queue.pop_front();
        if queue.is_empty() {
            self.0.remove(media);
        }
        first
    }
}

async fn write(
    store: &Store,
    metrics: &Metrics,
    recordings: &std::path::Path,
    open: &mut OpenRecordings,
    jobs: Vec<StoreJob>,
) {
    let mut started = Vec::new();
    let mut ended = Vec::new();
    let mut agents = Vec::new();
    let mut done = Vec::new();
    for job in jobs {
        match job {
            StoreJob::Started(c) => started.push(c),
            StoreJob::Ended(c) => ended.push(c),
            StoreJob::AgentState(a) => agents.push(a),
            StoreJob::RecordingStarted(r) => open.started(r),
            StoreJob::RecordingDone {
                media,
                frames,
                failed,
                at_ms,
            } => match open.done(&media) {
                Some(start) => done.push((start, frames, failed, at_ms)),
                None => tracing::warn!(media, "a recording ended that was not seen starting"),
            },
            StoreJob::Flush => {}
        }
    }
    if !started.is_empty() || !ended.is_empty() {
        write_calls(store, metrics, started, ended).await;
    }
    if let Err(e) = store.agent_states_record(&agents).await {
        tracing::error!(%e, rows = agents.len(), "agent state history not stored");
    }
    for (start, frames, failed, at_ms) in done {
        let bytes = tokio::fs::metadata(recordings.join(&start.file))
            .await
            .map_or(0, |m| m.len());
        let row = RecordingRow {
            id: crate::store::ordered_id(start.started_at_ms),
            call_record: start.call,
            call_id: start.call_id,
            path: start.file,
            started_at_ms: start.started_at_ms,
            ended_at_ms: at_ms,
            bytes,
            duration_ms: frames * FRAME_MS,
            failed,
        };
        if let Err(e) = store.recording_add(&row).await {
            tracing::error!(%e, path = %row.path, "recording not indexed");
        }
    }
}

async fn write_calls(store: &Store, metrics: &Metrics, started: Vec<CallStart>, ended: Vec<Cdr>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn agent_state_events_become_history_rows() {
        let data = json!({"kind": "agent", "agent": "1001", "from": {"state": "available"},
            "to": {"state": "paused", "reason": "lunch"}, "reason": "pause", "call": null});
        let Some(StoreJob::AgentState(row)) = StoreJob::for_event("agent.state", &data, 42) else {
            panic!("an agent row");
        };
        assert_eq!(
            row,
            AgentStateRow {
                agent: "1001".into(),
                from_state: "available".into(),
                from_reason: None,
                to_state: "paused".into(),
                to_reason: Some("lunch".into()),
                reason: "pause".into(),
                call: None,
                at_ms: 42,
            }
        );
        assert!(StoreJob::for_event("queue.event", &data, 42).is_none());
        assert!(StoreJob::for_event("agent.state", &json!({"agent": "1"}), 42).is_none());
    }

    #[test]
    fn recordings_pair_start_and_end_in_order_per_media_session() {
        let start = |media: &str, file: &str| RecordingStart {
            media: media.into(),
            call: "C".into(),
            call_id: "c@x".into(),
            file: file.into(),
            started_at_ms: 1,
        };
        let mut open = OpenRecordings::default();
        open.started(start("m1", "a.wav"));
        open.started(start("m2", "b.wav"));
        open.started(start("m1", "c.wav"));
        assert_eq!(open.done("m1").map(|r| r.file), Some("a.wav".into()));
        assert_eq!(open.done("m1").map(|r| r.file), Some("c.wav".into()));
        assert_eq!(open.done("m1"), None);
        assert_eq!(open.done("m2").map(|r| r.file), Some("b.wav".into()));
        assert!(open.0.is_empty());
    }
}
