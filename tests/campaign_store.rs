//! Campaigns, lead lists, DNC and the durable hopper against every backend: SQLite always
//! (a real file in a temp dir), PostgreSQL when `SWITCHBOARD_TEST_PG_URL` is set
//! (`tests/pg.sh cargo test --test campaign_store`). Each scenario is one async fn taking a
//! [`TestDb`]; `both_backends!` turns it into `<scenario>::sqlite` and `<scenario>::postgres`.
//! Time is virtual: every `now` is an offset from [`T0`].

#[macro_use]
mod store_support;
use store_support::TestDb;

use std::collections::HashSet;

use switchboard::dialer::campaign::{AgentSet, Campaign, DialMode};
use switchboard::dialer::dnc;
use switchboard::dialer::list::{import_csv, CsvOptions, FirstSeen, Region, RowProblem, E164};
use switchboard::store::{
    Attempt, AttemptOutcome, CampaignId, CampaignLease, CampaignState, Disposition, DncScope,
    LeadId, LeadNext, LeadStatus, NewLead, Store,
};

/// 2026-07-01T16:00Z: 12:00 in New York, 09:00 in Los Angeles, 17:00 in London.
const T0: i64 = 1_782_921_600_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const LEASE_TTL: i64 = 10_000;

both_backends!(
    one_node_holds_a_campaign_until_its_lease_expires,
    a_released_lease_is_taken_at_once_and_only_the_holder_releases,
    a_lapsed_lease_gives_the_dead_nodes_claimed_leads_to_the_next_node,
    campaigns_round_trip_and_move_by_compare_and_set,
    csv_bad_rows_are_reported_and_good_rows_load,
    duplicates_in_the_list_and_the_campaign_are_flagged,
    claims_follow_hopper_order,
    concurrent_claimers_never_share_a_lead,
    dnc_numbers_are_never_claimed,
    dnc_csv_upload_and_api,
    retry_delays_and_attempt_caps_hold,
    calling_window_is_respected_per_lead_zone,
    attempts_and_dispositions_survive_reopening,
    release_claims_returns_undialled_leads,
    dispositions_schedule_callbacks_and_dnc,
    paused_campaign_hands_out_nothing,
    unclaimed_leads_come_back_and_a_disposition_survives_the_later_attempt,
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

/// A running campaign with the default rules.
async fn running_campaign(store: &Store, name: &str) -> (CampaignId, Campaign) {
    let mut def = definition(name);
    def.state = CampaignState::Running;
    let id = store
        .create_campaign(&def.to_new().expect("valid"), T0)
        .await
        .expect("create campaign");
    (id, def)
}

/// `n` leads in New York, numbered from `first`, loaded straight into the store.
async fn load(store: &Store, campaign: &CampaignId, first: u64, n: u64, tz: &str) {
    let list = store.create_list(campaign, "seed", T0).await.expect("list");
    let rows: Vec<NewLead> = (first..first + n)
        .map(|i| NewLead {
            seq: i,
            phone: format!("+1212555{i:04}"),
            tz: tz.into(),
            fields: serde_json::json!({ "name": format!("lead {i}") }),
            priority: 0,
        })
        .collect();
    let done = store
        .import_leads(campaign, &list, &rows, T0)
        .await
        .expect("import");
    assert_eq!(done.loaded, n);
}

fn attempt(outcome: AttemptOutcome, status: Option<u16>, at: i64) -> Attempt {
    Attempt {
        call_id: Some(format!("call-{at}")),
        outcome,
        sip_status: status,
        started_at_ms: at,
        answered_at_ms: None,
        ended_at_ms: at + 20_000,
    }
}

async fn campaigns_round_trip_and_move_by_compare_and_set(db: &TestDb) {
    let store = db.open().await;
    let mut def = definition("spring");
    def.retry.busy.delay_s = 900;
    let id = store
        .create_campaign(&def.to_new().expect("valid"), T0)
        .await
        .expect("create");
    // The name is unique.
    assert!(store
        .create_campaign(&def.to_new().expect("valid"), T0)
        .await
        .is_err());
    let record = store.campaign(&id).await.expect("get").expect("stored");
    assert_eq!(record.state, CampaignState::Draft);
    let back = Campaign::from_record(&record).expect("decode");
    assert_eq!(back, def);

    assert!(store
        .set_campaign_state(&id, CampaignState::Draft, CampaignState::Running, T0 + 1)
        .await
        .expect("start"));
    // A second starter loses the race: the state is no longer draft.
    assert!(!store
        .set_campaign_state(&id, CampaignState::Draft, CampaignState::Running, T0 + 2)
        .await
        .expect("start again"));
    def.ring_timeout_s = 25;
    def.state = CampaignState::Running;
    assert!(store
        .update_campaign(&id, &def.to_new().expect("valid"), T0 + 3)
        .await
        .expect("update"));
    let all = store.campaigns().await.expect("list");
    assert_eq!(all.len(), 1);
    assert_eq!(
        Campaign::from_record(&all[0])
            .expect("decode")
            .ring_timeout_s,
        25
    );
    assert_eq!(all[0].updated_at_ms, T0 + 3);
    assert!(store
        .campaign(&CampaignId::from("nope"))
        .await
        .expect("get")
        .is_none());
}

const CSV_WITH_BAD_ROWS: &str = "\
name,phone,timezone,priority,account
Ada,(415) 555-2671,,,A-1
Bob,call me maybe,,,A-2
Cy,+44 20 7946 0018,,3,A-3
Di,,,,A-4
Ed,(212) 555-0142,Mars/Olympus,,A-5
Flo,0049 30 901820,Europe/Berlin,,A-6
Gus,(099) 555-0100,,,A-7
Hal,(212) 555-0143,,high,A-8
Ivy,+1 604 555 0143,,,A-9
";

async fn csv_bad_rows_are_reported_and_good_rows_load(db: &TestDb) {
    let store = db.open().await;
    let (campaign, _) = running_campaign(&store, "csv").await;
    let options = CsvOptions {
        default_region: Some(Region::US),
        ..CsvOptions::default()
    };
    let report = import_csv(
        &store,
        &campaign,
        "march.csv",
        CSV_WITH_BAD_ROWS.as_bytes(),
        &options,
        T0,
    )
    .await
    .expect("import");
    assert_eq!(report.rows, 9);
    let bad: Vec<u64> = report.rejected.iter().map(|e| e.line).collect();
    assert_eq!(bad, vec![3, 5, 6, 8, 9], "{:?}", report.rejected);
    assert!(matches!(report.rejected[0].problem, RowProblem::Phone(_)));
    assert_eq!(report.rejected[1].problem, RowProblem::MissingPhone);
    assert!(matches!(
        report.rejected[2].problem,
        RowProblem::UnknownTimeZone(_)
    ));
    assert!(matches!(
        report.rejected[4].problem,
        RowProblem::BadPriority(_)
    ));
    assert!(report.rejected[2].reason.contains("Mars/Olympus"));
    assert_eq!(report.loaded, 4);
    assert_eq!(report.rejected_count, 5);
    // 415 and 604 have area-code zones, London and Berlin are single-zone: no guesses.
    assert_eq!(report.guessed_zones, 0);

    let ada = store
        .lead_by_phone(&campaign, "+14155552671")
        .await
        .expect("get")
        .expect("Ada loaded");
    assert_eq!(ada.tz, "America/Los_Angeles");
    assert_eq!(ada.seq, 2);
    assert_eq!(
        ada.fields,
        serde_json::json!({ "name": "Ada", "account": "A-1" })
    );
    let cy = store
        .lead_by_phone(&campaign, "+442079460018")
        .await
        .expect("get")
        .expect("Cy loaded");
    assert_eq!((cy.tz.as_str(), cy.priority), ("Europe/London", 3));
    let flo = store
        .lead_by_phone(&campaign, "+4930901820")
        .await
        .expect("get")
        .expect("Flo loaded");
    assert_eq!(flo.tz, "Europe/Berlin");
    let ivy = store
        .lead_by_phone(&campaign, "+16045550143")
        .await
        .expect("get")
        .expect("Ivy loaded");
    assert_eq!(ivy.tz, "America/Vancouver");
    let list = store
        .lead_list(&report.list)
        .await
        .expect("list")
        .expect("stored");
    assert_eq!(
        (list.rows_loaded, list.rows_rejected, list.rows_duplicate),
        (4, 5, 0)
    );
}

async fn duplicates_in_the_list_and_the_campaign_are_flagged(db: &TestDb) {
    let store = db.open().await;
    let (campaign, _) = running_campaign(&store, "dupes").await;
    let options = CsvOptions {
        default_region: Some(Region::US),
        ..CsvOptions::default()
    };
    let first = "phone\n(212) 555-0101\n(212) 555-0102\n";
    let report = import_csv(&store, &campaign, "a", first.as_bytes(), &options, T0)
        .await
        .expect("first list");
    assert_eq!(report.loaded, 2);
    // 212 is Eastern, the US default zone: loaded, but reported as a guess.
    assert_eq!(report.guessed_zones, 2);
    // Line 2 is in the campaign already (written differently), line 4 repeats line 3.
    let second = "phone\n+1 212-555-0102\n212.555.0103\n(212) 555 0103\n2125550104\n";
    let report = import_csv(&store, &campaign, "b", second.as_bytes(), &options, T0)
        .await
        .expect("second list");
    assert_eq!(report.loaded, 2);
    assert_eq!(report.duplicate_count, 2);
    let flagged: Vec<(u64, &str, FirstSeen)> = report
        .duplicates
        .iter()
        .map(|d| (d.line, d.phone.as_str(), d.first.clone()))
        .collect();
    assert!(
        flagged.contains(&(4, "+12125550103", FirstSeen::Line(3))),
        "{flagged:?}"
    );
    assert!(
        flagged.contains(&(2, "+12125550102", FirstSeen::Campaign)),
        "{flagged:?}"
    );
    let counts = store.lead_counts(&campaign).await.expect("counts");
    assert_eq!(counts.ready, 4);
    // Another campaign may hold the same number.
    let (other, _) = running_campaign(&store, "other").await;
    let report = import_csv(&store, &other, "a", first.as_bytes(), &options, T0)
        .await
        .expect("other campaign");
    assert_eq!((report.loaded, report.duplicate_count), (2, 0));
}

async fn claims_follow_hopper_order(db: &TestDb) {
    let store = db.open().await.with_node("n1");
    let (campaign, def) = running_campaign(&store, "order").await;
    let list = store.create_list(&campaign, "l", T0).await.expect("list");
    let lead = |seq: u64, priority: i32| NewLead {
        seq,
        phone: format!("+1212555{seq:04}"),
        tz: "America/New_York".into(),
        fields: serde_json::json!({}),
        priority,
    };
    store
        .import_leads(
            &campaign,
            &list,
            &[lead(2, 0), lead(3, 5), lead(4, 0), lead(5, 5), lead(6, 1)],
            T0,
        )
        .await
        .expect("import");
    // Lead 6 gets a callback due at T0 + 1 min; lead 4 a retry due at T0 + 30 s.
    let six = store
        .lead_by_phone(&campaign, "+12125550006")
        .await
        .expect("get")
        .expect("six");
    let next = def
        .after_disposition("callback", Some(T0 + MINUTE), T0)
        .expect("callback");
    store
        .record_disposition(
            &six.id,
            &Disposition {
                agent: "agent-7".into(),
                code: "callback".into(),
                note: "after lunch".into(),
                callback_at_ms: Some(T0 + MINUTE),
                at_ms: T0,
            },
            next,
        )
        .await
        .expect("disposition");
    let four = store
        .lead_by_phone(&campaign, "+12125550004")
        .await
        .expect("get")
        .expect("four");
    store
        .record_attempt(
            &four.id,
            &attempt(AttemptOutcome::Busy, Some(486), T0 - MINUTE),
            LeadNext::Retry { at_ms: T0 + 30_000 },
        )
        .await
        .expect("attempt");

    // At T0: callback and retry not due; priority 5 first (list order), then 0.
    let seqs =
        |leads: Vec<switchboard::store::Lead>| leads.iter().map(|l| l.seq).collect::<Vec<_>>();
    let got = store.claim_leads(&campaign, T0, 10).await.expect("claim");
    assert!(got
        .iter()
        .all(|l| l.status == LeadStatus::Claimed && l.claimed_by.as_deref() == Some("n1")));
    assert_eq!(seqs(got), vec![3, 5, 2]);
    // At T0 + 2 min both are due: the callback first.
    let got = store
        .claim_leads(&campaign, T0 + 2 * MINUTE, 10)
        .await
        .expect("claim");
    assert_eq!(seqs(got), vec![6, 4]);
    assert!(store
        .claim_leads(&campaign, T0 + HOUR, 10)
        .await
        .expect("claim")
        .is_empty());
}

async fn concurrent_claimers_never_share_a_lead(db: &TestDb) {
    // Two pools (two nodes) on one database, four claiming tasks each, many rounds.
    let a = db.open().await.with_node("node-a");
    let b = db.open().await.with_node("node-b");
    for round in 0..10u64 {
        let (campaign, _) = running_campaign(&a, &format!("race-{round}")).await;
        let n = 300;
        load(&a, &campaign, round * 1000, n, "America/New_York").await;
        let mut tasks = Vec::new();
        for t in 0..8u32 {
            let store = if t % 2 == 0 { a.clone() } else { b.clone() };
            let campaign = campaign.clone();
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let got = store
                        .claim_leads(&campaign, T0, 1 + t % 7)
                        .await
                        .expect("claim");
                    if got.is_empty() {
                        break;
                    }
                    assert!(
                        got.len() as u32 <= 1 + t % 7,
                        "a claim returned more than asked"
                    );
                    for lead in got {
                        assert_eq!(lead.claimed_by.as_deref(), Some(store.node()));
                        mine.push(lead.id);
                    }
                }
                mine
            }));
        }
        let mut seen: HashSet<LeadId> = HashSet::new();
        let mut total = 0;
        for task in tasks {
            for id in task.await.expect("task") {
                total += 1;
                assert!(seen.insert(id.clone()), "round {round}: {id} claimed twice");
            }
        }
        assert_eq!(total, n, "round {round}: every lead claimed exactly once");
        let counts = a.lead_counts(&campaign).await.expect("counts");
        assert_eq!((counts.ready, counts.claimed), (0, n));
    }
}

