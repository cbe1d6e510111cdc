//! Not a test: a measurement, run by hand (ignored by default, asserts nothing about time).
//!
//!   cargo test --release --test store_throughput -- --ignored --nocapture
//!   tests/pg.sh cargo test --release --test store_throughput -- --ignored --nocapture
//!
//! Prints how many calls per second the store records (call_started + call_ended, each
//! committed: two fsyncs per call on SQLite with synchronous=FULL), sequentially and from
//! 16 concurrent tasks, on an SQLite file in a temp dir and, when set, on
//! SWITCHBOARD_TEST_PG_URL.

use std::time::Instant;

use switchboard::store::{CallRecordId, CallStart, Cdr, CdrLeg, HangupSide, LegRole, Store};

const CALLS: usize = 2_000;
const TASKS: usize = 16;

fn call(n: usize) -> (CallStart, Cdr) {
    let t = 1_700_000_000_000 + n as i64;
    let id = CallRecordId::generate(t);
    let start = CallStart {
        id: id.clone(),
        call_id: format!("{id}@bench"),
        caller: "alice".into(),
        callee: "100".into(),
        direction: Some("inbound".into()),
        started_at_ms: t,
    };
    let leg = |role, peer: &str| CdrLeg {
        role,
        peer: peer.into(),
        sip_call_id: format!("{id}-{peer}"),
        remote_uri: format!("sip:{peer}@192.0.2.1"),
        started_at_ms: t,
        answered_at_ms: Some(t + 1_000),
        ended_at_ms: t + 61_000,
        final_status: Some(200),
    };
    let legs = vec![leg(LegRole::A, "alice"), leg(LegRole::B, "trunk")];
    let cdr = Cdr {
        id,
        call_id: start.call_id.clone(),
        caller: start.caller.clone(),
        callee: start.callee.clone(),
        direction: start.direction.clone(),
        started_at_ms: t,
        answered_at_ms: Some(t + 1_000),
        ended_at_ms: t + 61_000,
        duration_ms: 61_000,
        billable_ms: 60_000,
        sip_status: 200,
        hangup_side: HangupSide::Caller,
        hangup_cause: "normal_clearing".into(),
        legs,
        media: Vec::new(),
    };
    (start, cdr)
}

async fn measure(label: &str, url: &str) {
    let store = Store::open(url).await.expect("open");
    let begin = Instant::now();
    for n in 0..CALLS {
        let (start, cdr) = call(n);
        store.call_started(&start).await.expect("started");
        store.call_ended(&cdr).await.expect("ended");
    }
    let sequential = CALLS as f64 / begin.elapsed().as_secs_f64();

    let begin = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let store = store.clone();
        tasks.spawn(async move {
            for n in (CALLS + task..2 * CALLS).step_by(TASKS) {
                let (start, cdr) = call(n);
                store.call_started(&start).await.expect("started");
                store.call_ended(&cdr).await.expect("ended");
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("task");
    }
    let concurrent = (CALLS - CALLS % TASKS) as f64 / begin.elapsed().as_secs_f64();
    println!(
        "{label}: {sequential:.0} calls/s sequential, {concurrent:.0} calls/s from {TASKS} tasks \
         ({CALLS} calls each; a call = call_started + call_ended with 2 legs)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run by hand with --ignored --nocapture"]
async fn cdr_write_throughput() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    measure("sqlite file (WAL, synchronous=FULL)", &url).await;
    match std::env::var("SWITCHBOARD_TEST_PG_URL") {
        Ok(url) => measure("postgresql", &url).await,
        Err(_) => println!("postgresql: skipped: SWITCHBOARD_TEST_PG_URL not set"),
    }
}
