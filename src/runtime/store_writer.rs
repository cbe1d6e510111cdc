//! Writes call starts and CDRs to the store in order, off the signalling path; also the
//! agent state history and the recordings index.
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
//!
//! Agent state transitions (the ACD's `agent.state` events) and recordings reach the writer
//! on the same ordered channel as the CDRs, from the core task, so none is lost to a slow
//! event-bus listener. A recording's index row is written when the call reports
//! `recording.started` (file, call, start time) and completed at the relay's `RecordDone`
//! for the same media session (which may come after the call has ended): the writer pairs
//! them in order and reads the file's size. Rows a crash left open are completed from their
//! files at the next start ([`finish_cut_recordings`]).

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::api::metrics::Metrics;

use crate::store::{
    AgentStateRow, CallStart, Cdr, QueueEventRow, RecordingEnd, RecordingRow, Store,
};

#[derive(Debug)]
pub enum StoreJob {
    Started(CallStart),
    Ended(Cdr),
    /// The records sent before this one are numbered up to this (the switch's numbering,
    /// [`crate::switch::Switch::records_output`]): report it once they are written.
    Through(u64),
    /// An agent changed state.
    AgentState(AgentStateRow),
    /// A queue event, for queue reports.
    QueueEvent(QueueEventRow),
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
            "queue.event" => {
                let int = |k: &str| data.get(k).and_then(Value::as_i64);
                Some(StoreJob::QueueEvent(QueueEventRow {
                    queue: text(data, "queue")?,
                    call: text(data, "call"),
                    event: text(data, "event")?,
                    agent: text(data, "agent"),
                    wait_ms: int("wait_ms"),
                    talk_ms: int("talk_ms"),
                    detail: text(data, "reason")
                        .or_else(|| text(data, "destination"))
                        .or_else(|| text(data, "number")),
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
) -> (StoreLink, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (written_tx, written) = mpsc::unbounded_channel();
    let link = StoreLink {
        jobs: tx,
        written,
        metrics: metrics.clone(),
    };
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
            let through = jobs.iter().rev().find_map(|j| match j {
                StoreJob::Through(n) => Some(*n),
                _ => None,
            });
            let committed = write(
                &store,
                &metrics,
                &recordings,
                &mut open,
                std::mem::take(&mut jobs),
            )
            .await;
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

/// Writes one batch; false if some call record could not be written.
/// Recordings started and not yet closed, by media session, oldest first: their row ids
/// and files.
#[derive(Debug, Default)]
struct OpenRecordings(HashMap<String, VecDeque<(String, String)>>);

impl OpenRecordings {
    fn started(&mut self, media: &str, id: String, file: String) {
        self.0
            .entry(media.to_string())
            .or_default()
            .push_back((id, file));
    }

    fn done(&mut self, media: &str) -> Option<(String, String)> {
        let queue = self.0.get_mut(media)?;
        let first = queue.pop_front();
        if queue.is_empty() {
            self.0.remove(media);
        }
        first
    }
}

/// A recording job, in arrival order.
enum RecordingJob {
    Started(RecordingStart),
    Done {
        media: String,
        frames: u64,
        failed: bool,
        at_ms: i64,
    },
}

async fn write(
    store: &Store,
    metrics: &Metrics,
    recordings: &Path,
    open: &mut OpenRecordings,
    jobs: Vec<StoreJob>,
) -> bool {
    let mut started = Vec::new();
    let mut ended = Vec::new();
    let mut agents = Vec::new();
    let mut queues = Vec::new();
    let mut recording = Vec::new();
    for job in jobs {
        match job {
            StoreJob::Started(c) => started.push(c),
            StoreJob::Ended(c) => ended.push(c),
            StoreJob::AgentState(a) => agents.push(a),
            StoreJob::QueueEvent(q) => queues.push(q),
            StoreJob::RecordingStarted(r) => recording.push(RecordingJob::Started(r)),
            StoreJob::RecordingDone {
                media,
                frames,
                failed,
                at_ms,
            } => recording.push(RecordingJob::Done {
                media,
                frames,
                failed,
                at_ms,
            }),
            StoreJob::Through(_) | StoreJob::Flush => {}
        }
    }
    let mut committed = true;
    if !started.is_empty() || !ended.is_empty() {
        committed = write_calls(store, metrics, started, ended).await;
    }
    if let Err(e) = store.agent_states_record(&agents).await {
        tracing::error!(%e, rows = agents.len(), "agent state history not stored");
    }
    if let Err(e) = store.queue_events_record(&queues).await {
        tracing::error!(%e, rows = queues.len(), "queue events not stored");
    }
    for job in recording {
        write_recording(store, recordings, open, job).await;
    }
    committed
}

async fn write_recording(store: &Store, dir: &Path, open: &mut OpenRecordings, job: RecordingJob) {
    match job {
        RecordingJob::Started(r) => {
            let row = RecordingRow {
                id: crate::store::ordered_id(r.started_at_ms),
                call_record: r.call,
                call_id: r.call_id,
                path: r.file.clone(),
                started_at_ms: r.started_at_ms,
                ended_at_ms: None,
                bytes: 0,
                duration_ms: 0,
                failed: false,
            };
            match store.recording_add(&row).await {
                Ok(()) => open.started(&r.media, row.id, r.file),
                Err(e) => tracing::error!(%e, path = %row.path, "recording not indexed"),
            }
        }
        RecordingJob::Done {
            media,
            frames,
            failed,
            at_ms,
        } => {
            let Some((id, file)) = open.done(&media) else {
                tracing::warn!(media, "a recording ended that was not seen starting");
                return;
            };
            let bytes = tokio::fs::metadata(dir.join(&file))
                .await
                .map_or(0, |m| m.len());
            let end = RecordingEnd {
                ended_at_ms: at_ms,
                bytes,
                duration_ms: frames * FRAME_MS,
                failed,
            };
            if let Err(e) = store.recording_end(&id, end).await {
                tracing::error!(%e, path = %file, "recording's end not indexed");
            }
        }
    }
}

/// At start-up: completes this node's recording rows a crash left open, from their files
/// (size, and the duration the size holds); they are marked failed (cut short). Returns how
/// many.
pub async fn finish_cut_recordings(store: &Store, dir: &Path, now_ms: i64) -> usize {
    let open = match store.open_recordings().await {
        Ok(open) => open,
        Err(e) => {
            tracing::error!(%e, "recordings cut by a crash not looked for");
            return 0;
        }
    };
    let format = crate::media::record::FORMAT;
    let per_second = (format.block_align() as u64 * u64::from(format.sample_rate)).max(1);
    let mut finished = 0;
    for r in open {
        let bytes = tokio::fs::metadata(dir.join(&r.path))
            .await
            .map_or(0, |m| m.len());
        let audio = bytes.saturating_sub(crate::media::wav::HEADER_LEN as u64);
        let end = RecordingEnd {
            ended_at_ms: now_ms,
            bytes,
            duration_ms: audio * 1000 / per_second,
            failed: true,
        };
        match store.recording_end(&r.id, end).await {
            Ok(_) => finished += 1,
            Err(e) => tracing::error!(%e, path = %r.path, "cut recording not completed"),
        }
    }
    if finished > 0 {
        tracing::warn!(
            finished,
            "recordings cut by the last stop indexed as failed"
        );
    }
    finished
}

async fn write_calls(
    store: &Store,
    metrics: &Metrics,
    started: Vec<CallStart>,
    ended: Vec<Cdr>,
) -> bool {
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
        let (mut link, task) = spawn(
            store.clone(),
            Arc::new(Metrics::new()),
            dir.path().to_path_buf(),
        );
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

#[cfg(test)]
mod progress_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn queue_events_become_report_rows() {
        let data = json!({"kind": "queue", "queue": "sales", "call": "7", "event": "answer",
            "agent": "1001", "wait_ms": 4200});
        let Some(StoreJob::QueueEvent(row)) = StoreJob::for_event("queue.event", &data, 42) else {
            panic!("a queue row");
        };
        assert_eq!(
            (row.queue.as_str(), row.event.as_str(), row.agent.as_deref()),
            ("sales", "answer", Some("1001"))
        );
        assert_eq!(
            (row.wait_ms, row.call.as_deref(), row.at_ms),
            (Some(4200), Some("7"), 42)
        );
    }

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
        let mut open = OpenRecordings::default();
        open.started("m1", "1".into(), "a.wav".into());
        open.started("m2", "2".into(), "b.wav".into());
        open.started("m1", "3".into(), "c.wav".into());
        assert_eq!(open.done("m1"), Some(("1".into(), "a.wav".into())));
        assert_eq!(open.done("m1"), Some(("3".into(), "c.wav".into())));
        assert_eq!(open.done("m1"), None);
        assert_eq!(open.done("m2"), Some(("2".into(), "b.wav".into())));
        assert!(open.0.is_empty());
    }

    #[tokio::test]
    async fn recordings_a_crash_cut_are_completed_from_their_files_at_start() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open("sqlite::memory:").await.expect("open");
        let row = |id: &str, path: &str| RecordingRow {
            id: id.into(),
            call_record: "C".into(),
            call_id: "c@x".into(),
            path: path.into(),
            started_at_ms: 1_000,
            ended_at_ms: None,
            bytes: 0,
            duration_ms: 0,
            failed: false,
        };
        store
            .recording_add(&row("cut", "cut.wav"))
            .await
            .expect("add");
        store
            .recording_add(&row("gone", "gone.wav"))
            .await
            .expect("add");
        // Two seconds of stereo 16-bit 8 kHz audio after the header.
        std::fs::write(dir.path().join("cut.wav"), vec![0u8; 44 + 2 * 32_000]).expect("write");
        assert_eq!(finish_cut_recordings(&store, dir.path(), 9_000).await, 2);
        let cut = store.recording("cut").await.expect("get").expect("row");
        assert_eq!(cut.ended_at_ms, Some(9_000));
        assert_eq!(
            (cut.bytes, cut.duration_ms, cut.failed),
            (64_044, 2_000, true)
        );
        let gone = store.recording("gone").await.expect("get").expect("row");
        assert_eq!((gone.bytes, gone.duration_ms), (0, 0));
        assert!(store.open_recordings().await.expect("open").is_empty());
        assert_eq!(finish_cut_recordings(&store, dir.path(), 9_500).await, 0);
    }
}