async fn dnc_numbers_are_never_claimed(db: &TestDb) {
    let store = db.open().await;
    let (campaign, _) = running_campaign(&store, "dnc").await;
    let (other, _) = running_campaign(&store, "dnc-other").await;
    load(&store, &campaign, 0, 10, "America/New_York").await;
    load(&store, &other, 0, 10, "America/New_York").await;
    store
        .dnc_add(&DncScope::Global, &["+12125550001".into()], "api", T0)
        .await
        .expect("global");
    store
        .dnc_add(
            &DncScope::Campaign(campaign.clone()),
            &["+12125550002".into(), "+12125550003".into()],
            "api",
            T0,
        )
        .await
        .expect("campaign");
    let got = store.claim_leads(&campaign, T0, 100).await.expect("claim");
    let phones: HashSet<String> = got.into_iter().map(|l| l.phone).collect();
    assert_eq!(phones.len(), 7);
    for number in ["+12125550001", "+12125550002", "+12125550003"] {
        assert!(!phones.contains(number), "{number} is on a DNC list");
    }
    // The other campaign only obeys the global list.
    let got = store.claim_leads(&other, T0, 100).await.expect("claim");
    let phones: HashSet<String> = got.into_iter().map(|l| l.phone).collect();
    assert_eq!(phones.len(), 9);
    assert!(!phones.contains("+12125550001"));
    assert!(phones.contains("+12125550002"));
    // Removing a number makes it claimable again.
    assert!(store
        .dnc_remove(&DncScope::Campaign(campaign.clone()), "+12125550002")
        .await
        .expect("remove"));
    let got = store.claim_leads(&campaign, T0, 100).await.expect("claim");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].phone, "+12125550002");
}

