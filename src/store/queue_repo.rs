//! Queue history: every queue event the ACD reports, stored as it happens (through the
//! store writer, like agent states), and the report a supervisor asks for over any period
//! (offered, answered, abandoned, service level, waits, talk).

use serde::Serialize;
use sqlx::Row;

use super::ops_repo::ordered_id;
use super::{Store, StoreError};

/// One queue event as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueEventRow {
    pub queue: String,
    pub call: Option<String>,
    /// join | answer | abandon | overflow | refuse | callback_kept | callback_due | complete
    pub event: String,
    pub agent: Option<String>,
    pub wait_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    /// The refusal reason or overflow destination.
    pub detail: Option<String>,
    pub at_ms: i64,
}

/// A queue over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueueReport {
    pub offered: u64,
    pub answered: u64,
    /// Callers who hung up while waiting.
    pub abandoned: u64,
    /// Sent away by the queue: its wait ran out, it was full or empty, or overflowed.
    pub sent_away: u64,
    /// Answered within the service-level threshold ÷ offered (`None` without callers).
    pub service_level: Option<f64>,
    pub mean_wait_ms: Option<f64>,
    pub max_wait_ms: Option<i64>,
    pub mean_talk_ms: Option<f64>,
}

impl Store {
    /// Stores queue events (one transaction).
    pub async fn queue_events_record(&self, rows: &[QueueEventRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO queue_events (id, queue, call_ref, event, agent, wait_ms, talk_ms, \
                 detail, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(ordered_id(r.at_ms))
            .bind(&r.queue)
            .bind(r.call.as_deref())
            .bind(&r.event)
            .bind(r.agent.as_deref())
            .bind(r.wait_ms)
            .bind(r.talk_ms)
            .bind(r.detail.as_deref())
            .bind(r.at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `queue` from `from_ms` (inclusive) to `to_ms` (exclusive); answers within
    /// `service_level_ms` count for the service level.
    pub async fn queue_report(
        &self,
        queue: &str,
        from_ms: i64,
        to_ms: i64,
        service_level_ms: i64,
    ) -> Result<QueueReport, StoreError> {
        let row = sqlx::query(
            "SELECT \
               COALESCE(SUM(CASE WHEN event = 'join' THEN 1 ELSE 0 END), 0) AS offered, \
               COALESCE(SUM(CASE WHEN event = 'answer' THEN 1 ELSE 0 END), 0) AS answered, \
               COALESCE(SUM(CASE WHEN event = 'abandon' THEN 1 ELSE 0 END), 0) AS abandoned, \
               COALESCE(SUM(CASE WHEN event IN ('refuse', 'overflow') THEN 1 ELSE 0 END), 0) \
                 AS sent_away, \
               COALESCE(SUM(CASE WHEN event = 'answer' AND wait_ms <= $4 THEN 1 ELSE 0 END), 0) \
                 AS in_level, \
               CAST(AVG(CASE WHEN event = 'answer' THEN wait_ms END) AS DOUBLE PRECISION) AS mean_wait, \
               MAX(CASE WHEN event IN ('answer', 'abandon', 'refuse', 'overflow') \
                 THEN wait_ms END) AS max_wait, \
               CAST(AVG(CASE WHEN event = 'complete' THEN talk_ms END) AS DOUBLE PRECISION) AS mean_talk \
             FROM queue_events WHERE queue = $1 AND at_ms >= $2 AND at_ms < $3",
        )
        .bind(queue)
        .bind(from_ms)
        .bind(to_ms)
        .bind(service_level_ms)
        .fetch_one(&self.pool)
        .await?;
        let count = |c: &str| -> Result<u64, StoreError> {
            Ok(u64::try_from(row.try_get::<i64, _>(c)?).unwrap_or(0))
        };
        let offered = count("offered")?;
        let in_level = count("in_level")?;
        Ok(QueueReport {
            offered,
            answered: count("answered")?,
            abandoned: count("abandoned")?,
            sent_away: count("sent_away")?,
            service_level: (offered > 0).then(|| in_level as f64 / offered as f64),
            mean_wait_ms: row.try_get::<Option<f64>, _>("mean_wait")?,
            max_wait_ms: row.try_get::<Option<i64>, _>("max_wait")?,
            mean_talk_ms: row.try_get::<Option<f64>, _>("mean_talk")?,
        })
    }
}
