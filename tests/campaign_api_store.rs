//! The store queries behind the campaign API (statistics, the results export, deletion,
//! edits that keep the state, do-not-call look-ups across lists) against every backend:
//! SQLite always, PostgreSQL when `SWITCHBOARD_TEST_PG_URL` is set
//! (`tests/pg.sh cargo test --test campaign_api_store`). Time is virtual: every `now` is an
//! offset from [`T0`].

#[macro_use]
mod store_support;
use store_support::TestDb;

use switchboard::dialer::campaign::{AgentSet, Campaign, DialMode};
use switchboard::store::{
    Attempt, AttemptOutcome, CampaignDeleted, CampaignId, CampaignState, Disposition, DncScope,
    LeadNext, LeadStatus, NewLead, Store,
};

/// 2026-07-01T16:00Z: 12:00 in New York.
const T0: i64 = 1_782_921_600_000;
const MINUTE: i64 = 60_000;

both_backends!(
    outcomes_and_dispositions_are_counted,
    results_page_through_leads_with_their_latest_disposition,
    deleting_takes_everything_the_campaign_owned,
    edits_keep_the_state,
    dnc_scopes_name_every_list,
);

fn definition(name: &str) -> Campaign {
    Campaign::new(
        name,
        "carrier-a",
        "+14155550100",
        AgentSet::Queue("sales".into()),
        DialMode::Predictive,
    )
}

async fn running_campaign(store: &Store, name: &str) -> CampaignId {
    let mut def = definition(name);
    def.state = CampaignState::Running;
    store
        .create_campaign(&def.to_new().expect("valid"), T0)
        .await
        .expect("create campaign")
}

/// `n` leads numbered from `first` in a new list whose rows carry `fields`.
async fn load(store: &Store, campaign: &CampaignId, first: u64, n: u64, fields: serde_json::Value) {
    let list = store.create_list(campaign, "seed", T0).await.expect("list");
    let rows: Vec<NewLead> = (first..first + n)
        .map(|i| NewLead {
            seq: i,
            phone: format!("+1212555{i:04}"),
            tz: "America/New_York".into(),
            fields: fields.clone(),
            priority: 0,
        })
        .collect();
    let done = store
        .import_leads(campaign, &list, &rows, T0)
        .await
        .expect("import");
    assert_eq!(done.loaded, n);
}

fn attempt(outcome: AttemptOutcome, at: i64) -> Attempt {
    Attempt {
        call_id: Some(format!("call-{at}")),
        outcome,
        sip_status: None,
        started_at_ms: at,
        answered_at_ms: None,
        ended_at_ms: at + 20_000,
    }
}

fn disposition(code: &str, note: &str, at_ms: i64) -> Disposition {
    Disposition {
        agent: "1001".into(),
        code: code.into(),
        note: note.into(),
        callback_at_ms: None,
        at_ms,
    }
}