async fn dnc_csv_upload_and_api(db: &TestDb) {
    let store = db.open().await;
    let (campaign, _) = running_campaign(&store, "dnc-csv").await;
    let options = CsvOptions {
        default_region: Some(Region::US),
        ..CsvOptions::default()
    };
    let csv =
        "number,reason\n(212) 555-0100,asked\nnonsense,\n+1 212 555 0100,again\n+442079460018,\n";
    let report = dnc::import_csv(
        &store,
        &DncScope::Global,
        csv.as_bytes(),
        &options,
        "csv:dnc.csv",
        T0,
    )
    .await
    .expect("upload");
    assert_eq!(
        (
            report.rows,
            report.added,
            report.already,
            report.rejected_count
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(report.rejected[0].line, 3);
    let number: E164 = "+12125550100".parse().expect("e164");
    assert_eq!(
        dnc::check(&store, &campaign, &number).await.expect("check"),
        Some(DncScope::Global)
    );
    let mine = DncScope::Campaign(campaign.clone());
    let other: E164 = "+12125550199".parse().expect("e164");
    assert_eq!(
        dnc::check(&store, &campaign, &other).await.expect("check"),
        None
    );
    assert!(dnc::add(&store, &mine, &other, "api", T0)
        .await
        .expect("add"));
    assert!(!dnc::add(&store, &mine, &other, "api", T0)
        .await
        .expect("add again"));
    assert_eq!(
        dnc::check(&store, &campaign, &other).await.expect("check"),
        Some(mine.clone())
    );
    assert_eq!(
        store.dnc_check(None, other.as_str()).await.expect("check"),
        None
    );
    assert_eq!(store.dnc_count(&DncScope::Global).await.expect("count"), 2);
    assert!(dnc::remove(&store, &mine, &other).await.expect("remove"));
    assert!(!dnc::remove(&store, &mine, &other)
        .await
        .expect("remove again"));
}

async fn retry_delays_and_attempt_caps_hold(db: &TestDb) {
    let store = db.open().await;
    let (campaign, def) = running_campaign(&store, "retry").await;
    load(&store, &campaign, 0, 1, "America/New_York").await;
    // Busy: 10 min delay, 3 busies at most.
    let mut now = T0;
    for round in 1..=3u32 {
        let got = store.claim_leads(&campaign, now, 5).await.expect("claim");
        assert_eq!(got.len(), 1, "round {round}: due");
        let lead = &got[0];
        assert_eq!(lead.counts.busy, round - 1);
        assert!(store.mark_dialing(&lead.id, now).await.expect("dialing"));
        let next = def.after_attempt(lead, AttemptOutcome::Busy, now + 20_000);
        assert!(store
            .record_attempt(
                &lead.id,
                &attempt(AttemptOutcome::Busy, Some(486), now),
                next
            )
            .await
            .expect("attempt"));
        let after = store.lead(&lead.id).await.expect("get").expect("lead");
        assert_eq!(after.attempts, round);
        assert_eq!(after.claimed_by, None);
        if round < 3 {
            assert_eq!(
                next,
                LeadNext::Retry {
                    at_ms: now + 20_000 + 10 * MINUTE
                }
            );
            // Not due one second before the delay is over.
            let early = now + 20_000 + 10 * MINUTE - 1_000;
            assert!(store
                .claim_leads(&campaign, early, 5)
                .await
                .expect("claim")
                .is_empty());
            now += 20_000 + 10 * MINUTE;
        } else {
            assert_eq!(next, LeadNext::Done);
            assert_eq!(after.status, LeadStatus::Done);
            assert!(store
                .claim_leads(&campaign, now + 24 * HOUR, 5)
                .await
                .expect("claim")
                .is_empty());
        }
    }
    // The campaign's attempt cap is enforced by the claim even if a caller schedules more.
    let (capped, mut def) = {
        let mut def = definition("capped");
        def.state = CampaignState::Running;
        def.max_attempts = 2;
        let id = store
            .create_campaign(&def.to_new().expect("valid"), T0)
            .await
            .expect("create");
        (id, def)
    };
    def.max_attempts = 2;
    load(&store, &capped, 100, 1, "America/New_York").await;
    for _ in 0..2 {
        let lead = store
            .claim_leads(&capped, T0, 1)
            .await
            .expect("claim")
            .remove(0);
        store
            .record_attempt(
                &lead.id,
                &attempt(AttemptOutcome::NoAnswer, Some(480), T0),
                LeadNext::Retry { at_ms: T0 },
            )
            .await
            .expect("attempt");
    }
    assert!(store
        .claim_leads(&capped, T0, 1)
        .await
        .expect("claim")
        .is_empty());
}

async fn calling_window_is_respected_per_lead_zone(db: &TestDb) {
    let store = db.open().await;
    let (campaign, _) = running_campaign(&store, "window").await;
    load(&store, &campaign, 0, 3, "America/New_York").await;
    load(&store, &campaign, 100, 3, "America/Los_Angeles").await;
    load(&store, &campaign, 200, 3, "Europe/London").await;
    // The next day at 12:30Z: 08:30 New York, 05:30 Los Angeles, 13:30 London.
    let early = T0 + 20 * HOUR + 30 * MINUTE;
    let got = store
        .claim_leads(&campaign, early, 100)
        .await
        .expect("claim");
    let zones: HashSet<String> = got.iter().map(|l| l.tz.clone()).collect();
    assert_eq!(got.len(), 6);
    assert!(!zones.contains("America/Los_Angeles"));
    // 15:00Z: 11:00 New York, 08:00 Los Angeles (opens), 16:00 London.
    let got = store
        .claim_leads(&campaign, early + 2 * HOUR + 30 * MINUTE, 100)
        .await
        .expect("claim");
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|l| l.tz == "America/Los_Angeles"));
    // 20:00Z → 21:00 London: closed at 21:00 sharp.
    let (late, _) = running_campaign(&store, "late").await;
    load(&store, &late, 300, 2, "Europe/London").await;
    assert!(store
        .claim_leads(&late, T0 + 4 * HOUR, 100)
        .await
        .expect("claim")
        .is_empty());
    assert_eq!(
        store
            .claim_leads(&late, T0 + 4 * HOUR - 1, 100)
            .await
            .expect("claim")
            .len(),
        2
    );
}

