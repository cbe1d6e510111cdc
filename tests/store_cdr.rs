//! CDR persistence against every backend: SQLite always (a real file in a temp dir), and
//! PostgreSQL when `SWITCHBOARD_TEST_PG_URL` is set (`tests/pg.sh cargo test --test
//! store_cdr` starts a throwaway server and sets it). Each scenario is one async fn taking a
//! [`TestDb`]; `both_backends!` turns it into `<scenario>::sqlite` and `<scenario>::postgres`.

#[macro_use]
mod store_support;
use store_support::{with_database, TestDb};

use sqlx::{AnyConnection, Connection};
use switchboard::store::{
    Backend, CallRecordId, CallStart, Cdr, CdrLeg, CdrMedia, CdrQuery, HangupSide, LegRole, Store,
    StoreError,
};

/// 2023-11-14T22:13:20Z; every test time is an offset from here (no clock reads).
const T0: i64 = 1_700_000_000_000;

both_backends!(
    ended_call_is_stored_with_its_legs,
    restart_closes_in_flight_calls,
    queries_filter_and_page_newest_first,
    migrations_are_idempotent,
    duplicates_are_refused_and_change_nothing,
    concurrent_calls_all_land,
    concurrent_opens_migrate_once,
    restart_clock_behind_start_gives_zero_duration,
    restart_closes_only_this_nodes_calls,
    batch_is_all_or_nothing,
);

async fn batch_is_all_or_nothing(db: &TestDb) {
    let store = db.open().await;
    let a = start("batch-a", "cid-a", "alice", "100", T0);
    let b = start("batch-b", "cid-b", "bob", "101", T0 + 10);
    // A start and its end in the same batch, plus a call that stays in flight.
    store
        .record_batch(&[a.clone(), b.clone()], &[answered_cdr(&a, 1_000)])
        .await
        .expect("batch");
    assert_eq!(store.cdr_count().await.expect("count"), 1);
    assert_eq!(store.in_flight_count().await.expect("in flight"), 1);
    // A batch holding a duplicate rolls back whole: b's CDR is not stored either.
    let err = store
        .record_batch(&[], &[answered_cdr(&b, 2_000), answered_cdr(&a, 1_000)])
        .await
        .expect_err("duplicate CDR in the batch");
    assert!(matches!(err, StoreError::DuplicateCdr(_)), "{err}");
    assert_eq!(store.cdr_count().await.expect("count"), 1);
    assert_eq!(store.in_flight_count().await.expect("in flight"), 1);
}

fn start(id: &str, call_id: &str, caller: &str, callee: &str, at: i64) -> CallStart {
    CallStart {
        id: id.into(),
        call_id: call_id.into(),
        caller: caller.into(),
        callee: callee.into(),
        direction: Some("inbound".into()),
        started_at_ms: at,
    }
}

