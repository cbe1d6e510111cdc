//! Campaign persistence: create, update, read and list campaigns and move them between
//! states with a compare-and-set, so two nodes (or an API call racing the dialer) never
//! both think they started or stopped a campaign.
//!
//! The store keeps as typed columns only what it enforces itself when it hands out leads
//! ([`Store::claim_leads`](super::Store::claim_leads)): the state, the attempt cap and the
//! calling window. The rest of the definition (trunk, caller id, dial mode, retry rules…)
//! is `dialer::campaign`'s and is kept as JSON in `settings`.

use chrono::{TimeZone, Timelike};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{CallRecordId, Store, StoreError};

/// Identifies a campaign (a ULID, like every store-generated id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CampaignId(String);

impl CampaignId {
    /// A new id for a campaign created at `now_ms`.
    pub fn generate(now_ms: i64) -> Self {
        CampaignId(CallRecordId::generate(now_ms).as_str().to_owned())
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CampaignId {
    fn from(id: &str) -> Self {
        CampaignId(id.to_owned())
    }
}

impl std::fmt::Display for CampaignId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a campaign is in its life: `Draft → Running ⇄ Paused → Stopped` (the allowed
/// moves are `dialer::campaign`'s rule; the store only compares and sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Being set up: lists may be loaded, nothing is dialled.
    Draft,
    /// Dialling.
    Running,
    /// Temporarily not dialling; claims are refused.
    Paused,
    /// Finished; claims are refused.
    Stopped,
}

impl CampaignState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::Stopped => "stopped",
        }
    }

    pub(crate) fn from_stored(value: &str) -> Result<Self, StoreError> {
        Ok(match value {
            "draft" => CampaignState::Draft,
            "running" => CampaignState::Running,
            "paused" => CampaignState::Paused,
            "stopped" => CampaignState::Stopped,
            _ => {
                return Err(StoreError::BadStoredValue {
                    column: "campaigns.state",
                    value: value.to_owned(),
                })
            }
        })
    }
}

/// The hours a lead may be called, in minutes after midnight in the lead's own time zone:
/// open at `open_min`, closed from `close_min` (08:00–21:00 is `480..1260`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallingWindow {
    /// First minute of the day calls may start.
    pub open_min: u16,
    /// First minute of the day calls may no longer start.
    pub close_min: u16,
}

impl Default for CallingWindow {
    /// 08:00–21:00, the US TSR/TCPA hours.
    fn default() -> Self {
        CallingWindow {
            open_min: 8 * 60,
            close_min: 21 * 60,
        }
    }
}

impl CallingWindow {
    /// Whether a call may start at minute `minute` of the local day.
    pub fn contains_minute(&self, minute: u16) -> bool {
        if self.open_min <= self.close_min {
            (self.open_min..self.close_min).contains(&minute)
        } else {
            // Spans midnight.
            minute >= self.open_min || minute < self.close_min
        }
    }

    /// Whether a call may start at `now_ms` (unix ms) in zone `tz`.
    pub fn is_open(&self, tz: Tz, now_ms: i64) -> bool {
        match tz.timestamp_millis_opt(now_ms).single() {
            Some(local) => {
                let minute = local.hour() * 60 + local.minute();
                self.contains_minute(u16::try_from(minute).unwrap_or(u16::MAX))
            }
            None => false,
        }
    }
}

/// What is written when a campaign is created or updated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCampaign {
    /// Unique name.
    pub name: String,
    /// Initial (create) or new (update) state.
    pub state: CampaignState,
    /// A lead is not handed out again once it has had this many attempts.
    pub max_attempts: u32,
    /// Lead-local calling hours.
    pub window: CallingWindow,
    /// The full definition, owned by `dialer::campaign`.
    pub settings: serde_json::Value,
}

