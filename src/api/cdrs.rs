//! CDR search: `GET /api/v1/cdrs` (JSON) and `GET /api/v1/cdrs.csv` (the same query as
//! a spreadsheet download), supervisor and above.
//!
//! Query: `since`/`until` (RFC 3339 or unix milliseconds; start time, `until`
//! exclusive), `caller`, `callee`, `call_id`, `status` (answered | cancelled | failed),
//! `limit` (1–1000, default 100), `offset`. An unknown parameter is a 400 naming it; a bad
//! value a 422 naming it. `status` is derived (see [`call_status`]) and filtered here,
//! after the store's page: with it, the page is taken from the newest 1000 matches.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::DateTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::{form_pairs, Caller, LinkCaller};
use super::error::{ApiError, ErrorBody};
use super::{rfc3339, ApiState};
use crate::config::ApiRole;
use crate::store::{Cdr, CdrMedia, CdrQuery, HangupSide};

/// What became of a call, in one word.
pub fn call_status(c: &Cdr) -> &'static str {
    match (c.answered_at_ms, c.hangup_side) {
        (Some(_), _) => "answered",
        (None, HangupSide::Caller) => "cancelled",
        (None, _) => "failed",
    }
}

const STATUSES: [&str; 3] = ["answered", "cancelled", "failed"];

/// One finished call.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CdrView {
    pub id: String,
    /// SIP Call-ID of the caller's leg.
    pub call_id: String,
    pub caller: String,
    pub callee: String,
    pub direction: Option<String>,
    pub started_at: String,
    pub answered_at: Option<String>,
    pub ended_at: String,
    /// Seconds from answer to end (0 when unanswered), millisecond precision.
    pub billable_s: f64,
    /// answered | cancelled | failed
    pub status: String,
    /// Final SIP status sent to the caller (0 when unknown).
    pub sip_status: u16,
    /// caller | callee | system
    pub hangup_side: String,
    /// normal_clearing, no_answer, busy, admin_hangup, restart, …
    pub cause: String,
    /// RTP per side, when the switch relayed the media.
    pub media: Vec<CdrMediaView>,
}

/// RTP of one side of a relayed call: what the relay counted, and what that side's phone
/// reported in RTCP of the stream it received.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CdrMediaView {
    /// A (the caller's side) | B (the callee's)
    pub side: String,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub rtcp_in: u64,
    /// Packets from this phone that never reached the relay (RFC 3550 A.3).
    pub lost: u64,
    /// Interarrival jitter of this phone's stream at the relay, ms (RFC 3550 A.8).
    pub jitter_ms: f64,
    /// Packets this phone reported lost of the stream the relay sent it (its last RTCP
    /// report; null without one).
    pub reported_lost: Option<u64>,
    /// The jitter this phone reported, ms.
    pub reported_jitter_ms: Option<f64>,
}

impl From<&CdrMedia> for CdrMediaView {
    fn from(m: &CdrMedia) -> Self {
        CdrMediaView {
            side: m.role.as_str().to_string(),
            packets_in: m.packets_in,
            packets_out: m.packets_out,
            bytes_in: m.bytes_in,
            bytes_out: m.bytes_out,
            rtcp_in: m.rtcp_in,
            lost: m.lost,
            jitter_ms: m.jitter_us as f64 / 1000.0,
            reported_lost: m.reported_lost,
            reported_jitter_ms: m.reported_jitter_us.map(|us| us as f64 / 1000.0),
        }
    }
}

impl From<&Cdr> for CdrView {
    fn from(c: &Cdr) -> Self {
        CdrView {
            id: c.id.as_str().to_string(),
            call_id: c.call_id.clone(),
            caller: c.caller.clone(),
            callee: c.callee.clone(),
            direction: c.direction.clone(),
            started_at: rfc3339(c.started_at_ms),
            answered_at: c.answered_at_ms.map(rfc3339),
            ended_at: rfc3339(c.ended_at_ms),
            billable_s: c.billable_ms as f64 / 1000.0,
            status: call_status(c).to_string(),
            sip_status: c.sip_status,
            hangup_side: c.hangup_side.as_str().to_string(),
            cause: c.hangup_cause.clone(),
            media: c.media.iter().map(CdrMediaView::from).collect(),
        }
    }
}

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Search {
    pub query: CdrQuery,
    pub status: Option<&'static str>,
}

fn time(field: &str, v: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::unprocessable(field, format!("{v:?} is not RFC 3339 or unix milliseconds"))
        })
}

