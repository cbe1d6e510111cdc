//! Do-not-call lists: a global list and one per campaign, by E.164 number. Numbers are
//! added from a CSV upload, one by one through the API, or by an agent's disposition (the
//! store does that in the disposition's transaction); the store's claim never hands out a
//! lead on either list, and [`check`] lets the dialer look again right before dialling.
//!
//! CSV uploads use the lead list's phone rules: the column named `phone`, `number` or
//! `phone_number` (or the configured one), national numbers read in the default region,
//! bad rows reported by line while the good ones are added.

use std::io::Read;

use serde::Serialize;

use super::list::{normalise, CsvOptions, ListError, RowError, RowProblem, E164, REPORT_LIMIT};
use crate::store::{CampaignId, DncScope, Store, StoreError};

/// Numbers normalised before they are handed to the store.
const CHUNK: usize = 20_000;

/// What a DNC upload did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DncImportReport {
    /// Data rows read.
    pub rows: u64,
    /// Numbers newly on the list.
    pub added: u64,
    /// Good numbers that were already on it (or repeated in the file).
    pub already: u64,
    /// Rows refused (count), and the first [`REPORT_LIMIT`] of them.
    pub rejected_count: u64,
    pub rejected: Vec<RowError>,
}

/// Adds the numbers of a CSV file to a list.
pub async fn import_csv<R: Read>(
    store: &Store,
    scope: &DncScope,
    reader: R,
    options: &CsvOptions,
    source: &str,
    now_ms: i64,
) -> Result<DncImportReport, ListError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(options.delimiter.unwrap_or(b','))
        .from_reader(reader);
    let headers: Vec<String> = csv
        .headers()
        .map_err(|e| ListError::Header(e.to_string()))?
        .iter()
        .map(str::to_owned)
        .collect();
    let wanted: Vec<String> = match &options.phone_column {
        Some(name) => vec![name.clone()],
        None => ["phone", "number", "phone_number"]
            .map(String::from)
            .to_vec(),
    };
    let column = headers
        .iter()
        .position(|h| wanted.iter().any(|w| h.eq_ignore_ascii_case(w)))
        .ok_or_else(|| ListError::NoPhoneColumn {
            wanted: wanted.join("/"),
            headers: headers.clone(),
        })?;
    let mut report = DncImportReport::default();
    let mut chunk: Vec<String> = Vec::with_capacity(CHUNK);
    for record in csv.into_records() {
        report.rows += 1;
        let parsed = match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                match record.get(column).filter(|v| !v.is_empty()) {
                    None => Err((line, RowProblem::MissingPhone)),
                    Some(raw) => normalise(raw, options.default_region)
                        .map_err(|e| (line, RowProblem::Phone(e))),
                }
            }
            Err(e) => Err((
                e.position().map_or(0, |p| p.line()),
                RowProblem::Malformed(e.to_string()),
            )),
        };
        match parsed {
            Ok(number) => chunk.push(number.e164.into_string()),
            Err((line, problem)) => {
                report.rejected_count += 1;
                if report.rejected.len() < REPORT_LIMIT {
                    report.rejected.push(RowError {
                        line,
                        reason: problem.to_string(),
                        problem,
                    });
                }
            }
        }
        if chunk.len() == CHUNK {
            flush(store, scope, &mut chunk, source, now_ms, &mut report).await?;
        }
    }
    flush(store, scope, &mut chunk, source, now_ms, &mut report).await?;
    Ok(report)
}

async fn flush(
    store: &Store,
    scope: &DncScope,
    chunk: &mut Vec<String>,
    source: &str,
    now_ms: i64,
    report: &mut DncImportReport,
) -> Result<(), StoreError> {
    if chunk.is_empty() {
        return Ok(());
    }
    let added = store.dnc_add(scope, chunk, source, now_ms).await?;
    report.added += added;
    report.already += chunk.len() as u64 - added;
    chunk.clear();
    Ok(())
}

/// Adds one number (API or agent); returns whether it was new.
pub async fn add(
    store: &Store,
    scope: &DncScope,
    number: &E164,
    source: &str,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let added = store
        .dnc_add(scope, &[number.as_str().to_owned()], source, now_ms)
        .await?;
    Ok(added == 1)
}

/// Removes one number; returns whether it was there.
pub async fn remove(store: &Store, scope: &DncScope, number: &E164) -> Result<bool, StoreError> {
    store.dnc_remove(scope, number.as_str()).await
}

/// Which list, if any, forbids calling `number` in `campaign` (the global list first).
pub async fn check(
    store: &Store,
    campaign: &CampaignId,
    number: &E164,
) -> Result<Option<DncScope>, StoreError> {
    store.dnc_check(Some(campaign), number.as_str()).await
}