async fn outcomes_and_dispositions_are_counted(db: &TestDb) {
    let store = db.open().await;
    let campaign = running_campaign(&store, "counted").await;
    let other = running_campaign(&store, "other").await;
    load(&store, &campaign, 0, 4, serde_json::json!({})).await;
    load(&store, &other, 100, 1, serde_json::json!({})).await;
    let leads = store.claim_leads(&campaign, T0, 4).await.expect("claim");
    let outcomes = [
        AttemptOutcome::Busy,
        AttemptOutcome::Busy,
        AttemptOutcome::Answered,
        AttemptOutcome::Dropped,
    ];
    for (lead, outcome) in leads.iter().zip(outcomes) {
        store
            .record_attempt(&lead.id, &attempt(outcome, T0), LeadNext::Done)
            .await
            .expect("attempt");
    }
    // The other campaign's attempt is not counted here.
    let theirs = store.claim_leads(&other, T0, 1).await.expect("claim");
    store
        .record_attempt(
            &theirs[0].id,
            &attempt(AttemptOutcome::Machine, T0),
            LeadNext::Done,
        )
        .await
        .expect("attempt");
    for (lead, code) in leads.iter().zip(["sale", "sale", "not_interested"]) {
        store
            .record_disposition(
                &lead.id,
                &disposition(code, "", T0 + MINUTE),
                LeadNext::Done,
            )
            .await
            .expect("disposition");
    }
    let totals = store.campaign_outcomes(&campaign).await.expect("outcomes");
    assert_eq!(
        (
            totals.busy,
            totals.answered,
            totals.dropped,
            totals.machine,
            totals.no_answer
        ),
        (2, 1, 1, 0, 0)
    );
    let codes = store
        .campaign_disposition_counts(&campaign)
        .await
        .expect("codes");
    assert_eq!(
        codes.into_iter().collect::<Vec<_>>(),
        [("not_interested".to_string(), 1), ("sale".to_string(), 2)]
    );
    assert_eq!(
        store
            .campaign_outcomes(&other)
            .await
            .expect("outcomes")
            .machine,
        1
    );
}

async fn results_page_through_leads_with_their_latest_disposition(db: &TestDb) {
    let store = db.open().await;
    let campaign = running_campaign(&store, "results").await;
    load(
        &store,
        &campaign,
        0,
        3,
        serde_json::json!({"name": "a", "plan": "gold"}),
    )
    .await;
    load(
        &store,
        &campaign,
        10,
        2,
        serde_json::json!({"city": "Boston"}),
    )
    .await;
    assert_eq!(
        store.campaign_field_names(&campaign).await.expect("names"),
        ["city", "name", "plan"]
    );
    let leads = store.claim_leads(&campaign, T0, 1).await.expect("claim");
    store
        .record_attempt(
            &leads[0].id,
            &attempt(AttemptOutcome::Answered, T0),
            LeadNext::Done,
        )
        .await
        .expect("attempt");
    for (code, note, at) in [
        ("callback", "first", T0 + MINUTE),
        ("sale", "second", T0 + 2 * MINUTE),
    ] {
        store
            .record_disposition(&leads[0].id, &disposition(code, note, at), LeadNext::Done)
            .await
            .expect("disposition");
    }
    // Pages of two: every lead once, in list order, the last disposition on its lead only.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .campaign_results(&campaign, after.as_ref(), 2)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(|l| l.id.clone());
        seen.extend(page);
    }
    // (Two lists made in the same millisecond: their ids, and so their order, are random.)
    let mut phones: Vec<&str> = seen.iter().map(|l| l.phone.as_str()).collect();
    phones.sort_unstable();
    assert_eq!(
        phones,
        [
            "+12125550000",
            "+12125550001",
            "+12125550002",
            "+12125550010",
            "+12125550011"
        ]
    );
    let first = seen
        .iter()
        .find(|l| l.id == leads[0].id)
        .expect("the claimed lead");
    assert_eq!((first.status, first.attempts), (LeadStatus::Done, 1));
    assert_eq!(first.last_outcome, Some(AttemptOutcome::Answered));
    let d = first.disposition.as_ref().expect("disposition");
    assert_eq!((d.code.as_str(), d.note.as_str()), ("sale", "second"));
    assert_eq!(seen.iter().filter(|l| l.disposition.is_some()).count(), 1);
    let boston = seen
        .iter()
        .find(|l| l.phone == "+12125550010")
        .expect("lead");
    assert_eq!(boston.fields["city"], "Boston");
    assert!(store
        .campaign_results(&CampaignId::from("nope"), None, 10)
        .await
        .expect("empty")
        .is_empty());
}