async fn attempts_and_dispositions_survive_reopening(db: &TestDb) {
    let lead_id = {
        let store = db.open().await.with_node("n1");
        let (campaign, def) = running_campaign(&store, "durable").await;
        load(&store, &campaign, 0, 1, "America/New_York").await;
        let lead = store
            .claim_leads(&campaign, T0, 1)
            .await
            .expect("claim")
            .remove(0);
        store.mark_dialing(&lead.id, T0).await.expect("dialing");
        let mut answered = attempt(AttemptOutcome::Answered, Some(200), T0);
        answered.answered_at_ms = Some(T0 + 8_000);
        let next = def.after_attempt(&lead, AttemptOutcome::Answered, T0 + 20_000);
        store
            .record_attempt(&lead.id, &answered, next)
            .await
            .expect("attempt");
        let next = def
            .after_disposition("callback", Some(T0 + 24 * HOUR), T0 + 30_000)
            .expect("callback");
        store
            .record_disposition(
                &lead.id,
                &Disposition {
                    agent: "agent-1".into(),
                    code: "callback".into(),
                    note: "wants the brochure first — ça va".into(),
                    callback_at_ms: Some(T0 + 24 * HOUR),
                    at_ms: T0 + 30_000,
                },
                next,
            )
            .await
            .expect("disposition");
        store.close().await;
        lead.id
    };
    let store = db.open().await;
    let attempts = store.lead_attempts(&lead_id).await.expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].node, "n1");
    assert_eq!(attempts[0].attempt.outcome, AttemptOutcome::Answered);
    assert_eq!(attempts[0].attempt.sip_status, Some(200));
    assert_eq!(attempts[0].attempt.answered_at_ms, Some(T0 + 8_000));
    let dispositions = store
        .lead_dispositions(&lead_id)
        .await
        .expect("dispositions");
    assert_eq!(dispositions.len(), 1);
    assert_eq!(dispositions[0].note, "wants the brochure first — ça va");
    let lead = store.lead(&lead_id).await.expect("get").expect("lead");
    assert_eq!(lead.status, LeadStatus::Ready);
    assert!(lead.callback);
    assert_eq!(lead.next_at_ms, T0 + 24 * HOUR);
    assert_eq!(lead.last_outcome, Some(AttemptOutcome::Answered));
}