/// An answered call: A leg, a B leg that got 486, a B leg that answered, callee hung up.
fn answered_cdr(call: &CallStart, duration_ms: i64) -> Cdr {
    let t = call.started_at_ms;
    let answered = t + 4_000;
    let ended = t + duration_ms;
    Cdr {
        id: call.id.clone(),
        call_id: call.call_id.clone(),
        caller: call.caller.clone(),
        callee: call.callee.clone(),
        direction: call.direction.clone(),
        started_at_ms: t,
        answered_at_ms: Some(answered),
        ended_at_ms: ended,
        duration_ms,
        billable_ms: ended - answered,
        sip_status: 200,
        hangup_side: HangupSide::Callee,
        hangup_cause: "normal_clearing".into(),
        legs: vec![
            CdrLeg {
                role: LegRole::A,
                peer: "alice".into(),
                sip_call_id: call.call_id.clone(),
                remote_uri: "sip:alice@192.0.2.10:5060".into(),
                started_at_ms: t,
                answered_at_ms: Some(answered),
                ended_at_ms: ended,
                final_status: Some(200),
            },
            CdrLeg {
                role: LegRole::B,
                peer: "carrier-1".into(),
                sip_call_id: format!("{}-b1", call.call_id),
                remote_uri: format!("sip:{}@carrier-1.example", call.callee),
                started_at_ms: t + 10,
                answered_at_ms: None,
                ended_at_ms: t + 1_500,
                final_status: Some(486),
            },
            CdrLeg {
                role: LegRole::B,
                peer: "carrier-2".into(),
                sip_call_id: format!("{}-b2", call.call_id),
                remote_uri: format!("sip:{}@carrier-2.example", call.callee),
                started_at_ms: t + 1_510,
                answered_at_ms: Some(answered),
                ended_at_ms: ended,
                final_status: None,
            },
        ],
        media: [LegRole::A, LegRole::B]
            .into_iter()
            .map(|role| CdrMedia {
                role,
                packets_in: 3_000,
                bytes_in: 516_000,
                packets_out: 2_990,
                bytes_out: 514_280,
                rtcp_in: 12,
                lost: 10,
                jitter_us: 1_250,
                // Only side A's phone sent RTCP reports.
                reported_lost: (role == LegRole::A).then_some(4),
                reported_jitter_us: (role == LegRole::A).then_some(2_000),
            })
            .collect(),
    }
}

async fn ended_call_is_stored_with_its_legs(db: &TestDb) {
    let store = db.open().await;
    // Text that would break naive SQL, and non-ASCII text, must round-trip unchanged.
    let call = start(
        CallRecordId::generate(T0).as_str(),
        "a84b4c76e66710@pc33.example.com",
        "O'Brien \"; DROP TABLE cdrs; --",
        "+4930123456€",
        T0,
    );
    store.call_started(&call).await.expect("call_started");
    assert_eq!(store.in_flight_count().await.expect("count"), 1);
    assert_eq!(store.cdr_count().await.expect("count"), 0);

    let cdr = answered_cdr(&call, 65_000);
    store.call_ended(&cdr).await.expect("call_ended");

    // Read back through a second, independent store: proves the write was committed.
    let reader = db.open().await;
    let got = reader.cdrs(&CdrQuery::default()).await.expect("cdrs");
    assert_eq!(got, vec![cdr.clone()]);
    assert_eq!(got[0].legs.len(), 3);
    assert_eq!(reader.in_flight_count().await.expect("count"), 0);
    assert_eq!(reader.cdr_count().await.expect("count"), 1);
    assert_eq!(reader.cdr(&cdr.id).await.expect("cdr"), Some(cdr.clone()));
    assert_eq!(reader.cdr(&"no-such-id".into()).await.expect("cdr"), None);
    // Nothing left to close: the in-flight row went with the CDR's transaction.
    assert_eq!(
        reader
            .close_in_flight("restart", T0 + 99_000)
            .await
            .expect("close"),
        0
    );
    assert_eq!(reader.cdr_count().await.expect("count"), 1);

    // A CDR with no legs and no answer round-trips too.
    let failed = start("failed-1", "cid-failed", "bob", "404", T0 + 1);
    let mut failed_cdr = answered_cdr(&failed, 800);
    failed_cdr.answered_at_ms = None;
    failed_cdr.billable_ms = 0;
    failed_cdr.sip_status = 404;
    failed_cdr.hangup_side = HangupSide::System;
    failed_cdr.hangup_cause = "no_route".into();
    failed_cdr.direction = None;
    failed_cdr.legs.clear();
    store
        .call_ended(&failed_cdr)
        .await
        .expect("call_ended without call_started");
    let got = reader.cdrs(&CdrQuery::default()).await.expect("cdrs");
    assert_eq!(got, vec![failed_cdr, cdr]);
}