async fn deleting_takes_everything_the_campaign_owned(db: &TestDb) {
    let store = db.open().await;
    let campaign = running_campaign(&store, "doomed").await;
    let kept = running_campaign(&store, "kept").await;
    load(&store, &campaign, 0, 2, serde_json::json!({})).await;
    load(&store, &kept, 0, 1, serde_json::json!({})).await;
    let leads = store.claim_leads(&campaign, T0, 1).await.expect("claim");
    store
        .record_attempt(
            &leads[0].id,
            &attempt(AttemptOutcome::Answered, T0),
            LeadNext::Done,
        )
        .await
        .expect("attempt");
    store
        .record_disposition(&leads[0].id, &disposition("sale", "", T0), LeadNext::Done)
        .await
        .expect("disposition");
    let own = DncScope::Campaign(campaign.clone());
    store
        .dnc_add(&own, &["+19995550000".into()], "api", T0)
        .await
        .expect("dnc");
    store
        .dnc_add(&DncScope::Global, &["+19995550001".into()], "api", T0)
        .await
        .expect("dnc");

    assert_eq!(
        store.delete_campaign(&campaign).await.expect("delete"),
        CampaignDeleted::Refused(CampaignState::Running)
    );
    assert!(store.campaign(&campaign).await.expect("get").is_some());
    assert!(store
        .set_campaign_state(
            &campaign,
            CampaignState::Running,
            CampaignState::Stopped,
            T0
        )
        .await
        .expect("stop"));
    assert_eq!(
        store.delete_campaign(&campaign).await.expect("delete"),
        CampaignDeleted::Deleted
    );
    assert_eq!(
        store.delete_campaign(&campaign).await.expect("again"),
        CampaignDeleted::NotFound
    );
    assert!(store.campaign(&campaign).await.expect("get").is_none());
    assert_eq!(store.lead_counts(&campaign).await.expect("counts").ready, 0);
    assert!(store.lead(&leads[0].id).await.expect("lead").is_none());
    assert_eq!(store.dnc_count(&own).await.expect("count"), 0);
    // Other campaigns and the global list are untouched; the name is free again.
    assert_eq!(store.dnc_count(&DncScope::Global).await.expect("count"), 1);
    assert_eq!(store.lead_counts(&kept).await.expect("counts").ready, 1);
    running_campaign(&store, "doomed").await;
}

async fn edits_keep_the_state(db: &TestDb) {
    let store = db.open().await;
    let campaign = running_campaign(&store, "edited").await;
    let mut def = definition("edited again");
    def.state = CampaignState::Draft;
    def.max_attempts = 3;
    def.ring_timeout_s = 30;
    assert!(store
        .update_campaign_definition(&campaign, &def.to_new().expect("valid"), T0 + MINUTE)
        .await
        .expect("update"));
    let record = store
        .campaign(&campaign)
        .await
        .expect("get")
        .expect("campaign");
    assert_eq!(record.state, CampaignState::Running);
    assert_eq!(
        (record.name.as_str(), record.max_attempts),
        ("edited again", 3)
    );
    assert_eq!(record.updated_at_ms, T0 + MINUTE);
    let back = Campaign::from_record(&record).expect("decode");
    assert_eq!(
        (back.ring_timeout_s, back.state),
        (30, CampaignState::Running)
    );
    assert!(!store
        .update_campaign_definition(&CampaignId::from("nope"), &def.to_new().expect("valid"), T0)
        .await
        .expect("update"));
}

async fn dnc_scopes_name_every_list(db: &TestDb) {
    let store = db.open().await;
    let a = running_campaign(&store, "a").await;
    let number = "+12125550123".to_string();
    assert!(store.dnc_scopes(&number).await.expect("none").is_empty());
    store
        .dnc_add(
            &DncScope::Campaign(a.clone()),
            std::slice::from_ref(&number),
            "api",
            T0,
        )
        .await
        .expect("add");
    store
        .dnc_add(&DncScope::Global, std::slice::from_ref(&number), "api", T0)
        .await
        .expect("add");
    assert_eq!(
        store.dnc_scopes(&number).await.expect("scopes"),
        [DncScope::Global, DncScope::Campaign(a)]
    );
}
