//! The store writer's batches at load: hundreds of call starts and CDRs (more than one
//! multi-row statement holds) land whole, legs and media counters included, and a batch
//! with a CDR already stored rolls back whole (SQLite file in a temp dir).

use switchboard::store::{
    CallRecordId, CallStart, Cdr, CdrLeg, CdrMedia, CdrQuery, HangupSide, LegRole, Store,
    StoreError,
};

const CALLS: usize = 450;

fn start(n: usize) -> CallStart {
    CallStart {
        id: CallRecordId::from(format!("batch-{n:04}")),
        call_id: format!("cid-{n}@durable"),
        caller: "alice".into(),
        callee: format!("1{n:03}"),
        direction: Some("inbound".into()),
        started_at_ms: 1_800_000_000_000 + n as i64,
    }
}

fn cdr(c: &CallStart) -> Cdr {
    let t = c.started_at_ms;
    let leg = |role, i: i64| CdrLeg {
        role,
        peer: format!("peer-{i}"),
        sip_call_id: format!("{}-{i}", c.call_id),
        remote_uri: format!("sip:{}@example.test", c.callee),
        started_at_ms: t + i,
        answered_at_ms: Some(t + 100),
        ended_at_ms: t + 2_000,
        final_status: Some(200),
    };
    Cdr {
        id: c.id.clone(),
        call_id: c.call_id.clone(),
        caller: c.caller.clone(),
        callee: c.callee.clone(),
        direction: c.direction.clone(),
        started_at_ms: t,
        answered_at_ms: Some(t + 100),
        ended_at_ms: t + 2_000,
        duration_ms: 2_000,
        billable_ms: 1_900,
        sip_status: 200,
        hangup_side: HangupSide::Caller,
        hangup_cause: "normal_clearing".into(),
        legs: vec![leg(LegRole::A, 0), leg(LegRole::B, 1)],
        media: vec![CdrMedia {
            role: LegRole::A,
            packets_in: 100,
            bytes_in: 17_200,
            packets_out: 99,
            bytes_out: 17_028,
            rtcp_in: 2,
            lost: 1,
            jitter_us: 900,
            reported_lost: Some(2),
            reported_jitter_us: Some(1_100),
        }],
    }
}

#[tokio::test]
async fn large_batches_land_whole_with_legs_and_media() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("b.db").display()))
        .await
        .expect("open");
    let starts: Vec<CallStart> = (0..CALLS).map(start).collect();
    let cdrs: Vec<Cdr> = starts.iter().map(cdr).collect();
    store.record_batch(&starts, &[]).await.expect("starts");
    assert_eq!(store.in_flight_count().await.unwrap(), CALLS as u64);
    // The first 300 end in one batch with 100 new calls starting.
    let more: Vec<CallStart> = (CALLS..CALLS + 100).map(start).collect();
    store
        .record_batch(&more, &cdrs[..300])
        .await
        .expect("mixed batch");
    assert_eq!(store.cdr_count().await.unwrap(), 300);
    assert_eq!(
        store.in_flight_count().await.unwrap(),
        (CALLS - 300 + 100) as u64
    );

    // A batch holding an already stored CDR changes nothing.
    let err = store
        .record_batch(&[], &cdrs[299..])
        .await
        .expect_err("duplicate CDR");
    assert!(matches!(err, StoreError::DuplicateCdr(_)), "{err}");
    assert_eq!(store.cdr_count().await.unwrap(), 300);
    // So does a start of a call still in flight.
    let err = store
        .record_batch(&[start(CALLS + 200), start(400)], &[])
        .await
        .expect_err("duplicate start");
    assert!(matches!(err, StoreError::DuplicateCallStart(_)), "{err}");

    store.record_batch(&[], &cdrs[300..]).await.expect("rest");
    assert_eq!(store.cdr_count().await.unwrap(), CALLS as u64);
    assert_eq!(store.in_flight_count().await.unwrap(), 100);
    for n in [0, 199, 200, 449] {
        let got = store.cdr(&start(n).id).await.unwrap().expect("stored");
        assert_eq!(got, cdrs[n], "CDR {n} round-trips with its legs and media");
    }
    let page = store
        .cdrs(&CdrQuery {
            call_id: Some("cid-321@durable".into()),
            ..CdrQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
}
