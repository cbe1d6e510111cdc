//! A campaign's leads over the API: CSV list upload (`POST /api/v1/campaigns/{id}/leads`,
//! streamed through [`super::upload::BodyReader`] into `dialer::list::import_csv`; bad rows
//! come back by line and reason while good rows load) and the results export
//! (`GET /api/v1/campaigns/{id}/results.csv`, one row per lead, written page by page as
//! the store hands the leads out, so a million-lead campaign is never held in memory).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{form_pairs, Caller, LinkCaller};
use super::campaigns::{load, now_ms, store_error};
use super::error::{ApiError, ErrorBody};
use super::upload::{BodyReader, UploadError};
use super::{rfc3339, ApiState};
use crate::config::ApiRole;
use crate::dialer::list::{import_csv, CsvOptions, FirstSeen, ListError, Region};
use crate::store::{CampaignId, CampaignState, LeadId, LeadResult, Store};

/// Leads per page of the results export.
const EXPORT_PAGE: u32 = 5_000;

/// A row not loaded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowErrorView {
    /// Physical line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

/// A row not loaded because its number is already there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateView {
    pub line: u64,
    /// E.164.
    pub phone: String,
    /// The line of this list where the number came first (null: already in the campaign).
    pub first_line: Option<u64>,
    /// The campaign had the number before this list.
    pub in_campaign: bool,
}

/// What an upload did. `errors` and `duplicates` list the first 10,000 of each; the counts
/// are complete.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadView {
    pub list_id: String,
    /// Data rows read.
    pub rows: u64,
    pub loaded: u64,
    pub duplicates: Vec<DuplicateView>,
    pub duplicate_count: u64,
    pub errors: Vec<RowErrorView>,
    pub error_count: u64,
    /// Loaded leads whose time zone was guessed from the number's country.
    pub guessed_zones: u64,
}

/// The upload's options from the query string.
fn upload_options(raw: Option<&str>) -> Result<(String, CsvOptions), ApiError> {
    let mut name = None;
    let mut options = CsvOptions::default();
    for (k, v) in form_pairs(raw.unwrap_or("")) {
        let v = v.trim().to_string();
        match k.as_str() {
            "name" if !v.is_empty() => name = Some(v),
            "default_country" if !v.is_empty() => {
                options.default_region =
                    Some(v.to_ascii_uppercase().parse::<Region>().map_err(|_| {
                        ApiError::unprocessable(
                            "default_country",
                            format!("{v:?} is not an ISO 3166 country code (US, GB, …)"),
                        )
                    })?)
            }
            "phone_column" if !v.is_empty() => options.phone_column = Some(v),
            "tz_column" | "timezone_column" if !v.is_empty() => options.timezone_column = Some(v),
            "token" | "name" | "default_country" | "phone_column" | "tz_column"
            | "timezone_column" => {}
            other => {
                return Err(ApiError::bad_request(
                    format!(
                        "unknown query parameter {other:?}: name, default_country, phone_column \
                         or timezone_column"
                    ),
                    Some(other),
                ))
            }
        }
    }
    let name = name.unwrap_or_else(|| format!("upload {}", rfc3339(now_ms())));
    Ok((name, options))
}