async fn restart_closes_in_flight_calls(db: &TestDb) {
    let first_run = db.open().await;
    let ended = start("call-ended", "cid-1", "alice", "100", T0);
    let cut_off = start("call-cut-off", "cid-2", "bob", "200", T0 + 1_000);
    let mut cut_off_outbound = start("call-cut-off-2", "cid-3", "carol", "300", T0 + 2_000);
    cut_off_outbound.direction = None;
    for call in [&ended, &cut_off, &cut_off_outbound] {
        first_run.call_started(call).await.expect("call_started");
    }
    let ended_cdr = answered_cdr(&ended, 30_000);
    first_run.call_ended(&ended_cdr).await.expect("call_ended");
    // The process dies here: the store is dropped without ending the other two calls.
    drop(first_run);

    let second_run = db.open().await;
    assert_eq!(second_run.in_flight_count().await.expect("count"), 2);
    let restart_at = T0 + 60_000;
    let closed = second_run
        .close_in_flight("restart", restart_at)
        .await
        .expect("close_in_flight");
    assert_eq!(closed, 2);
    assert_eq!(second_run.in_flight_count().await.expect("count"), 0);
    assert_eq!(second_run.cdr_count().await.expect("count"), 3);

    let all = second_run.cdrs(&CdrQuery::default()).await.expect("cdrs");
    let expect_closed = |call: &CallStart| Cdr {
        id: call.id.clone(),
        call_id: call.call_id.clone(),
        caller: call.caller.clone(),
        callee: call.callee.clone(),
        direction: call.direction.clone(),
        started_at_ms: call.started_at_ms,
        answered_at_ms: None,
        ended_at_ms: restart_at,
        duration_ms: restart_at - call.started_at_ms,
        billable_ms: 0,
        sip_status: 0,
        hangup_side: HangupSide::System,
        hangup_cause: "restart".into(),
        legs: vec![],
        media: Vec::new(),
    };
    assert_eq!(
        all,
        vec![
            expect_closed(&cut_off_outbound),
            expect_closed(&cut_off),
            ended_cdr
        ]
    );

    // A second restart finds nothing more to close, and loses nothing.
    drop(second_run);
    let third_run = db.open().await;
    assert_eq!(
        third_run
            .close_in_flight("restart", T0 + 90_000)
            .await
            .expect("close"),
        0
    );
    assert_eq!(
        third_run.cdrs(&CdrQuery::default()).await.expect("cdrs"),
        all
    );
}

async fn restart_clock_behind_start_gives_zero_duration(db: &TestDb) {
    let store = db.open().await;
    let call = start("skewed", "cid-skew", "alice", "100", T0 + 5_000);
    store.call_started(&call).await.expect("call_started");
    // The restarted node's clock reads earlier than the call's start (another node's clock,
    // or a clock step): the CDR must not get a negative duration.
    assert_eq!(
        store.close_in_flight("restart", T0).await.expect("close"),
        1
    );
    let cdrs = store.cdrs(&CdrQuery::default()).await.expect("cdrs");
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].ended_at_ms, T0 + 5_000);
    assert_eq!(cdrs[0].duration_ms, 0);
}

async fn restart_closes_only_this_nodes_calls(db: &TestDb) {
    // Two nodes share the database; node "a" restarts while node "b" has a live call.
    let node_a = db.open().await.with_node("a");
    let node_b = db.open().await.with_node("b");
    assert_eq!(node_b.node(), "b");
    let on_a = start("on-a", "cid-a", "alice", "100", T0);
    let on_b = start("on-b", "cid-b", "bob", "200", T0 + 1);
    node_a.call_started(&on_a).await.expect("call_started a");
    node_b.call_started(&on_b).await.expect("call_started b");
    drop(node_a);

    let node_a = db.open().await.with_node("a");
    assert_eq!(
        node_a
            .close_in_flight("restart", T0 + 10_000)
            .await
            .expect("close"),
        1
    );
    let cdrs = node_a.cdrs(&CdrQuery::default()).await.expect("cdrs");
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0].id, on_a.id);
    // Node b's call is still live, and it ends normally.
    assert_eq!(node_b.in_flight_count().await.expect("count"), 1);
    node_b
        .call_ended(&answered_cdr(&on_b, 20_000))
        .await
        .expect("call_ended b");
    assert_eq!(node_b.in_flight_count().await.expect("count"), 0);
    assert_eq!(node_b.cdr_count().await.expect("count"), 2);
}

