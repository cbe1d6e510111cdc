//! The switch's writes keep going while a big lead list loads: call starts and ends,
//! lead claims, attempts, dispositions and agent transitions from several tasks, all
//! during one `import_leads` on a file-backed store, every one succeeds and every row is
//! there afterwards. On SQLite every writer queues at the store's write gate (see
//! `src/store/write_gate.rs`; its unit tests pin the queue's order); on PostgreSQL the
//! server queues them. `tests/pg.sh cargo test --test store_write_gate` runs both.

#[macro_use]
mod store_support;
use store_support::TestDb;

use switchboard::store::{
    AgentStateRow, Attempt, AttemptOutcome, CallRecordId, CallStart, CampaignId, CampaignState,
    Cdr, Disposition, HangupSide, LeadNext, NewCampaign, NewLead, Store,
};

both_backends!(switch_writes_all_land_during_a_big_import);

/// 2026-07-01T16:00Z: 12:00 in New York, inside the default calling window.
const T0: i64 = 1_782_921_600_000;
/// Several import transactions on either backend, whatever the time budget.
const IMPORT_ROWS: u64 = 60_000;
const CALL_TASKS: u128 = 3;
const CALLS_PER_TASK: u128 = 40;
const CLAIM_TASKS: usize = 2;
const CLAIM_ROUNDS: usize = 10;
const CLAIM_BATCH: u32 = 3;

fn leads(first: u64, n: u64, prefix: u64) -> Vec<NewLead> {
    (first..first + n)
        .map(|i| NewLead {
            seq: i,
            phone: format!("+1{}", prefix + i),
            tz: "America/New_York".into(),
            fields: serde_json::json!({ "n": i }),
            priority: 0,
        })
        .collect()
}

async fn campaign(store: &Store, name: &str, state: CampaignState) -> CampaignId {
    let new = NewCampaign {
        name: name.into(),
        state,
        max_attempts: 5,
        window: Default::default(),
        settings: serde_json::json!({}),
    };
    store.create_campaign(&new, T0).await.expect("campaign")
}

fn cdr(call: &CallStart) -> Cdr {
    Cdr {
        id: call.id.clone(),
        call_id: call.call_id.clone(),
        caller: call.caller.clone(),
        callee: call.callee.clone(),
        direction: Some("inbound".into()),
        started_at_ms: call.started_at_ms,
        answered_at_ms: None,
        ended_at_ms: call.started_at_ms + 1_000,
        duration_ms: 1_000,
        billable_ms: 0,
        sip_status: 486,
        hangup_side: HangupSide::Callee,
        hangup_cause: "busy".into(),
        legs: Vec::new(),
        media: Vec::new(),
    }
}

async fn switch_writes_all_land_during_a_big_import(db: &TestDb) {
    let store = db.open().await;
    // Leads the dialer works on while another campaign's list loads.
    let dialing = campaign(&store, "dialing", CampaignState::Running).await;
    let seed = store.create_list(&dialing, "seed", T0).await.expect("list");
    let claimable = (CLAIM_TASKS * CLAIM_ROUNDS) as u64 * u64::from(CLAIM_BATCH);
    store
        .import_leads(&dialing, &seed, &leads(1, claimable, 3_000_000_000), T0)
        .await
        .expect("seed");
    let loading = campaign(&store, "loading", CampaignState::Draft).await;
    let list = store.create_list(&loading, "big", T0).await.expect("list");

    let import = {
        let (store, loading, list) = (store.clone(), loading.clone(), list.clone());
        tokio::spawn(async move {
            let rows = leads(1, IMPORT_ROWS, 2_000_000_000);
            store.import_leads(&loading, &list, &rows, T0).await
        })
    };
    let mut calls = Vec::new();
    for task in 0..CALL_TASKS {
        let store = store.clone();
        calls.push(tokio::spawn(async move {
            for n in 0..CALLS_PER_TASK {
                let call = CallStart {
                    id: CallRecordId::from_parts(T0, task * 1_000 + n),
                    call_id: format!("call-{task}-{n}"),
                    caller: "alice".into(),
                    callee: "bob".into(),
                    direction: Some("inbound".into()),
                    started_at_ms: T0,
                };
                store.call_started(&call).await?;
                store.call_ended(&cdr(&call)).await?;
            }
            Ok::<(), switchboard::store::StoreError>(())
        }));
    }
    let mut claims = Vec::new();
    for task in 0..CLAIM_TASKS {
        let (store, dialing) = (store.clone(), dialing.clone());
        claims.push(tokio::spawn(async move {
            let mut worked = Vec::new();
            for _ in 0..CLAIM_ROUNDS {
                for lead in store.claim_leads(&dialing, T0, CLAIM_BATCH).await? {
                    assert!(store.mark_dialing(&lead.id, T0).await?, "claim held");
                    let attempt = Attempt {
                        call_id: Some(format!("out-{}", lead.seq)),
                        outcome: AttemptOutcome::Answered,
                        sip_status: Some(200),
                        started_at_ms: T0,
                        answered_at_ms: Some(T0 + 5_000),
                        ended_at_ms: T0 + 60_000,
                    };
                    assert!(
                        store
                            .record_attempt(&lead.id, &attempt, LeadNext::Unchanged)
                            .await?
                    );
                    let disposition = Disposition {
                        agent: format!("agent-{task}"),
                        code: "sale".into(),
                        note: String::new(),
                        callback_at_ms: None,
                        at_ms: T0 + 61_000,
                    };
                    let done = store
                        .record_disposition(&lead.id, &disposition, LeadNext::Done)
                        .await?;
                    assert!(done);
                    store
                        .agent_states_record(&[AgentStateRow {
                            agent: format!("agent-{task}"),
                            from_state: "talking".into(),
                            from_reason: None,
                            to_state: "wrap_up".into(),
                            to_reason: None,
                            reason: "hangup".into(),
                            call: lead.fields.get("n").map(|n| n.to_string()),
                            at_ms: T0 + 60_000,
                        }])
                        .await?;
                    worked.push(lead.id);
                }
            }
            Ok::<_, switchboard::store::StoreError>(worked)
        }));
    }

    for task in calls {
        task.await
            .expect("call task")
            .expect("every call write succeeds");
    }
    let mut worked = Vec::new();
    for task in claims {
        worked.extend(
            task.await
                .expect("claim task")
                .expect("every lead write succeeds"),
        );
    }
    let imported = import.await.expect("import task").expect("import");

    assert_eq!(imported.loaded, IMPORT_ROWS);
    assert!(imported.duplicates.is_empty());
    assert_eq!(
        store.cdr_count().await.expect("count"),
        (CALL_TASKS * CALLS_PER_TASK) as u64
    );
    assert_eq!(store.in_flight_count().await.expect("count"), 0);
    // Every seeded lead was claimed once (claims never share a lead) and worked to done.
    assert_eq!(worked.len() as u64, claimable);
    let outcomes = store.campaign_outcomes(&dialing).await.expect("outcomes");
    assert_eq!(outcomes.answered, claimable);
    for id in &worked {
        let lead = store.lead(id).await.expect("lead").expect("exists");
        assert_eq!(lead.attempts, 1);
        assert_eq!(lead.status, switchboard::store::LeadStatus::Done);
    }
    let mut transitions = 0;
    for task in 0..CLAIM_TASKS {
        transitions += store
            .agent_history(&format!("agent-{task}"), None, None, 1_000)
            .await
            .expect("history")
            .len();
    }
    assert_eq!(transitions as u64, claimable);
}
