//! The operations tables (directory changes, agent state history, recordings index) against every backend: SQLite always (a real file in a temp dir), and
//! PostgreSQL when `SWITCHBOARD_TEST_PG_URL` is set (`tests/pg.sh cargo test --test
//! store_ops` starts a throwaway server and sets it). Each scenario is one async fn taking a
//! [`TestDb`]; `both_backends!` turns it into `<scenario>::sqlite` and `<scenario>::postgres`.

#[macro_use]
mod store_support;
use store_support::TestDb;

use switchboard::store::{
    AgentStateRow, DirectoryKind, DirectoryRow, QueueEventRow, RecordingEnd, RecordingQuery,
    RecordingRow,
};

/// 2023-11-14T22:13:20Z; every test time is an offset from here (no clock reads).
const T0: i64 = 1_700_000_000_000;

both_backends!(
    directory_changes_replace_each_other_and_deletions_are_kept,
    agent_history_is_per_agent_in_order_within_the_window,
    recordings_are_found_by_call_and_time,
    queue_reports_count_the_period_asked_for,
);

async fn directory_changes_replace_each_other_and_deletions_are_kept(db: &TestDb) {
    let s = db.open().await;
    assert!(s.directory().await.expect("read").is_empty());
    s.directory_put(DirectoryKind::Endpoint, "1001", Some(r#"{"v":1}"#), T0)
        .await
        .expect("put");
    s.directory_put(DirectoryKind::Trunk, "1001", Some("{}"), T0)
        .await
        .expect("put");
    s.directory_put(DirectoryKind::Endpoint, "1001", Some(r#"{"v":2}"#), T0 + 1)
        .await
        .expect("replace");
    s.directory_put(DirectoryKind::Endpoint, "1002", Some(r#"{"v":1}"#), T0 + 2)
        .await
        .expect("put");
    s.directory_put(DirectoryKind::Endpoint, "1002", None, T0 + 3)
        .await
        .expect("delete");
    let row = |kind, name: &str, spec: Option<&str>| DirectoryRow {
        kind,
        name: name.into(),
        spec: spec.map(Into::into),
    };
    assert_eq!(
        s.directory().await.expect("read"),
        [
            row(DirectoryKind::Endpoint, "1001", Some(r#"{"v":2}"#)),
            row(DirectoryKind::Endpoint, "1002", None),
            row(DirectoryKind::Trunk, "1001", Some("{}")),
        ]
    );
    // Re-created after a deletion.
    s.directory_put(DirectoryKind::Endpoint, "1002", Some(r#"{"v":3}"#), T0 + 4)
        .await
        .expect("put");
    let again = s.directory().await.expect("read");
    assert_eq!(
        again[1],
        row(DirectoryKind::Endpoint, "1002", Some(r#"{"v":3}"#))
    );
    s.close().await;
}

fn transition(agent: &str, to: &str, at_ms: i64) -> AgentStateRow {
    AgentStateRow {
        agent: agent.into(),
        from_state: "available".into(),
        from_reason: None,
        to_state: to.into(),
        to_reason: (to == "paused").then(|| "lunch".into()),
        reason: "test".into(),
        call: (to == "on_call").then(|| "CALL1".into()),
        at_ms,
    }
}

async fn agent_history_is_per_agent_in_order_within_the_window(db: &TestDb) {
    let s = db.open().await;
    // Three transitions in one millisecond keep their order.
    s.agent_states_record(&[
        transition("1001", "reserved", T0),
        transition("1001", "ringing", T0),
        transition("1001", "on_call", T0),
        transition("1002", "paused", T0 + 500),
    ])
    .await
    .expect("record");
    s.agent_states_record(&[transition("1001", "paused", T0 + 1_000)])
        .await
        .expect("record");
    s.agent_states_record(&[]).await.expect("nothing to record");
    let all = s
        .agent_history("1001", None, None, 100)
        .await
        .expect("read");
    let to: Vec<_> = all.iter().map(|r| r.to_state.as_str()).collect();
    assert_eq!(to, ["reserved", "ringing", "on_call", "paused"]);
    assert_eq!(all[2].call.as_deref(), Some("CALL1"));
    assert_eq!(all[3].to_reason.as_deref(), Some("lunch"));
    assert_eq!(all[0].from_reason, None);
    let window = s
        .agent_history("1001", Some(T0), Some(T0 + 1_000), 100)
        .await
        .expect("read");
    assert_eq!(window.len(), 3, "to is exclusive");
    let later = s
        .agent_history("1001", Some(T0 + 1), None, 100)
        .await
        .expect("read");
    assert_eq!(later.len(), 1, "from is inclusive");
    assert_eq!(
        s.agent_history("1001", None, None, 2)
            .await
            .expect("read")
            .len(),
        2
    );
    assert!(s
        .agent_history("9999", None, None, 10)
        .await
        .expect("read")
        .is_empty());
    s.close().await;
}

async fn recordings_are_found_by_call_and_time(db: &TestDb) {
    let s = db.open().await;
    let rec = |id: &str, call: &str, at: i64| RecordingRow {
        id: id.into(),
        call_record: format!("cdr-{call}"),
        call_id: format!("{call}@x"),
        path: format!("{call}/{id}.wav"),
        started_at_ms: at,
        ended_at_ms: Some(at + 5_000),
        bytes: 80_044,
        duration_ms: 5_000,
        failed: id == "r2",
    };
    for r in [
        rec("r1", "a", T0),
        rec("r2", "b", T0 + 1),
        rec("r3", "a", T0 + 2),
    ] {
        s.recording_add(&r).await.expect("add");
    }
    let q = |call: Option<&str>, from_ms, to_ms, limit| RecordingQuery {
        call: call.map(Into::into),
        from_ms,
        to_ms,
        limit,
    };
    let ids = |v: Vec<RecordingRow>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let find = |query| {
        let s = s.clone();
        async move { ids(s.recordings(&query).await.expect("query")) }
    };
    assert_eq!(find(q(None, None, None, 100)).await, ["r3", "r2", "r1"]);
    assert_eq!(find(q(None, None, None, 1)).await, ["r3"]);
    assert_eq!(find(q(Some("cdr-a"), None, None, 100)).await, ["r3", "r1"]);
    assert_eq!(find(q(Some("b@x"), None, None, 100)).await, ["r2"]);
    assert_eq!(find(q(Some("a@x"), Some(T0 + 1), None, 100)).await, ["r3"]);
    assert_eq!(find(q(None, Some(T0 + 1), Some(T0 + 2), 100)).await, ["r2"]);
    let one = s.recording("r2").await.expect("get").expect("found");
    assert_eq!(one, rec("r2", "b", T0 + 1));
    assert!(one.failed);
    assert!(s.recording("nope").await.expect("get").is_none());

    // A recording indexed as it starts, completed at its end (once).
    let running = RecordingRow {
        ended_at_ms: None,
        bytes: 0,
        duration_ms: 0,
        ..rec("r4", "c", T0 + 3)
    };
    s.recording_add(&running).await.expect("add");
    assert_eq!(
        s.open_recordings().await.expect("open"),
        std::slice::from_ref(&running)
    );
    let end = RecordingEnd {
        ended_at_ms: T0 + 9_000,
        bytes: 1_044,
        duration_ms: 8_000,
        failed: false,
    };
    assert!(s.recording_end("r4", end).await.expect("end"));
    assert!(
        !s.recording_end("r4", end).await.expect("end"),
        "ended once"
    );
    assert!(s.open_recordings().await.expect("open").is_empty());
    let done = s.recording("r4").await.expect("get").expect("found");
    assert_eq!((done.ended_at_ms, done.bytes), (Some(T0 + 9_000), 1_044));
    // Another node's open recordings are not this node's to close.
    let other = s.clone().with_node("node-b");
    other
        .recording_add(&RecordingRow {
            id: "r5".into(),
            ..running
        })
        .await
        .expect("add");
    assert!(s.open_recordings().await.expect("open").is_empty());
    assert_eq!(other.open_recordings().await.expect("open").len(), 1);
    s.close().await;
}

fn queue_event(queue: &str, event: &str, wait_ms: Option<i64>, at_ms: i64) -> QueueEventRow {
    QueueEventRow {
        queue: queue.into(),
        call: Some(format!("{at_ms}")),
        event: event.into(),
        agent: (event == "answer" || event == "complete").then(|| "1001".to_string()),
        wait_ms,
        talk_ms: (event == "complete").then_some(90_000),
        detail: None,
        at_ms,
    }
}

async fn queue_reports_count_the_period_asked_for(db: &TestDb) {
    let s = db.open().await;
    let rows = [
        queue_event("sales", "join", None, 1_000),
        queue_event("sales", "answer", Some(5_000), 6_000),
        queue_event("sales", "complete", None, 96_000),
        queue_event("sales", "join", None, 2_000),
        queue_event("sales", "answer", Some(40_000), 42_000),
        queue_event("sales", "join", None, 3_000),
        queue_event("sales", "abandon", Some(9_000), 12_000),
        queue_event("sales", "join", None, 4_000),
        queue_event("sales", "refuse", Some(60_000), 64_000),
        queue_event("support", "join", None, 1_500),
        // outside the period
        queue_event("sales", "join", None, 500_000),
    ];
    s.queue_events_record(&rows).await.expect("record");
    let r = s
        .queue_report("sales", 0, 400_000, 20_000)
        .await
        .expect("report");
    assert_eq!(
        (r.offered, r.answered, r.abandoned, r.sent_away),
        (4, 2, 1, 1)
    );
    assert_eq!(
        r.service_level,
        Some(0.25),
        "one of four answered within 20 s"
    );
    assert_eq!(r.mean_wait_ms, Some(22_500.0));
    assert_eq!(r.max_wait_ms, Some(60_000));
    assert_eq!(r.mean_talk_ms, Some(90_000.0));
    let empty = s
        .queue_report("nobody", 0, 400_000, 20_000)
        .await
        .expect("report");
    assert_eq!((empty.offered, empty.service_level), (0, None));
    s.close().await;
}