/// Parses the query string (400 unknown parameter, 422 bad value, each naming it).
pub fn parse_search(raw: Option<&str>) -> Result<Search, ApiError> {
    let mut s = Search::default();
    for (k, v) in form_pairs(raw.unwrap_or("")) {
        let text = || (!v.is_empty()).then(|| v.clone());
        match k.as_str() {
            "since" if !v.is_empty() => s.query.since_ms = Some(time("since", &v)?),
            "until" if !v.is_empty() => s.query.until_ms = Some(time("until", &v)?),
            "since" | "until" => {}
            "caller" => s.query.caller = text(),
            "callee" => s.query.callee = text(),
            "call_id" => s.query.call_id = text(),
            "status" if v.is_empty() => {}
            "status" => {
                s.status = Some(STATUSES.into_iter().find(|x| *x == v).ok_or_else(|| {
                    ApiError::unprocessable("status", "must be answered, cancelled or failed")
                })?)
            }
            "limit" => {
                let n = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=CdrQuery::MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::unprocessable(
                            "limit",
                            format!("must be a whole number from 1 to {}", CdrQuery::MAX_LIMIT),
                        )
                    })?;
                s.query.limit = Some(n);
            }
            "offset" => {
                s.query.offset = v.parse().map_err(|_| {
                    ApiError::unprocessable("offset", "must be a whole number, 0 or more")
                })?
            }
            "token" => {}
            other => {
                return Err(ApiError::bad_request(
                    format!("unknown query parameter {other:?}"),
                    Some(other),
                ))
            }
        }
    }
    if let (Some(a), Some(b)) = (s.query.since_ms, s.query.until_ms) {
        if b < a {
            return Err(ApiError::unprocessable("until", "is before since"));
        }
    }
    Ok(s)
}

async fn search(state: &ApiState, s: &Search) -> Result<Vec<Cdr>, ApiError> {
    let mut q = s.query.clone();
    let Some(status) = s.status else {
        return state
            .store
            .cdrs(&q)
            .await
            .map_err(|e| ApiError::Unavailable(format!("store: {e}")));
    };
    let (limit, offset) = (q.effective_limit() as usize, q.offset as usize);
    q.limit = Some(CdrQuery::MAX_LIMIT);
    q.offset = 0;
    let all = state
        .store
        .cdrs(&q)
        .await
        .map_err(|e| ApiError::Unavailable(format!("store: {e}")))?;
    Ok(all
        .into_iter()
        .filter(|c| call_status(c) == status)
        .skip(offset)
        .take(limit)
        .collect())
}

/// Finished calls, newest first.
#[utoipa::path(get, path = "/api/v1/cdrs", tag = "cdrs",
    params(
        ("since" = Option<String>, Query, description = "Started at or after (RFC 3339 or unix ms)"),
        ("until" = Option<String>, Query, description = "Started before (RFC 3339 or unix ms)"),
        ("caller" = Option<String>, Query), ("callee" = Option<String>, Query),
        ("call_id" = Option<String>, Query),
        ("status" = Option<String>, Query, description = "answered | cancelled | failed"),
        ("limit" = Option<u32>, Query, description = "1-1000, default 100"),
        ("offset" = Option<u64>, Query),
    ),
    responses((status = 200, body = Vec<CdrView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<CdrView>>, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let s = parse_search(raw.as_deref())?;
    let cdrs = search(&state, &s).await?;
    Ok(Json(cdrs.iter().map(CdrView::from).collect()))
}

/// The CSV columns, in order.
pub const CSV_HEADER: &str = "id,call_id,caller,callee,direction,started_at,answered_at,ended_at,billable_s,status,sip_status,hangup_side,cause";

/// One CSV field: quoted when needed (RFC 4180); a leading `=` or `@` is defused with a
/// `'` so a spreadsheet does not run it as a formula (numbers like `+1555…` stay as they are).
fn field(out: &mut String, v: &str) {
    let v = if v.starts_with(['=', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&v);
    }
}

pub fn to_csv(cdrs: &[Cdr]) -> String {
    let mut out = String::with_capacity(64 + cdrs.len() * 160);
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for c in cdrs {
        let v = CdrView::from(c);
        let cols = [
            v.id,
            v.call_id,
            v.caller,
            v.callee,
            v.direction.unwrap_or_default(),
            v.started_at,
            v.answered_at.unwrap_or_default(),
            v.ended_at,
            format!("{:.3}", v.billable_s),
            v.status,
            v.sip_status.to_string(),
            v.hangup_side,
            v.cause,
        ];
        for (i, col) in cols.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, col);
        }
        out.push_str("\r\n");
    }
    out
}

