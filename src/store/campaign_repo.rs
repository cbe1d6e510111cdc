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
