//! Lead-list upload throughput on SQLite: a generated CSV of N rows (US numbers written
//! nationally, no timezone column, two screen-pop columns) through the whole path —
//! CSV parsing, E.164 normalisation, zone lookup, duplicate check and the store's batched
//! multi-row INSERT transactions — into a fresh database file with `synchronous=FULL`.
//! The store-only phase (pre-parsed rows into `Store::import_leads`) is timed separately.
//! While the CSV import runs, a probe task records a call start (the switch's CDR path)
//! every 20 ms and reports the slowest one: how long the import held the switch's writes.
//!
//! `cargo bench --bench list_import -- [--rows N] [--url postgres://…]` (default
//! 1,000,000 rows into a temporary SQLite file). Without `--bench`
//! (as `cargo test --all-targets` runs it) it is a smoke run of 2,000 rows.

use std::io::Write;
use std::time::Instant;

use switchboard::dialer::list::{import_csv, CsvOptions, Region};
use switchboard::store::{CallRecordId, CallStart, CampaignState, NewCampaign, NewLead, Store};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let rows: usize = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if full { 1_000_000 } else { 2_000 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // `--url postgres://…` measures PostgreSQL instead (e.g. under tests/pg.sh, with
    // `--url "$SWITCHBOARD_TEST_PG_URL"`); the database must be empty.
    let url = args
        .iter()
        .position(|a| a == "--url")
        .and_then(|i| args.get(i + 1))
        .cloned();
    runtime.block_on(run(rows, full, url));
}

async fn run(rows: usize, full: bool, url: Option<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = dir.path().join("list.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv_path).expect("csv"));
        writeln!(out, "first_name,phone,account").expect("write");
        // Area codes from several zones; 10,000 numbers per exchange block.
        let areas = [212, 415, 312, 303, 602, 617, 713, 206, 305, 404];
        for i in 0..rows {
            let area = areas[i % areas.len()];
            let n = i / areas.len();
            writeln!(
                out,
                "Name{i},({area}) {:03}-{:04},ACC-{i}",
                200 + (n / 10_000) % 800,
                n % 10_000
            )
            .expect("write");
        }
    }
    let url = url.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url).await.expect("open");
    let campaign = NewCampaign {
        name: "bench".into(),
        state: CampaignState::Draft,
        max_attempts: 5,
        window: Default::default(),
        settings: serde_json::json!({}),
    };
    let id = store.create_campaign(&campaign, 0).await.expect("campaign");
    let options = CsvOptions {
        default_region: Some(Region::US),
        ..CsvOptions::default()
    };
    let file = std::fs::File::open(&csv_path).expect("open csv");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let probe = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut worst = 0.0f64;
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let call = CallStart {
                    id: CallRecordId::from_parts(0, u128::from(n)),
                    call_id: format!("probe-{n}"),
                    caller: "probe".into(),
                    callee: "probe".into(),
                    direction: None,
                    started_at_ms: 0,
                };
                let t = Instant::now();
                store.call_started(&call).await.expect("probe write");
                worst = worst.max(t.elapsed().as_secs_f64() * 1000.0);
                n += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            (worst, n)
        })
    };
    let started = Instant::now();
    let report = import_csv(
        &store,
        &id,
        "bench.csv",
        std::io::BufReader::new(file),
        &options,
        0,
    )
    .await
    .expect("import");
    let csv_secs = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (probe_worst_ms, probes) = probe.await.expect("probe");
    assert_eq!(report.rejected_count, 0, "{:?}", report.rejected.first());
    assert_eq!(report.loaded as usize, rows);

    // Store only: the same number of pre-built rows into a second campaign.
    let mut other = campaign.clone();
    other.name = "bench-store-only".into();
    let id2 = store.create_campaign(&other, 0).await.expect("campaign");
    let list = store
        .create_list(&id2, "pre-parsed", 0)
        .await
        .expect("list");
    let leads: Vec<NewLead> = (0..rows)
        .map(|i| NewLead {
            seq: i as u64 + 2,
            phone: format!("+1{}", 2_000_000_000 + i as u64),
            tz: "America/New_York".into(),
            fields: serde_json::json!({"first_name": format!("Name{i}"), "account": format!("ACC-{i}")}),
            priority: 0,
        })
        .collect();
    let started = Instant::now();
    let done = store
        .import_leads(&id2, &list, &leads, 0)
        .await
        .expect("import");
    let store_secs = started.elapsed().as_secs_f64();
    assert_eq!(done.loaded as usize, rows);

    // Claims of 100 leads from the full campaign (00:00Z: every US zone is in its window).
    assert!(store
        .set_campaign_state(&id, CampaignState::Draft, CampaignState::Running, 0)
        .await
        .expect("start"));
    let claims = 20;
    let started = Instant::now();
    for _ in 0..claims {
        let got = store.claim_leads(&id, 0, 100).await.expect("claim");
        assert_eq!(got.len(), 100.min(rows));
    }
    let claim_ms = started.elapsed().as_secs_f64() * 1000.0 / claims as f64;

    println!(
        "{{\"rows\":{rows},\"csv_import_s\":{csv_secs:.2},\"csv_rows_per_s\":{:.0},\
         \"store_only_s\":{store_secs:.2},\"store_rows_per_s\":{:.0},\
         \"claim_100_ms\":{claim_ms:.1},\"cdr_write_worst_ms\":{probe_worst_ms:.1},\
         \"cdr_writes\":{probes},\"full\":{full}}}",
        rows as f64 / csv_secs,
        rows as f64 / store_secs
    );
}
