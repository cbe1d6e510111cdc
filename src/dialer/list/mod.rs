//! Lead lists: CSV upload into a campaign.
//!
//! * [`phone`] — E.164 normalisation (`phonenumber`).
//! * [`zone`] — a lead's time zone from its number when the list gives none.
//! * [`csv_import`] — CSV rows → validated [`ParsedLead`]s or [`RowError`]s by line.
//!
//! [`import_csv`] runs the whole upload: rows are parsed on a blocking thread and handed
//! over in chunks of [`CHUNK_ROWS`] to the store, which commits each chunk in its own
//! transaction, so parsing and writing overlap and a million-row list never holds the
//! database (or a tokio worker) for long. Bad rows are reported by line and reason while
//! good rows load; a number seen earlier in the same list, or already in the campaign, is
//! flagged as a duplicate and not loaded again (a campaign calls a number once).

pub mod csv_import;
pub mod phone;
pub mod zone;

use std::collections::HashMap;
use std::io::Read;

use serde::Serialize;

pub use csv_import::{CsvLeads, CsvOptions, ParsedLead, RowError, RowProblem};
pub use phone::{normalise, PhoneError, Region, E164};
pub use zone::ZoneSource;

use crate::store::{CampaignId, ListId, NewLead, Store, StoreError};

/// Rows parsed before they are handed to the store (one store transaction each).
pub const CHUNK_ROWS: usize = 20_000;
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
    let leads = CsvLeads::new(reader, options)?;
    let list = store.create_list(campaign, name, now_ms).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Result<ParsedLead, RowError>>>(2);
    let reader = tokio::task::spawn_blocking(move || {
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        for row in leads {
            chunk.push(row);
            if chunk.len() == CHUNK_ROWS {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
                if tx.blocking_send(full).is_err() {
                    return;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.blocking_send(chunk);
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
                        flag(&mut report, lead.line, lead.phone, FirstSeen::Line(first));
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
                flag(&mut report, lead.seq, phone, FirstSeen::Campaign);
            } else if guessed {
                report.guessed_zones += 1;
            }
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

fn flag(report: &mut ImportReport, line: u64, phone: E164, first: FirstSeen) {
    report.duplicate_count += 1;
    if report.duplicates.len() < REPORT_LIMIT {
        report.duplicates.push(Duplicate { line, phone, first });
    }
}