async fn queries_filter_and_page_newest_first(db: &TestDb) {
    let store = db.open().await;
    // (id, call_id, caller, callee, start offset)
    let calls = [
        ("c1", "cid-1", "alice", "100", 0),
        ("c2", "cid-2", "bob", "100", 1_000),
        ("c3", "cid-3", "alice", "200", 2_000),
        ("c4", "cid-4", "carol", "100", 3_000),
        // Same start time as c4: the id breaks the tie (descending).
        ("c5", "cid-5", "alice", "300", 3_000),
        ("c6", "cid-6", "bob", "200", 5_000),
    ];
    for (id, call_id, caller, callee, offset) in calls {
        let call = start(id, call_id, caller, callee, T0 + offset);
        store
            .call_ended(&answered_cdr(&call, 10_000))
            .await
            .expect("call_ended");
    }
    let ids = |cdrs: Vec<Cdr>| -> Vec<String> {
        cdrs.into_iter().map(|c| c.id.as_str().to_owned()).collect()
    };
    let run = |q: CdrQuery| {
        let store = store.clone();
        async move { ids(store.cdrs(&q).await.expect("cdrs")) }
    };

    assert_eq!(
        run(CdrQuery::default()).await,
        ["c6", "c5", "c4", "c3", "c2", "c1"]
    );
    // since is inclusive, until exclusive.
    let window = CdrQuery {
        since_ms: Some(T0 + 1_000),
        until_ms: Some(T0 + 3_000),
        ..CdrQuery::default()
    };
    assert_eq!(run(window).await, ["c3", "c2"]);
    let since = CdrQuery {
        since_ms: Some(T0 + 3_000),
        ..CdrQuery::default()
    };
    assert_eq!(run(since).await, ["c6", "c5", "c4"]);
    let caller = CdrQuery {
        caller: Some("alice".into()),
        ..CdrQuery::default()
    };
    assert_eq!(run(caller).await, ["c5", "c3", "c1"]);
    let callee = CdrQuery {
        callee: Some("100".into()),
        ..CdrQuery::default()
    };
    assert_eq!(run(callee).await, ["c4", "c2", "c1"]);
    let call_id = CdrQuery {
        call_id: Some("cid-3".into()),
        ..CdrQuery::default()
    };
    let one = store.cdrs(&call_id).await.expect("cdrs");
    assert_eq!(ids(one.clone()), ["c3"]);
    assert_eq!(one[0].legs.len(), 3, "legs come with filtered results");
    let combined = CdrQuery {
        caller: Some("bob".into()),
        callee: Some("200".into()),
        since_ms: Some(T0),
        ..CdrQuery::default()
    };
    assert_eq!(run(combined).await, ["c6"]);
    let nobody = CdrQuery {
        caller: Some("mallory".into()),
        ..CdrQuery::default()
    };
    assert!(run(nobody).await.is_empty());
    // Filters match exactly, not as patterns.
    let pattern = CdrQuery {
        caller: Some("%".into()),
        ..CdrQuery::default()
    };
    assert!(run(pattern).await.is_empty());

    // Paging.
    let page = |limit, offset| CdrQuery {
        limit: Some(limit),
        offset,
        ..CdrQuery::default()
    };
    assert_eq!(run(page(2, 0)).await, ["c6", "c5"]);
    assert_eq!(run(page(2, 2)).await, ["c4", "c3"]);
    assert_eq!(run(page(2, 4)).await, ["c2", "c1"]);
    assert!(run(page(2, 6)).await.is_empty());
    assert!(run(page(0, 0)).await.is_empty());
    assert!(run(page(10, u64::MAX)).await.is_empty());
}