async fn release_claims_returns_undialled_leads(db: &TestDb) {
    let store = db.open().await.with_node("n1");
    let other = db.open().await.with_node("n2");
    let (campaign, _) = running_campaign(&store, "release").await;
    load(&store, &campaign, 0, 5, "America/New_York").await;
    let mine = store.claim_leads(&campaign, T0, 3).await.expect("claim");
    let theirs = other.claim_leads(&campaign, T0, 2).await.expect("claim");
    assert_eq!((mine.len(), theirs.len()), (3, 2));
    assert!(store
        .mark_dialing(&mine[0].id, T0 + 1_000)
        .await
        .expect("dialing"));
    // A node cannot mark another node's lead.
    assert!(!store
        .mark_dialing(&theirs[0].id, T0)
        .await
        .expect("not mine"));

    // n1 restarts.
    let released = store.release_claims(T0 + MINUTE).await.expect("release");
    assert_eq!((released.returned, released.interrupted), (2, 1));
    let counts = store.lead_counts(&campaign).await.expect("counts");
    assert_eq!(
        (counts.ready, counts.claimed),
        (3, 2),
        "n2's claims untouched"
    );
    let dialled = store.lead(&mine[0].id).await.expect("get").expect("lead");
    assert_eq!(dialled.attempts, 1);
    assert_eq!(dialled.last_outcome, Some(AttemptOutcome::Interrupted));
    let attempts = store.lead_attempts(&mine[0].id).await.expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].attempt.outcome, AttemptOutcome::Interrupted);
    assert_eq!(attempts[0].attempt.ended_at_ms, T0 + MINUTE);
    let undialled = store.lead(&mine[1].id).await.expect("get").expect("lead");
    assert_eq!(
        (undialled.status, undialled.attempts),
        (LeadStatus::Ready, 0)
    );
    // The three come back to the next claim.
    let again = store
        .claim_leads(&campaign, T0 + MINUTE, 10)
        .await
        .expect("claim");
    assert_eq!(again.len(), 3);
}