/// The same search as CSV (a header row, then one row per call). Accepts `?token=` so a
/// plain link can download it.
#[utoipa::path(get, path = "/api/v1/cdrs.csv", tag = "cdrs",
    params(
        ("since" = Option<String>, Query), ("until" = Option<String>, Query),
        ("caller" = Option<String>, Query), ("callee" = Option<String>, Query),
        ("call_id" = Option<String>, Query), ("status" = Option<String>, Query),
        ("limit" = Option<u32>, Query), ("offset" = Option<u64>, Query),
        ("token" = Option<String>, Query, description = "API token, for plain download links"),
    ),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn csv(
    State(state): State<Arc<ApiState>>,
    LinkCaller(caller): LinkCaller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.require(ApiRole::Supervisor)?;
    let s = parse_search(raw.as_deref())?;
    let cdrs = search(&state, &s).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"cdrs.csv\"",
            ),
        ],
        to_csv(&cdrs),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CallRecordId;

    fn cdr(caller: &str, answered: Option<i64>, side: HangupSide) -> Cdr {
        Cdr {
            id: CallRecordId::from("01ID"),
            call_id: "abc@host".into(),
            caller: caller.into(),
            callee: "1002".into(),
            direction: Some("internal".into()),
            started_at_ms: 1_700_000_000_000,
            answered_at_ms: answered,
            ended_at_ms: 1_700_000_010_500,
            duration_ms: 10_500,
            billable_ms: answered.map(|a| 1_700_000_010_500 - a).unwrap_or(0),
            sip_status: 200,
            hangup_side: side,
            hangup_cause: "normal_clearing".into(),
            legs: Vec::new(),
            media: Vec::new(),
        }
    }

    #[test]
    fn queries_parse_and_bad_values_name_their_field() {
        let s = parse_search(Some(
            "since=2023-11-14T22:13:20Z&until=1700000001000&caller=1001&limit=5&status=answered&offset=2&token=t",
        ))
        .expect("valid");
        assert_eq!(s.query.since_ms, Some(1_700_000_000_000));
        assert_eq!(s.query.until_ms, Some(1_700_000_001_000));
        assert_eq!(s.query.caller.as_deref(), Some("1001"));
        assert_eq!(s.query.limit, Some(5));
        assert_eq!(s.query.offset, 2);
        assert_eq!(s.status, Some("answered"));
        assert_eq!(
            parse_search(Some("caller=&since=")).expect("empty = unset"),
            Search::default()
        );
        for (q, f, code) in [
            ("limit=0", "limit", "unprocessable"),
            ("limit=1001", "limit", "unprocessable"),
            ("limit=x", "limit", "unprocessable"),
            ("since=yesterday", "since", "unprocessable"),
            ("status=busy", "status", "unprocessable"),
            ("offset=-1", "offset", "unprocessable"),
            ("since=2000&until=1000", "until", "unprocessable"),
            ("calller=1", "calller", "bad_request"),
        ] {
            let e = parse_search(Some(q)).expect_err(q);
            assert_eq!((e.field(), e.code()), (Some(f), code), "{q}");
        }
    }

    #[test]
    fn status_is_derived_from_answer_and_side() {
        assert_eq!(
            call_status(&cdr("1", Some(1_700_000_001_000), HangupSide::Callee)),
            "answered"
        );
        assert_eq!(
            call_status(&cdr("1", None, HangupSide::Caller)),
            "cancelled"
        );
        assert_eq!(call_status(&cdr("1", None, HangupSide::System)), "failed");
    }

    #[test]
    fn csv_has_a_header_and_escapes_fields() {
        let text = to_csv(&[
            cdr("Smith, \"J\"", Some(1_700_000_000_500), HangupSide::Caller),
            cdr("=HYPERLINK(1)", None, HangupSide::System),
        ]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER);
        assert_eq!(
            lines[1],
            "01ID,abc@host,\"Smith, \"\"J\"\"\",1002,internal,2023-11-14T22:13:20.000Z,\
             2023-11-14T22:13:20.500Z,2023-11-14T22:13:30.500Z,10.000,answered,200,caller,normal_clearing"
        );
        assert!(lines[2].contains(",'=HYPERLINK(1),"), "{}", lines[2]);
        assert_eq!(lines[3], "");
    }

    #[test]
    fn the_view_carries_each_sides_rtp_and_what_its_phone_reported() {
        use crate::store::LegRole;
        let mut c = cdr("1001", Some(1_700_000_000_500), HangupSide::Caller);
        c.media = vec![CdrMedia {
            role: LegRole::B,
            packets_in: 500,
            bytes_in: 86_000,
            packets_out: 498,
            bytes_out: 85_656,
            rtcp_in: 3,
            lost: 2,
            jitter_us: 1_500,
            reported_lost: Some(4),
            reported_jitter_us: Some(2_250),
        }];
        let v = serde_json::to_value(CdrView::from(&c)).unwrap();
        assert_eq!(
            v["media"],
            serde_json::json!([{
                "side": "B", "packets_in": 500, "packets_out": 498, "bytes_in": 86_000,
                "bytes_out": 85_656, "rtcp_in": 3, "lost": 2, "jitter_ms": 1.5,
                "reported_lost": 4, "reported_jitter_ms": 2.25
            }])
        );
    }
}