/// A stored campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub id: CampaignId,
    pub name: String,
    pub state: CampaignState,
    pub max_attempts: u32,
    pub window: CallingWindow,
    pub settings: serde_json::Value,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const COLUMNS: &str = "id, name, state, max_attempts, window_open_min, window_close_min, \
     settings, created_at_ms, updated_at_ms";

impl Store {
    /// Stores a new campaign and returns its id. A name already taken fails with the
    /// database's unique-constraint error.
    pub async fn create_campaign(
        &self,
        campaign: &NewCampaign,
        now_ms: i64,
    ) -> Result<CampaignId, StoreError> {
        let id = CampaignId::generate(now_ms);
        let _gate = self.write_gate().await;
        sqlx::query(
            "INSERT INTO campaigns (id, name, state, max_attempts, window_open_min, \
             window_close_min, settings, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(id.as_str())
        .bind(campaign.name.as_str())
        .bind(campaign.state.as_str())
        .bind(i64::from(campaign.max_attempts))
        .bind(i64::from(campaign.window.open_min))
        .bind(i64::from(campaign.window.close_min))
        .bind(campaign.settings.to_string())
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Replaces a campaign's definition (name, state, cap, window, settings). Returns
    /// whether the campaign exists.
    pub async fn update_campaign(
        &self,
        id: &CampaignId,
        campaign: &NewCampaign,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let _gate = self.write_gate().await;
        let done = sqlx::query(
            "UPDATE campaigns SET name = $2, state = $3, max_attempts = $4, \
             window_open_min = $5, window_close_min = $6, settings = $7, updated_at_ms = $8 \
             WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(campaign.name.as_str())
        .bind(campaign.state.as_str())
        .bind(i64::from(campaign.max_attempts))
        .bind(i64::from(campaign.window.open_min))
        .bind(i64::from(campaign.window.close_min))
        .bind(campaign.settings.to_string())
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The campaign with this id, if any.
    pub async fn campaign(&self, id: &CampaignId) -> Result<Option<CampaignRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM campaigns WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(campaign_from_row).transpose()
    }

    /// Every campaign, by name.
    pub async fn campaigns(&self) -> Result<Vec<CampaignRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM campaigns ORDER BY name"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(campaign_from_row).collect()
    }

    /// Moves a campaign from state `from` to `to` if it is still in `from`; returns whether
    /// it moved (false: unknown campaign, or someone else changed its state first).
    pub async fn set_campaign_state(
        &self,
        id: &CampaignId,
        from: CampaignState,
        to: CampaignState,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let _gate = self.write_gate().await;
        let done = sqlx::query(
            "UPDATE campaigns SET state = $3, updated_at_ms = $4 WHERE id = $1 AND state = $2",
        )
        .bind(id.as_str())
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// What [`Store::delete_campaign`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignDeleted {
    /// The campaign and everything it owned (lists, leads, attempts, dispositions, its
    /// do-not-call list) are gone.
    Deleted,
    /// No such campaign.
    NotFound,
    /// Refused: only draft and stopped campaigns may be deleted; it is in this state.
    Refused(CampaignState),
}

/// How many attempts of a campaign ended in each outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeTotals {
    pub busy: u64,
    pub no_answer: u64,
    pub machine: u64,
    pub congestion: u64,
    pub answered: u64,
    pub dropped: u64,
    pub invalid: u64,
    pub interrupted: u64,
}

/// One lead as the results export shows it: where it ended, and the last disposition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadResult {
    pub id: super::LeadId,
    pub phone: String,
    pub status: super::LeadStatus,
    pub attempts: u32,
    pub last_outcome: Option<super::AttemptOutcome>,
    /// The list's columns.
    pub fields: serde_json::Value,
    /// The latest disposition, if an agent gave one.
    pub disposition: Option<super::Disposition>,
}

/// Leads per page of [`Store::campaign_results`] at most.
pub const RESULTS_PAGE_MAX: u32 = 10_000;

// Queries for the operations API (campaign statistics, the results export, deletion and
// do-not-call look-ups across lists).
impl Store {
    /// Replaces a campaign's definition but not its state (the API's edit: a start or stop
    /// racing the edit is never undone by it). Returns whether the campaign exists.
    pub async fn update_campaign_definition(
        &self,
        id: &CampaignId,
        campaign: &NewCampaign,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let _gate = self.write_gate().await;
        let done = sqlx::query(
            "UPDATE campaigns SET name = $2, max_attempts = $3, window_open_min = $4, \
             window_close_min = $5, settings = $6, updated_at_ms = $7 WHERE id = $1",
        )
        .bind(id.as_str())
        .bind(campaign.name.as_str())
        .bind(i64::from(campaign.max_attempts))
        .bind(i64::from(campaign.window.open_min))
        .bind(i64::from(campaign.window.close_min))
        .bind(campaign.settings.to_string())
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a draft or stopped campaign with its lists, leads, attempts, dispositions,
    /// time zones and its own do-not-call list, in one transaction. The first statement
    /// claims the campaign row (only while draft or stopped), so a start racing the delete
    /// either wins (and the delete is refused) or waits and finds nothing.
    pub async fn delete_campaign(&self, id: &CampaignId) -> Result<CampaignDeleted, StoreError> {
        let mut tx = self.write().await?;
        let claimed = sqlx::query(
            "UPDATE campaigns SET updated_at_ms = updated_at_ms \
             WHERE id = $1 AND state IN ('draft', 'stopped')",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            let state: Option<String> =
                sqlx::query_scalar("SELECT state FROM campaigns WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            tx.rollback().await?;
            return Ok(match state {
                None => CampaignDeleted::NotFound,
                Some(s) => CampaignDeleted::Refused(CampaignState::from_stored(&s)?),
            });
        }
        for sql in [
            "DELETE FROM dispositions WHERE campaign_id = $1",
            "DELETE FROM attempts WHERE campaign_id = $1",
            "DELETE FROM leads WHERE campaign_id = $1",
            "DELETE FROM lead_lists WHERE campaign_id = $1",
            "DELETE FROM campaign_zones WHERE campaign_id = $1",
            "DELETE FROM dnc WHERE scope = $1",
            "DELETE FROM campaigns WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(CampaignDeleted::Deleted)
    }

    /// How many of the campaign's attempts ended in each outcome.
    pub async fn campaign_outcomes(&self, id: &CampaignId) -> Result<OutcomeTotals, StoreError> {
        let rows = sqlx::query(
            "SELECT outcome, COUNT(*) AS n FROM attempts WHERE campaign_id = $1 GROUP BY outcome",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut totals = OutcomeTotals::default();
        for row in &rows {
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            use super::AttemptOutcome as O;
            let slot = match O::from_stored(&row.try_get::<String, _>("outcome")?)? {
                O::Busy => &mut totals.busy,
                O::NoAnswer => &mut totals.no_answer,
                O::Machine => &mut totals.machine,
                O::Congestion => &mut totals.congestion,
                O::Answered => &mut totals.answered,
                O::Dropped => &mut totals.dropped,
                O::Invalid => &mut totals.invalid,
                O::Interrupted => &mut totals.interrupted,
            };
            *slot = n;
        }
        Ok(totals)
    }

    /// How many dispositions of the campaign carry each code (every disposition counts,
    /// also a lead's earlier ones).
    pub async fn campaign_disposition_counts(
        &self,
        id: &CampaignId,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError> {
        let rows = sqlx::query(
            "SELECT code, COUNT(*) AS n FROM dispositions WHERE campaign_id = $1 GROUP BY code",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get::<String, _>("code")?,
                    u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// The names of the columns the campaign's lists carried (the union over its lists,
    /// read from each list's first lead), sorted: the results export's extra columns.
    pub async fn campaign_field_names(&self, id: &CampaignId) -> Result<Vec<String>, StoreError> {
        let lists: Vec<String> =
            sqlx::query_scalar("SELECT id FROM lead_lists WHERE campaign_id = $1 ORDER BY id")
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await?;
        let mut names = std::collections::BTreeSet::new();
        for list in lists {
            // The list's first lead, along the primary key (see `campaign_results`).
            let fields: Option<String> = sqlx::query_scalar(
                "SELECT fields FROM leads WHERE id > $1 AND id < $2 ORDER BY id LIMIT 1",
            )
            .bind(list.as_str())
            .bind(format!("{list}."))
            .fetch_optional(&self.pool)
            .await?;
            if let Some(serde_json::Value::Object(map)) =
                fields.and_then(|f| serde_json::from_str(&f).ok())
            {
                names.extend(map.into_iter().map(|(k, _)| k));
            }
        }
        Ok(names.into_iter().collect())
    }

    /// One page of the campaign's leads in id order (list order within a list), after lead
    /// `after` (exclusive; `None` from the start), at most `limit` (≤
    /// [`RESULTS_PAGE_MAX`]), each with its latest disposition. Page on with the last id.
    pub async fn campaign_results(
        &self,
        id: &CampaignId,
        after: Option<&super::LeadId>,
        limit: u32,
    ) -> Result<Vec<LeadResult>, StoreError> {
        use super::{AttemptOutcome, Disposition, LeadId, LeadStatus};
        // Lead ids are `<list id>-<seq>`: each list's leads are one range of the primary
        // key, `(list, list + ".")` ('.' sorts right after '-'). Paging list by list along
        // the key costs one index range per page; a `campaign_id = … ORDER BY id` query
        // made SQLite sort the whole campaign for every page (a 1 M-lead export took 2 min).
        let lists: Vec<String> =
            sqlx::query_scalar("SELECT id FROM lead_lists WHERE campaign_id = $1 ORDER BY id")
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await?;
        let after_list = after
            .and_then(|a| a.as_str().rsplit_once('-'))
            .map(|(l, _)| l);
        let limit = i64::from(limit.min(RESULTS_PAGE_MAX));
        let mut rows = Vec::new();
        for list in lists
            .iter()
            .filter(|l| after_list.is_none_or(|a| l.as_str() >= a))
        {
            let want = limit - rows.len() as i64;
            if want <= 0 {
                break;
            }
            let lower = match (after, after_list) {
                (Some(a), Some(al)) if al == list.as_str() => a.as_str().to_owned(),
                _ => list.clone(),
            };
            rows.extend(
                sqlx::query(
                    "SELECT id, phone, status, attempts, last_outcome, fields FROM leads \
                     WHERE id > $1 AND id < $2 ORDER BY id LIMIT $3",
                )
                .bind(lower)
                .bind(format!("{list}."))
                .bind(want)
                .fetch_all(&self.pool)
                .await?,
            );
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let fields: String = row.try_get("fields")?;
            let last: Option<String> = row.try_get("last_outcome")?;
            out.push(LeadResult {
                id: LeadId::from(row.try_get::<String, _>("id")?.as_str()),
                phone: row.try_get("phone")?,
                status: LeadStatus::from_stored(&row.try_get::<String, _>("status")?)?,
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                last_outcome: last
                    .as_deref()
                    .map(AttemptOutcome::from_stored)
                    .transpose()?,
                fields: serde_json::from_str(&fields).map_err(|_| StoreError::BadStoredValue {
                    column: "leads.fields",
                    value: fields.clone(),
                })?,
                disposition: None,
            });
        }
        let (Some(first), Some(last)) = (out.first(), out.last()) else {
            return Ok(out);
        };
        // The page's dispositions in one range query (lead ids sort in page order), oldest
        // first: the last one seen per lead is its latest.
        let rows = sqlx::query(
            "SELECT lead_id, agent, code, note, callback_at_ms, at_ms FROM dispositions \
             WHERE campaign_id = $1 AND lead_id >= $2 AND lead_id <= $3 ORDER BY at_ms, id",
        )
        .bind(id.as_str())
        .bind(first.id.as_str())
        .bind(last.id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut latest = std::collections::HashMap::new();
        for row in &rows {
            latest.insert(
                row.try_get::<String, _>("lead_id")?,
                Disposition {
                    agent: row.try_get("agent")?,
                    code: row.try_get("code")?,
                    note: row.try_get("note")?,
                    callback_at_ms: row.try_get("callback_at_ms")?,
                    at_ms: row.try_get("at_ms")?,
                },
            );
        }
        for lead in &mut out {
            lead.disposition = latest.remove(lead.id.as_str());
        }
        Ok(out)
    }

    /// Every do-not-call list that holds `number` (E.164): the global one and campaigns'.
    pub async fn dnc_scopes(&self, number: &str) -> Result<Vec<super::DncScope>, StoreError> {
        let scopes: Vec<String> =
            sqlx::query_scalar("SELECT scope FROM dnc WHERE number = $1 ORDER BY scope")
                .bind(number)
                .fetch_all(&self.pool)
                .await?;
        Ok(scopes
            .into_iter()
            .map(|s| {
                if s.is_empty() {
                    super::DncScope::Global
                } else {
                    super::DncScope::Campaign(CampaignId(s))
                }
            })
            .collect())
    }
}

fn campaign_from_row(row: &AnyRow) -> Result<CampaignRecord, StoreError> {
    let settings: String = row.try_get("settings")?;
    let minute = |column: &'static str| -> Result<u16, StoreError> {
        let value: i64 = row.try_get(column)?;
        u16::try_from(value).map_err(|_| StoreError::BadStoredValue {
            column,
            value: value.to_string(),
        })
    };
    let max_attempts: i64 = row.try_get("max_attempts")?;
    Ok(CampaignRecord {
        id: CampaignId(row.try_get("id")?),
        name: row.try_get("name")?,
        state: CampaignState::from_stored(&row.try_get::<String, _>("state")?)?,
        max_attempts: u32::try_from(max_attempts).map_err(|_| StoreError::BadStoredValue {
            column: "campaigns.max_attempts",
            value: max_attempts.to_string(),
        })?,
        window: CallingWindow {
            open_min: minute("window_open_min")?,
            close_min: minute("window_close_min")?,
        },
        settings: serde_json::from_str(&settings).map_err(|_| StoreError::BadStoredValue {
            column: "campaigns.settings",
            value: settings.clone(),
        })?,
        created_at_ms: row.try_get("created_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_half_open_in_local_time() {
        let w = CallingWindow::default();
        assert!(!w.contains_minute(479));
        assert!(w.contains_minute(480));
        assert!(w.contains_minute(1259));
        assert!(!w.contains_minute(1260));
        let night = CallingWindow {
            open_min: 22 * 60,
            close_min: 60,
        };
        assert!(night.contains_minute(23 * 60) && night.contains_minute(0));
        assert!(!night.contains_minute(12 * 60));
    }

    #[test]
    fn window_follows_the_zone_and_its_dst() {
        let w = CallingWindow::default();
        // 2026-07-01T12:30Z: 08:30 in New York (EDT), 05:30 in Los Angeles (PDT).
        let t = 1_782_909_000_000;
        assert!(w.is_open(chrono_tz::America::New_York, t));
        assert!(!w.is_open(chrono_tz::America::Los_Angeles, t));
        // 2026-01-15T12:30Z: 07:30 in New York (EST): closed.
        let winter = 1_768_480_200_000;
        assert!(!w.is_open(chrono_tz::America::New_York, winter));
    }

    #[test]
    fn states_round_trip() {
        for s in [
            CampaignState::Draft,
            CampaignState::Running,
            CampaignState::Paused,
            CampaignState::Stopped,
        ] {
            assert_eq!(CampaignState::from_stored(s.as_str()).expect("known"), s);
        }
        assert!(CampaignState::from_stored("on").is_err());
    }
}