async fn migrations_are_idempotent(db: &TestDb) {
    let first = db.open().await;
    let call = start("m1", "cid-m1", "alice", "100", T0);
    first
        .call_ended(&answered_cdr(&call, 1_000))
        .await
        .expect("call_ended");
    // Reopening (with the first store still open, then again after it closed) re-runs the
    // migrator: it must find nothing to do and keep the data.
    let second = db.open().await;
    assert_eq!(second.cdr_count().await.expect("count"), 1);
    first.close().await;
    drop(second);
    let third = db.open().await;
    assert_eq!(third.cdr_count().await.expect("count"), 1);

    let mut conn = AnyConnection::connect(&db.url).await.expect("connect");
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .expect("migrations table");
    let expected = switchboard::store::migrate::versions();
    assert_eq!(applied, expected);
    assert_eq!(
        applied.last().copied(),
        Some(switchboard::store::migrate::latest_version())
    );
}

async fn duplicates_are_refused_and_change_nothing(db: &TestDb) {
    let store = db.open().await;
    let call = start("dup", "cid-dup", "alice", "100", T0);
    store.call_started(&call).await.expect("call_started");
    let err = store
        .call_started(&call)
        .await
        .expect_err("second call_started");
    assert!(
        matches!(&err, StoreError::DuplicateCallStart(id) if id == &call.id),
        "{err}"
    );

    let cdr = answered_cdr(&call, 5_000);
    store.call_ended(&cdr).await.expect("call_ended");
    // The same call ending again (say, a retried event) with different data.
    let mut again = cdr.clone();
    again.hangup_cause = "other".into();
    store
        .call_started(&call)
        .await
        .expect("a new in-flight row for the same id");
    let err = store
        .call_ended(&again)
        .await
        .expect_err("second call_ended");
    assert!(
        matches!(&err, StoreError::DuplicateCdr(id) if id == &call.id),
        "{err}"
    );
    // The refused CDR rolled back whole: first CDR intact, legs not doubled, in-flight row
    // of the failed attempt still there.
    assert_eq!(
        store.cdrs(&CdrQuery::default()).await.expect("cdrs"),
        vec![cdr]
    );
    assert_eq!(store.in_flight_count().await.expect("count"), 1);
}