/// Uploads a CSV lead list into the campaign (any state but stopped).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/leads", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"),
        ("name" = Option<String>, Query, description = "The list's name (default: upload and time)"),
        ("default_country" = Option<String>, Query, description = "Country of numbers without a country code (US, GB, …)"),
        ("phone_column" = Option<String>, Query, description = "Header of the phone column (default phone, number or phone_number)"),
        ("timezone_column" = Option<String>, Query, description = "Header of the time-zone column (default timezone, tz or time_zone)")),
    request_body(content = String, content_type = "text/csv",
        description = "A header line, then one lead per line; columns other than phone, time zone and priority are kept as the lead's fields"),
    responses((status = 200, body = UploadView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "No phone column, or an unreadable header")),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Body,
) -> Result<Json<UploadView>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let (name, options) = upload_options(raw.as_deref())?;
    let (record, _) = load(&state, &id).await?;
    if record.state == CampaignState::Stopped {
        return Err(ApiError::Conflict(
            "the campaign is stopped: it takes no more leads".into(),
        ));
    }
    let reader = BodyReader::start(body).await.map_err(|e| match e {
        UploadError::Body(m) => ApiError::bad_request(m, None),
        UploadError::HeaderTooLong => ApiError::unprocessable("body", e.to_string()),
    })?;
    let failure = reader.failure();
    let report = import_csv(&state.store, &record.id, &name, reader, &options, now_ms())
        .await
        .map_err(|e| match e {
            ListError::NoPhoneColumn { .. } => {
                ApiError::unprocessable("phone_column", e.to_string())
            }
            ListError::NoTimeZoneColumn { .. } => {
                ApiError::unprocessable("timezone_column", e.to_string())
            }
            ListError::Header(_) => ApiError::unprocessable("body", e.to_string()),
            ListError::Store(e) => store_error(e),
            ListError::ReaderGone => ApiError::bad_request(e.to_string(), None),
        })?;
    state.dialer.send(crate::dialer::live::DialerCommand::Wake);
    if let Some(e) = failure.get() {
        // The rows before the break are committed: say so, with the list they are in.
        return Err(ApiError::bad_request(
            format!(
                "the upload broke off ({e}); {} row(s) before it were loaded into list {}",
                report.loaded, report.list
            ),
            None,
        ));
    }
    tracing::info!(campaign = %id, list = %report.list, loaded = report.loaded,
        rejected = report.rejected_count, duplicates = report.duplicate_count,
        by = %caller.name, "lead list uploaded");
    Ok(Json(UploadView {
        list_id: report.list.to_string(),
        rows: report.rows,
        loaded: report.loaded,
        duplicates: report
            .duplicates
            .into_iter()
            .map(|d| DuplicateView {
                line: d.line,
                phone: d.phone.into_string(),
                first_line: match d.first {
                    FirstSeen::Line(l) => Some(l),
                    FirstSeen::Campaign => None,
                },
                in_campaign: d.first == FirstSeen::Campaign,
            })
            .collect(),
        duplicate_count: report.duplicate_count,
        errors: report
            .rejected
            .into_iter()
            .map(|e| RowErrorView {
                line: e.line,
                reason: e.reason,
            })
            .collect(),
        error_count: report.rejected_count,
        guessed_zones: report.guessed_zones,
    }))
}

/// The export's fixed columns, before the list's own.
const RESULT_COLUMNS: [&str; 9] = [
    "lead_id",
    "phone",
    "status",
    "attempts",
    "last_outcome",
    "disposition",
    "disposition_agent",
    "disposition_at",
    "disposition_note",
];

/// The CSV lines of `leads` (no header), the list columns in `fields` order.
fn result_rows(leads: &[LeadResult], fields: &[String]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(leads.len() * 96));
    for lead in leads {
        let d = lead.disposition.as_ref();
        let mut row: Vec<String> = vec![
            lead.id.to_string(),
            lead.phone.clone(),
            lead.status.as_str().to_string(),
            lead.attempts.to_string(),
            lead.last_outcome
                .map(|o| o.as_str().to_string())
                .unwrap_or_default(),
            d.map(|d| d.code.clone()).unwrap_or_default(),
            d.map(|d| d.agent.clone()).unwrap_or_default(),
            d.map(|d| rfc3339(d.at_ms)).unwrap_or_default(),
            d.map(|d| d.note.clone()).unwrap_or_default(),
        ];
        for f in fields {
            row.push(match lead.fields.get(f) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            });
        }
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&row);
    }
    w.into_inner().unwrap_or_default()
}

fn header_row(fields: &[String]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let names: Vec<&str> = RESULT_COLUMNS
        .iter()
        .copied()
        .chain(fields.iter().map(String::as_str))
        .collect();
    let _ = w.write_record(&names);
    w.into_inner().unwrap_or_default()
}