async fn dispositions_schedule_callbacks_and_dnc(db: &TestDb) {
    let store = db.open().await;
    let (campaign, def) = running_campaign(&store, "dispo").await;
    load(&store, &campaign, 0, 2, "America/New_York").await;
    let leads = store.claim_leads(&campaign, T0, 2).await.expect("claim");
    for lead in &leads {
        store
            .record_attempt(
                &lead.id,
                &attempt(AttemptOutcome::Answered, Some(200), T0),
                LeadNext::Done,
            )
            .await
            .expect("attempt");
    }
    let next = def
        .after_disposition("do_not_call", None, T0 + MINUTE)
        .expect("dnc");
    store
        .record_disposition(
            &leads[0].id,
            &Disposition {
                agent: "agent-2".into(),
                code: "do_not_call".into(),
                note: String::new(),
                callback_at_ms: None,
                at_ms: T0 + MINUTE,
            },
            next,
        )
        .await
        .expect("disposition");
    let lead = store.lead(&leads[0].id).await.expect("get").expect("lead");
    assert_eq!(lead.status, LeadStatus::Dnc);
    assert_eq!(
        store
            .dnc_check(Some(&campaign), &lead.phone)
            .await
            .expect("check"),
        Some(DncScope::Campaign(campaign.clone()))
    );
    // Unknown lead: nothing recorded.
    assert!(!store
        .record_disposition(
            &LeadId::from("no-such-lead"),
            &Disposition {
                agent: "a".into(),
                code: "sale".into(),
                note: String::new(),
                callback_at_ms: None,
                at_ms: T0,
            },
            LeadNext::Done,
        )
        .await
        .expect("unknown"));
    assert!(!store
        .record_attempt(
            &LeadId::from("no-such-lead"),
            &attempt(AttemptOutcome::Busy, Some(486), T0),
            LeadNext::Done
        )
        .await
        .expect("unknown"));
    // A callback bypasses the attempt cap: the agent asked for it.
    let (capped, _) = {
        let mut d = definition("capped-cb");
        d.state = CampaignState::Running;
        d.max_attempts = 1;
        let id = store
            .create_campaign(&d.to_new().expect("valid"), T0)
            .await
            .expect("create");
        (id, d)
    };
    load(&store, &capped, 50, 1, "America/New_York").await;
    let lead = store
        .claim_leads(&capped, T0, 1)
        .await
        .expect("claim")
        .remove(0);
    store
        .record_attempt(
            &lead.id,
            &attempt(AttemptOutcome::Answered, Some(200), T0),
            LeadNext::Done,
        )
        .await
        .expect("attempt");
    store
        .record_disposition(
            &lead.id,
            &Disposition {
                agent: "a".into(),
                code: "callback".into(),
                note: String::new(),
                callback_at_ms: Some(T0 + HOUR),
                at_ms: T0 + MINUTE,
            },
            LeadNext::Callback { at_ms: T0 + HOUR },
        )
        .await
        .expect("callback");
    assert!(store
        .claim_leads(&capped, T0 + 30 * MINUTE, 1)
        .await
        .expect("claim")
        .is_empty());
    let got = store
        .claim_leads(&capped, T0 + HOUR, 1)
        .await
        .expect("claim");
    assert_eq!(got.len(), 1);
    assert!(got[0].callback);
}

