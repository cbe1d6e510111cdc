//! Do-not-call lists: one global list and one per campaign, keyed by E.164 number.
//! [`Store::claim_leads`](super::Store::claim_leads) never hands out a lead whose number is
//! on either; the dialer may also check a number right before dialling
//! ([`Store::dnc_check`]).

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, AssertSqlSafe};

use super::{CampaignId, Store, StoreError};

/// Numbers per multi-row `INSERT`.
const STATEMENT_ROWS: usize = 1_000;
/// Numbers per transaction when uploading.
const TX_ROWS: usize = 20_000;

/// Which do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DncScope {
    /// Applies to every campaign.
    Global,
    /// Applies to one campaign.
    Campaign(CampaignId),
}

impl DncScope {
    /// The stored `scope` column: "" for global, else the campaign id.
    fn as_str(&self) -> &str {
        match self {
            DncScope::Global => "",
            DncScope::Campaign(id) => id.as_str(),
        }
    }
}

impl Store {
    /// Adds numbers (E.164) to a list; returns how many were new. `source` says where they
    /// came from ("csv:file.csv", "api", "disposition"). Committed in transactions of
    /// 20,000 numbers.
    pub async fn dnc_add(
        &self,
        scope: &DncScope,
        numbers: &[String],
        source: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut added = 0;
        for chunk in numbers.chunks(TX_ROWS) {
            let mut tx = self.write().await?;
            added += insert_dnc(&mut tx, scope.as_str(), chunk, source, now_ms).await?;
            tx.commit().await?;
        }
        Ok(added)
    }

    /// Removes a number from a list; returns whether it was there.
    pub async fn dnc_remove(&self, scope: &DncScope, number: &str) -> Result<bool, StoreError> {
        let _gate = self.write_gate().await;
        let done = sqlx::query("DELETE FROM dnc WHERE number = $1 AND scope = $2")
            .bind(number)
            .bind(scope.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether `number` may not be called in `campaign` (or, with `None`, by anyone), and
    /// which list says so (the global list wins when both do).
    pub async fn dnc_check(
        &self,
        campaign: Option<&CampaignId>,
        number: &str,
    ) -> Result<Option<DncScope>, StoreError> {
        let scopes: Vec<String> = sqlx::query_scalar(
            "SELECT scope FROM dnc WHERE number = $1 AND (scope = '' OR scope = $2) ORDER BY scope",
        )
        .bind(number)
        .bind(campaign.map_or("", CampaignId::as_str))
        .fetch_all(&self.pool)
        .await?;
        Ok(scopes.first().map(|scope| {
            if scope.is_empty() {
                DncScope::Global
            } else {
                DncScope::Campaign(CampaignId::from(scope.as_str()))
            }
        }))
    }

    /// How many numbers a list holds.
    pub async fn dnc_count(&self, scope: &DncScope) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dnc WHERE scope = $1")
            .bind(scope.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Inserts numbers into list `scope` inside the caller's transaction; returns how many
/// were new.
pub(crate) async fn insert_dnc(
    conn: &mut AnyConnection,
    scope: &str,
    numbers: &[String],
    source: &str,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let mut added = 0;
    for statement in numbers.chunks(STATEMENT_ROWS) {
        let values: Vec<String> = (0..statement.len())
            .map(|n| format!("(${}, $1, $2, $3)", n + 4))
            .collect();
        let sql = format!(
            "INSERT INTO dnc (number, scope, source, added_at_ms) VALUES {} \
             ON CONFLICT (number, scope) DO NOTHING",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(scope)
            .bind(source)
            .bind(now_ms);
        for number in statement {
            query = query.bind(number.as_str());
        }
        added += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(added)
}
