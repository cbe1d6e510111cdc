//! Lead lists: CSV upload into a campaign.
//!
//! * [`phone`] — E.164 normalisation (`phonenumber`).
//! * [`zone`] — a lead's time zone from its number when the list gives none.
//! * [`csv_import`] — CSV rows → validated [`ParsedLead`]s or [`RowError`]s by line.
//!
//! [`import_csv`] runs the whole upload: a blocking thread reads the file in chunks of
//! [`CHUNK_ROWS`] records and parses each chunk on up to [`PARSE_THREADS`] threads (each
//! takes a contiguous slice; the slices are put back in file order), then hands it to the
//! store, which commits it in transactions short enough not to hold the switch's own
//! writes (see `Store::import_leads`). Parsing and writing overlap, and a million-row
//! list never holds the database (or a tokio worker) for long. Duplicate detection runs
//! on the ordered stream, so line numbers, first-seen lines and report order are exactly
//! those of a sequential read. Bad rows are reported by line and reason while
//! good rows load; a number seen earlier in the same list, or already in the campaign, is
//! flagged as a duplicate and not loaded again (a campaign calls a number once).

pub mod csv_import;
pub mod phone;
pub mod zone;

use std::collections::HashMap;
use std::io::Read;

use serde::Serialize;

pub use csv_import::{CsvLeads, CsvOptions, ParsedLead, RawRow, RowError, RowParser, RowProblem};
pub use phone::{normalise, PhoneError, Region, E164};
pub use zone::ZoneSource;

use crate::store::{CampaignId, ListId, NewLead, Store, StoreError};

/// Rows parsed before they are handed to the store (one store transaction each).
pub const CHUNK_ROWS: usize = 20_000;
/// Most threads one upload parses on (fewer when the machine has fewer cores).
pub const PARSE_THREADS: usize = 4;
/// At most this many bad rows and duplicates are listed in a report (all are counted).
pub const REPORT_LIMIT: usize = 10_000;

/// Why a whole upload failed (row-level problems are [`RowError`]s instead).
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The header line could not be read.
    #[error("cannot read the CSV header: {0}")]
    Header(String),
    /// No column holds the phone number.
    #[error("no phone column {wanted:?} among the headers {headers:?}")]
    NoPhoneColumn {
        wanted: String,
        headers: Vec<String>,
    },
    /// The configured time-zone column is not there.
    #[error("no time zone column {wanted:?} among the headers {headers:?}")]
    NoTimeZoneColumn {
        wanted: String,
        headers: Vec<String>,
    },
    /// The store failed; the rows of the chunks committed before stay loaded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The parsing thread died.
    #[error("the CSV reader stopped unexpectedly")]
    ReaderGone,
}

/// Where a duplicate's number was seen first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstSeen {
    /// Earlier in this list, at this line.
    Line(u64),
    /// Already in the campaign (an earlier list).
    Campaign,
}

/// A row not loaded because its number is already there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    pub line: u64,
    pub phone: E164,
    pub first: FirstSeen,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    pub list: ListId,
    /// Data rows read.
    pub rows: u64,
    /// Rows loaded as leads.
    pub loaded: u64,
    /// Rows refused (count), and the first [`REPORT_LIMIT`] of them.
    pub rejected_count: u64,
    pub rejected: Vec<RowError>,
    /// Duplicates (count), and the first [`REPORT_LIMIT`] of them.
    pub duplicate_count: u64,
    pub duplicates: Vec<Duplicate>,
    /// Loaded rows whose zone is a country's most populous one, a guess.
    pub guessed_zones: u64,
}

/// Uploads a CSV list into `campaign` as list `name`, ready to dial from `now_ms`.
pub async fn import_csv<R: Read + Send + 'static>(
    store: &Store,
    campaign: &CampaignId,
    name: &str,
    reader: R,
    options: &CsvOptions,
    now_ms: i64,
) -> Result<ImportReport, ListError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, PARSE_THREADS);
    import_csv_with(
        store, campaign, name, reader, options, now_ms, CHUNK_ROWS, threads,
    )
    .await
}