async fn paused_campaign_hands_out_nothing(db: &TestDb) {
    let store = db.open().await;
    let (campaign, _) = running_campaign(&store, "paused").await;
    load(&store, &campaign, 0, 3, "America/New_York").await;
    assert!(store
        .set_campaign_state(&campaign, CampaignState::Running, CampaignState::Paused, T0)
        .await
        .expect("pause"));
    assert!(store
        .claim_leads(&campaign, T0, 10)
        .await
        .expect("claim")
        .is_empty());
    store
        .set_campaign_state(&campaign, CampaignState::Paused, CampaignState::Running, T0)
        .await
        .expect("resume");
    assert_eq!(
        store
            .claim_leads(&campaign, T0, 10)
            .await
            .expect("claim")
            .len(),
        3
    );
    // A draft campaign (lists loading) hands out nothing either.
    let draft = store
        .create_campaign(&definition("draft").to_new().expect("valid"), T0)
        .await
        .expect("create");
    load(&store, &draft, 10, 2, "America/New_York").await;
    assert!(store
        .claim_leads(&draft, T0, 10)
        .await
        .expect("claim")
        .is_empty());
}

async fn unclaimed_leads_come_back_and_a_disposition_survives_the_later_attempt(db: &TestDb) {
    let store = db.open().await.with_node("n1");
    let other = db.open().await.with_node("n2");
    let (campaign, def) = running_campaign(&store, "unclaim").await;
    load(&store, &campaign, 0, 4, "America/New_York").await;
    let mine = store.claim_leads(&campaign, T0, 3).await.expect("claim");
    let theirs = other.claim_leads(&campaign, T0, 1).await.expect("claim");
    assert!(store.mark_dialing(&mine[0].id, T0).await.expect("dialing"));
    // Only leads this node holds go back (a dialling one the switch refused too).
    let ids: Vec<_> = mine.iter().chain(&theirs).map(|l| l.id.clone()).collect();
    assert_eq!(store.unclaim_leads(&ids, T0 + 1).await.expect("unclaim"), 3);
    let counts = store.lead_counts(&campaign).await.expect("counts");
    assert_eq!((counts.ready, counts.claimed, counts.dialing), (3, 1, 0));

    // The agent stores a callback while the call is up; the attempt, recorded when the
    // call ends, leaves the lead where the disposition put it.
    let next = def
        .after_disposition("callback", Some(T0 + 24 * HOUR), T0 + 30_000)
        .expect("callback");
    let disposition = Disposition {
        agent: "agent-1".into(),
        code: "callback".into(),
        note: String::new(),
        callback_at_ms: Some(T0 + 24 * HOUR),
        at_ms: T0 + 30_000,
    };
    assert!(store
        .record_disposition(&mine[0].id, &disposition, next)
        .await
        .expect("disposition"));
    let mut answered = attempt(AttemptOutcome::Answered, Some(200), T0);
    answered.ended_at_ms = T0 + 60_000;
    assert!(store
        .record_attempt(&mine[0].id, &answered, LeadNext::Unchanged)
        .await
        .expect("attempt"));
    let lead = store.lead(&mine[0].id).await.expect("get").expect("lead");
    assert_eq!(lead.status, LeadStatus::Ready);
    assert!(lead.callback);
    assert_eq!(lead.next_at_ms, T0 + 24 * HOUR);
    assert_eq!(lead.attempts, 1);
    assert_eq!(lead.last_outcome, Some(AttemptOutcome::Answered));
}