async fn concurrent_calls_all_land(db: &TestDb) {
    const CALLS: usize = 64;
    let store = db.open().await;
    // Every call starts and ends on its own task: the pool's connections contend for the
    // write lock (SQLite) or rows (PostgreSQL); none may fail or be lost.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..CALLS {
        let store = store.clone();
        tasks.spawn(async move {
            let at = T0 + n as i64;
            let id = CallRecordId::generate(at);
            let call = start(id.as_str(), &format!("cid-{n}"), "alice", "100", at);
            store.call_started(&call).await?;
            if n % 4 != 0 {
                store.call_ended(&answered_cdr(&call, 1_000)).await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("task").expect("store call");
    }
    let ended = CALLS - CALLS / 4;
    assert_eq!(store.cdr_count().await.expect("count"), ended as u64);
    assert_eq!(
        store.in_flight_count().await.expect("count"),
        (CALLS / 4) as u64
    );
    let page = CdrQuery {
        limit: Some(CdrQuery::MAX_LIMIT),
        ..CdrQuery::default()
    };
    let cdrs = store.cdrs(&page).await.expect("cdrs");
    assert_eq!(cdrs.len(), ended);
    assert!(cdrs.iter().all(|c| c.legs.len() == 3));
    assert!(cdrs
        .windows(2)
        .all(|w| w[0].started_at_ms > w[1].started_at_ms));
}

async fn concurrent_opens_migrate_once(db: &TestDb) {
    // Two nodes (or a CLI command beside a running switch) opening a fresh database at once.
    let (a, b) = tokio::join!(Store::open(&db.url), Store::open(&db.url));
    let (a, b) = (a.expect("first open"), b.expect("second open"));
    let call = start("both", "cid-both", "alice", "100", T0);
    a.call_ended(&answered_cdr(&call, 1_000))
        .await
        .expect("call_ended");
    assert_eq!(b.cdr_count().await.expect("count"), 1);
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    let path = db.url.trim_start_matches("sqlite://").to_owned();
    assert!(std::path::Path::new(&path).is_file(), "{path} not created");
    let mut conn = AnyConnection::connect(&db.url).await.expect("connect");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn in_memory_store_works_across_calls() {
    for url in [
        "sqlite::memory:",
        "sqlite://:memory:",
        "sqlite://?mode=memory",
    ] {
        in_memory_store_keeps_one_database(url).await;
    }
}

async fn in_memory_store_keeps_one_database(url: &str) {
    let store = Store::open(url).await.expect("open");
    let call = start("mem", "cid-mem", "alice", "100", T0);
    store.call_started(&call).await.expect("call_started");
    // Many sequential operations: every one must see the same in-memory database.
    for _ in 0..5 {
        assert_eq!(store.in_flight_count().await.expect("count"), 1);
    }
    store
        .call_ended(&answered_cdr(&call, 1_000))
        .await
        .expect("call_ended");
    assert_eq!(store.cdr_count().await.expect("count"), 1);
}

#[tokio::test]
async fn bad_urls_are_refused() {
    assert!(matches!(
        Store::open("mysql://root:secret@127.0.0.1/sb").await,
        Err(StoreError::UnsupportedScheme { .. })
    ));
    assert!(matches!(
        Store::open("sqlite://").await,
        Err(StoreError::MissingSqlitePath)
    ));
    // The SQLite file's directory cannot be created under a regular file.
    let dir = tempfile::tempdir().expect("temp dir");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let url = format!("sqlite://{}/db.sqlite", blocker.join("sub").display());
    assert!(matches!(
        Store::open(&url).await,
        Err(StoreError::CreateDir { .. })
    ));
}

#[tokio::test]
async fn edited_migration_is_refused_and_garbage_file_is_an_error() {
    let db = TestDb::sqlite();
    drop(db.open().await);
    // Pretend the applied migration 1 differs from the one in this build.
    let mut conn = AnyConnection::connect(&db.url).await.expect("connect");
    sqlx::query("UPDATE _sqlx_migrations SET checksum = X'00' WHERE version = 1")
        .execute(&mut conn)
        .await
        .expect("tamper");
    conn.close().await.expect("close");
    let err = Store::open(&db.url).await.expect_err("mismatch");
    assert!(
        matches!(
            err,
            StoreError::Migrate(sqlx::migrate::MigrateError::VersionMismatch(1))
        ),
        "{err}"
    );

    // A file that is not an SQLite database.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("not-a-db.sqlite");
    std::fs::write(&file, vec![b'x'; 4096]).expect("write");
    let err = Store::open(&format!("sqlite://{}", file.display()))
        .await
        .expect_err("garbage file");
    // SQLite's own complaint, at once — not the pool's timeout after retrying for 30 s.
    assert!(
        matches!(&err, StoreError::Database(sqlx::Error::Database(e)) if e.message().contains("not a database")),
        "{err}"
    );
}

#[test]
fn cdr_serialises_for_the_api() {
    let call = start("01HZX", "cid", "alice", "100", T0);
    let json = serde_json::to_value(answered_cdr(&call, 2_000)).expect("json");
    assert_eq!(json["id"], "01HZX");
    assert_eq!(json["hangup_side"], "callee");
    assert_eq!(json["sip_status"], 200);
    assert_eq!(json["legs"][0]["role"], "A");
    assert_eq!(json["legs"][1]["final_status"], 486);
    assert_eq!(json["legs"][1]["answered_at_ms"], serde_json::Value::Null);
}

#[test]
fn test_database_url_rewrite() {
    assert_eq!(
        with_database("postgres://u@127.0.0.1:5432/base", "t1"),
        "postgres://u@127.0.0.1:5432/t1"
    );
    assert_eq!(
        with_database("postgres://u:p@h/base?sslmode=disable", "t1"),
        "postgres://u:p@h/t1?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
}