/// Where the export is: the next page starts after `after`.
struct Export {
    store: Store,
    campaign: CampaignId,
    fields: Vec<String>,
    after: Option<LeadId>,
    done: bool,
}

async fn next_page(mut e: Export) -> Option<(Result<Vec<u8>, std::io::Error>, Export)> {
    if e.done {
        return None;
    }
    match e
        .store
        .campaign_results(&e.campaign, e.after.as_ref(), EXPORT_PAGE)
        .await
    {
        Ok(page) if page.is_empty() => None,
        Ok(page) => {
            e.done = page.len() < EXPORT_PAGE as usize;
            e.after = page.last().map(|l| l.id.clone());
            let bytes = result_rows(&page, &e.fields);
            Some((Ok(bytes), e))
        }
        Err(err) => {
            // The status line is gone: cut the body short so the client sees an error.
            tracing::warn!(campaign = %e.campaign, %err, "results export failed");
            e.done = true;
            Some((Err(std::io::Error::other(err.to_string())), e))
        }
    }
}

/// The campaign's results as CSV: one row per lead with its status, attempts, last
/// outcome and latest disposition, then the list's columns. Accepts `?token=` so a plain
/// link can download it.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/results.csv", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"),
        ("token" = Option<String>, Query, description = "API token, for plain download links")),
    responses((status = 200, content_type = "text/csv", body = String,
            description = "lead_id, phone, status, attempts, last_outcome, disposition, disposition_agent, disposition_at, disposition_note, then the list's columns"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn results_csv(
    State(state): State<Arc<ApiState>>,
    LinkCaller(caller): LinkCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let (record, campaign) = load(&state, &id).await?;
    let fields = state
        .store
        .campaign_field_names(&record.id)
        .await
        .map_err(store_error)?;
    let header = header_row(&fields);
    let export = Export {
        store: state.store.clone(),
        campaign: record.id.clone(),
        fields,
        after: None,
        done: false,
    };
    let rows = futures_util::stream::unfold(export, next_page);
    let body = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(header) }),
        rows,
    );
    let filename: String = campaign
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}-results.csv\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AttemptOutcome, Disposition, LeadStatus};

    #[test]
    fn upload_options_are_read_and_checked() {
        let (name, o) = upload_options(Some(
            "name=spring%20list&default_country=gb&phone_column=mobile",
        ))
        .expect("valid");
        assert_eq!(name, "spring list");
        assert_eq!(o.default_region, Some(Region::GB));
        assert_eq!(o.phone_column.as_deref(), Some("mobile"));
        let e = upload_options(Some("default_country=XX")).expect_err("bad country");
        assert_eq!(e.field(), Some("default_country"));
        let e = upload_options(Some("colour=red")).expect_err("unknown");
        assert_eq!(e.field(), Some("colour"));
        assert!(upload_options(None)
            .expect("defaults")
            .0
            .starts_with("upload "));
    }

    #[test]
    fn result_rows_escape_and_follow_the_field_order() {
        let lead = LeadResult {
            id: LeadId::from("L-1"),
            phone: "+14155550100".into(),
            status: LeadStatus::Done,
            attempts: 2,
            last_outcome: Some(AttemptOutcome::Answered),
            fields: serde_json::json!({"name": "Ada, \"the\" first", "plan": 3}),
            disposition: Some(Disposition {
                agent: "1001".into(),
                code: "sale".into(),
                note: "line1\nline2".into(),
                callback_at_ms: None,
                at_ms: 0,
            }),
        };
        let fields = vec!["plan".to_string(), "name".to_string(), "city".to_string()];
        let text = String::from_utf8(result_rows(&[lead], &fields)).expect("utf8");
        assert_eq!(
            text,
            "L-1,+14155550100,done,2,answered,sale,1001,1970-01-01T00:00:00.000Z,\"line1\nline2\",3,\"Ada, \"\"the\"\" first\",\n"
        );
        let header = String::from_utf8(header_row(&fields)).expect("utf8");
        assert!(
            header.ends_with("disposition_note,plan,name,city\n"),
            "{header}"
        );
    }
}