async fn one_node_holds_a_campaign_until_its_lease_expires(db: &TestDb) {
    let a = db.open().await.with_node("node-a");
    let b = db.open().await.with_node("node-b");
    let c = CampaignId::from("c1");
    let lease = |s: &switchboard::store::Store, now: i64| {
        let (s, c) = (s.clone(), c.clone());
        async move { s.lease_campaign(&c, now, LEASE_TTL).await.expect("lease") }
    };
    assert_eq!(
        lease(&a, T0).await,
        CampaignLease::Held {
            until_ms: T0 + LEASE_TTL
        }
    );
    assert_eq!(
        lease(&b, T0 + 1).await,
        CampaignLease::Elsewhere {
            node: "node-a".into(),
            until_ms: T0 + LEASE_TTL
        }
    );
    // Renewed every second, a's lease never lapses.
    for s in 1..30 {
        assert_eq!(
            lease(&a, T0 + s * 1000).await,
            CampaignLease::Held {
                until_ms: T0 + s * 1000 + LEASE_TTL
            }
        );
        assert!(matches!(
            lease(&b, T0 + s * 1000 + 500).await,
            CampaignLease::Elsewhere { .. }
        ));
    }
    // a stops renewing (crashed): once its lease has expired b takes the campaign over.
    let last = T0 + 29_000 + LEASE_TTL;
    assert!(matches!(
        lease(&b, last - 1).await,
        CampaignLease::Elsewhere { .. }
    ));
    assert_eq!(
        lease(&b, last).await,
        CampaignLease::Held {
            until_ms: last + LEASE_TTL
        }
    );
    assert_eq!(
        lease(&a, last + 1).await,
        CampaignLease::Elsewhere {
            node: "node-b".into(),
            until_ms: last + LEASE_TTL
        }
    );
}

async fn a_released_lease_is_taken_at_once_and_only_the_holder_releases(db: &TestDb) {
    let a = db.open().await.with_node("node-a");
    let b = db.open().await.with_node("node-b");
    let (c1, c2) = (CampaignId::from("c1"), CampaignId::from("c2"));
    assert!(matches!(
        a.lease_campaign(&c1, T0, LEASE_TTL).await.unwrap(),
        CampaignLease::Held { .. }
    ));
    assert!(matches!(
        b.lease_campaign(&c2, T0, LEASE_TTL).await.unwrap(),
        CampaignLease::Held { .. }
    ));
    // a cannot release b's lease.
    a.release_campaign_lease(&c2).await.unwrap();
    assert!(matches!(
        a.lease_campaign(&c2, T0 + 1, LEASE_TTL).await.unwrap(),
        CampaignLease::Elsewhere { .. }
    ));
    // a stops c1 and gives it up: b may run it at once, long before the lease would expire.
    a.release_campaign_lease(&c1).await.unwrap();
    assert!(matches!(
        b.lease_campaign(&c1, T0 + 2, LEASE_TTL).await.unwrap(),
        CampaignLease::Held { .. }
    ));
}

async fn a_lapsed_lease_gives_the_dead_nodes_claimed_leads_to_the_next_node(db: &TestDb) {
    let a = db.open().await.with_node("node-a");
    let b = db.open().await.with_node("node-b");
    let (campaign, _) = running_campaign(&a, "takeover").await;
    load(&a, &campaign, 1, 4, "America/New_York").await;
    assert!(matches!(
        a.lease_campaign(&campaign, T0, LEASE_TTL).await.unwrap(),
        CampaignLease::Held { .. }
    ));
    let held = a.claim_leads(&campaign, T0, 3).await.unwrap();
    assert_eq!(held.len(), 3);
    assert!(a.mark_dialing(&held[0].id, T0).await.unwrap());
    // a dies; b takes over once a's lease has lapsed, and gets the two leads a claimed but
    // never dialled plus the fourth. The one a was dialling stays a's until a restarts.
    let later = T0 + LEASE_TTL;
    assert!(matches!(
        b.lease_campaign(&campaign, later, LEASE_TTL).await.unwrap(),
        CampaignLease::Held { .. }
    ));
    let got: HashSet<LeadId> = b
        .claim_leads(&campaign, later, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    let expected: HashSet<LeadId> = held[1..].iter().map(|l| l.id.clone()).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.is_superset(&expected));
    assert!(!got.contains(&held[0].id));
    // Should a come back before restarting, it cannot dial a lead it lost.
    assert!(!a.mark_dialing(&held[1].id, later).await.unwrap());
}