/// Parses `raw` on up to `threads` threads, each a contiguous slice; results in input order.
pub fn parse_rows(
    parser: &RowParser,
    raw: Vec<RawRow>,
    threads: usize,
) -> Vec<Result<ParsedLead, RowError>> {
    let threads = threads.max(1);
    if threads == 1 || raw.len() < 2 * threads {
        return raw.into_iter().map(|r| parser.parse(r)).collect();
    }
    let per = raw.len().div_ceil(threads);
    let mut slices: Vec<Vec<RawRow>> = Vec::with_capacity(threads);
    let mut rest = raw;
    while rest.len() > per {
        let tail = rest.split_off(per);
        slices.push(rest);
        rest = tail;
    }
    slices.push(rest);
    let mut first = slices.remove(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = slices
            .into_iter()
            .map(|slice| {
                s.spawn(move || {
                    slice
                        .into_iter()
                        .map(|r| parser.parse(r))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out: Vec<Result<ParsedLead, RowError>> =
            first.drain(..).map(|r| parser.parse(r)).collect();
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                // a parser thread panicked: a bug, not bad input; re-raise it here
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// [`import_csv`] with the chunk size and parser thread count chosen by the caller.
#[allow(clippy::too_many_arguments)]
pub async fn import_csv_with<R: Read + Send + 'static>(
    store: &Store,
    campaign: &CampaignId,
    name: &str,
    reader: R,
    options: &CsvOptions,
    now_ms: i64,
    chunk_rows: usize,
    threads: usize,
) -> Result<ImportReport, ListError> {
    let mut leads = CsvLeads::new(reader, options)?;
    let list = store.create_list(campaign, name, now_ms).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Result<ParsedLead, RowError>>>(2);
    let chunk_rows = chunk_rows.max(1);
    let reader = tokio::task::spawn_blocking(move || {
        let parser = leads.parser().clone();
        loop {
            let mut raw = Vec::with_capacity(chunk_rows);
            if leads.read_raw(chunk_rows, &mut raw) == 0 {
                return;
            }
            if tx.blocking_send(parse_rows(&parser, raw, threads)).is_err() {
                return;
            }
        }
    });

    let mut report = ImportReport {
        list: list.clone(),
        rows: 0,
        loaded: 0,
        rejected_count: 0,
        rejected: Vec::new(),
        duplicate_count: 0,
        duplicates: Vec::new(),
        guessed_zones: 0,
    };
    // Numbers seen so far in this list → first line. Keyed by the E.164 digits as an
    // integer (at most 15 digits): a million-row list hashes integers, not strings.
    let mut seen: HashMap<u64, u64> = HashMap::new();
    while let Some(chunk) = rx.recv().await {
        // this chunk's duplicates, both kinds, reported in line order once the store answers
        let mut dups: Vec<Duplicate> = Vec::new();
        let mut batch = Vec::with_capacity(chunk.len());
        let mut loaded: Vec<(E164, bool)> = Vec::with_capacity(chunk.len());
        for row in chunk {
            report.rows += 1;
            match row {
                Err(error) => {
                    report.rejected_count += 1;
                    if report.rejected.len() < REPORT_LIMIT {
                        report.rejected.push(error);
                    }
                }
                Ok(lead) => {
                    let key = lead.phone.as_str()[1..].parse::<u64>().unwrap_or(u64::MAX);
                    if let Some(&first) = seen.get(&key) {
                        dups.push(Duplicate {
                            line: lead.line,
                            phone: lead.phone,
                            first: FirstSeen::Line(first),
                        });
                        continue;
                    }
                    seen.insert(key, lead.line);
                    let guessed = lead.zone_source == ZoneSource::CountryDefault;
                    batch.push(NewLead {
                        seq: lead.line,
                        phone: lead.phone.as_str().to_owned(),
                        tz: lead.tz.name().to_owned(),
                        fields: serde_json::Value::Object(lead.fields),
                        priority: lead.priority,
                    });
                    loaded.push((lead.phone, guessed));
                }
            }
        }
        let imported = store.import_leads(campaign, &list, &batch, now_ms).await?;
        report.loaded += imported.loaded;
        let duplicates: std::collections::HashSet<u64> =
            imported.duplicates.iter().copied().collect();
        for (lead, (phone, guessed)) in batch.iter().zip(loaded) {
            if duplicates.contains(&lead.seq) {
                dups.push(Duplicate {
                    line: lead.seq,
                    phone,
                    first: FirstSeen::Campaign,
                });
            } else if guessed {
                report.guessed_zones += 1;
            }
        }
        dups.sort_by_key(|d| d.line);
        for d in dups {
            flag(&mut report, d);
        }
    }
    reader.await.map_err(|_| ListError::ReaderGone)?;
    store
        .finish_list(
            &list,
            report.loaded,
            report.rejected_count,
            report.duplicate_count,
        )
        .await?;
    Ok(report)
}

fn flag(report: &mut ImportReport, duplicate: Duplicate) {
    report.duplicate_count += 1;
    if report.duplicates.len() < REPORT_LIMIT {
        report.duplicates.push(duplicate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{CampaignState, NewCampaign};

    /// 240 rows: every 11th unreadable as a number, one without a number, rows 180..
    /// repeat the numbers of rows 0...
    fn list() -> String {
        let mut csv = String::from("name,phone\n");
        for i in 0..240u32 {
            if i % 11 == 5 {
                csv.push_str(&format!("n{i},call me\n"));
            } else if i == 77 {
                csv.push_str("n77,\n");
            } else {
                let k = if i >= 180 { i - 180 } else { i };
                csv.push_str(&format!("n{i},(415) 555-{:04}\n", 1000 + k));
            }
        }
        csv
    }

    fn options() -> CsvOptions {
        CsvOptions {
            default_region: Some(Region::US),
            ..CsvOptions::default()
        }
    }

    async fn campaign(store: &Store, name: &str) -> CampaignId {
        let c = NewCampaign {
            name: name.into(),
            state: CampaignState::Draft,
            max_attempts: 3,
            window: Default::default(),
            settings: serde_json::json!({}),
        };
        store.create_campaign(&c, 0).await.expect("campaign")
    }

    fn lines(report: &ImportReport) -> (Vec<u64>, Vec<(u64, FirstSeen)>) {
        (
            report.rejected.iter().map(|e| e.line).collect(),
            report
                .duplicates
                .iter()
                .map(|d| (d.line, d.first.clone()))
                .collect(),
        )
    }

    #[test]
    fn parallel_parsing_keeps_file_order() {
        let text = list();
        let sequential: Vec<_> = CsvLeads::new(text.as_bytes(), &options())
            .expect("header")
            .collect();
        for threads in [1, 2, 3, 4, 16, 500] {
            let mut leads = CsvLeads::new(text.as_bytes(), &options()).expect("header");
            let parser = leads.parser().clone();
            let mut raw = Vec::new();
            assert_eq!(leads.read_raw(1_000, &mut raw), 240);
            assert_eq!(
                parse_rows(&parser, raw, threads),
                sequential,
                "{threads} threads"
            );
        }
    }

    #[tokio::test]
    async fn chunked_parallel_import_reports_exactly_what_a_sequential_one_does() {
        let store = Store::open("sqlite::memory:").await.expect("store");
        let (a, b) = (campaign(&store, "a").await, campaign(&store, "b").await);
        let run = |c: CampaignId, chunk: usize, threads: usize| {
            let store = store.clone();
            async move {
                let file = std::io::Cursor::new(list().into_bytes());
                import_csv_with(&store, &c, "l", file, &options(), 0, chunk, threads)
                    .await
                    .expect("import")
            }
        };
        let one = run(a.clone(), 10_000, 1).await;
        let many = run(b, 7, 3).await;
        // row i ≥ 180 (line i + 2) repeats row i − 180 (line i − 178) when both are good
        let expected: Vec<(u64, FirstSeen)> = (180..240u64)
            .filter(|i| i % 11 != 5 && (i - 180) % 11 != 5)
            .map(|i| (i + 2, FirstSeen::Line(i - 178)))
            .collect();
        let dups = expected.len() as u64;
        assert_eq!(
            (
                one.rows,
                one.loaded,
                one.rejected_count,
                one.duplicate_count
            ),
            (240, 240 - 23 - dups, 23, dups)
        );
        assert_eq!(lines(&many), lines(&one));
        assert_eq!(
            (
                many.rows,
                many.loaded,
                many.rejected_count,
                many.duplicate_count
            ),
            (
                one.rows,
                one.loaded,
                one.rejected_count,
                one.duplicate_count
            )
        );
        let (rejected, duplicates) = lines(&one);
        assert!(rejected.windows(2).all(|w| w[0] < w[1]), "{rejected:?}");
        assert!(rejected.contains(&79), "the row without a number");
        assert_eq!(duplicates, expected);

        // The same list again into campaign a, in parallel chunks: every good row is
        // already in the campaign or repeats an earlier line, reported in file order.
        for (chunk, threads) in [(7, 3), (10_000, 1)] {
            let again = run(a.clone(), chunk, threads).await;
            assert_eq!(again.loaded, 0);
            let (_, dups) = lines(&again);
            assert_eq!(dups.len() as u64, one.loaded + one.duplicate_count);
            assert!(dups.windows(2).all(|w| w[0].0 < w[1].0), "{dups:?}");
            let in_list: Vec<_> = dups
                .iter()
                .filter(|(_, f)| matches!(f, FirstSeen::Line(_)))
                .cloned()
                .collect();
            assert_eq!(in_list, expected);
        }
    }
}
