//! What the operations surface keeps beside the CDRs: the directory changes made through
//! the API (`directory`), every agent state transition (`agent_states`) and the
//! recordings index (`recordings`). Rows are opaque to the store where another layer owns
//! their meaning: a directory entry is JSON the config layer parses.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use super::{CallRecordId, Store, StoreError};

/// Which part of the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryKind {
    Endpoint,
    Trunk,
}

impl DirectoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DirectoryKind::Endpoint => "endpoint",
            DirectoryKind::Trunk => "trunk",
        }
    }
}

/// One stored directory change: the entry's JSON, or `None` for a deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRow {
    pub kind: DirectoryKind,
    pub name: String,
    pub spec: Option<String>,
}

/// One agent state transition. States are the ACD's names (`available`, `paused`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStateRow {
    pub agent: String,
    pub from_state: String,
    pub from_reason: Option<String>,
    pub to_state: String,
    pub to_reason: Option<String>,
    /// Why it changed: the op (`login`, `pause`) or what happened (`missed`, `answered`).
    pub reason: String,
    /// The call the transition concerns.
    pub call: Option<String>,
    pub at_ms: i64,
}

/// One recording (finished, or still running when `ended_at_ms` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRow {
    pub id: String,
    /// The CDR id of the call.
    pub call_record: String,
    /// The SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Relative to the recordings directory.
    pub path: String,
    pub started_at_ms: i64,
    /// `None` while recording.
    pub ended_at_ms: Option<i64>,
    pub bytes: u64,
    pub duration_ms: u64,
    /// The recording did not end normally (the file could not be written, or a crash cut it).
    pub failed: bool,
}

/// How a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingEnd {
    pub ended_at_ms: i64,
    pub bytes: u64,
    pub duration_ms: u64,
    pub failed: bool,
}

/// A search of the recordings index, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingQuery {
    /// A CDR id or a SIP Call-ID.
    pub call: Option<String>,
    /// Started at or after.
    pub from_ms: Option<i64>,
    /// Started before.
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// Orders ids made in one millisecond by this process.
static SEQ: AtomicU32 = AtomicU32::new(0);

/// A time-ordered id: the ULID time, then a per-process sequence, then random bits (so
/// nodes sharing a database do not collide).
pub fn ordered_id(at_ms: i64) -> String {
    let seq = u128::from(SEQ.fetch_add(1, Ordering::Relaxed));
    let random: u128 = rand::random::<u64>().into();
    CallRecordId::from_parts(at_ms, (seq << 48) | (random & ((1 << 48) - 1)))
        .as_str()
        .to_string()
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Every stored directory change.
    pub async fn directory(&self) -> Result<Vec<DirectoryRow>, StoreError> {
        let rows =
            sqlx::query("SELECT kind, name, spec, deleted FROM directory ORDER BY kind, name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let kind = match kind.as_str() {
                    "endpoint" => DirectoryKind::Endpoint,
                    "trunk" => DirectoryKind::Trunk,
                    _ => {
                        return Err(StoreError::BadStoredValue {
                            column: "directory.kind",
                            value: kind,
                        })
                    }
                };
                let deleted: i64 = r.try_get("deleted")?;
                Ok(DirectoryRow {
                    kind,
                    name: r.try_get("name")?,
                    spec: (deleted == 0).then(|| r.try_get("spec")).transpose()?,
                })
            })
            .collect()
    }

    /// Stores an entry (`Some(json)`) or its deletion (`None`) under `name`, replacing
    /// what was stored under it; committed on return.
    pub async fn directory_put(
        &self,
        kind: DirectoryKind,
        name: &str,
        spec: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query(
            "INSERT INTO directory (kind, name, spec, deleted, updated_at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (kind, name) DO UPDATE SET spec = excluded.spec, deleted = excluded.deleted, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(kind.as_str())
        .bind(name)
        .bind(spec.unwrap_or(""))
        .bind(i64::from(spec.is_none()))
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores transitions, in one transaction.
    pub async fn agent_states_record(&self, rows: &[AgentStateRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO agent_states (id, agent, from_state, from_reason, to_state, to_reason, \
                 reason, call_ref, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(ordered_id(r.at_ms))
            .bind(&r.agent)
            .bind(&r.from_state)
            .bind(r.from_reason.as_deref())
            .bind(&r.to_state)
            .bind(r.to_reason.as_deref())
            .bind(&r.reason)
            .bind(r.call.as_deref())
            .bind(r.at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An agent's transitions from `from_ms` (inclusive) to `to_ms` (exclusive), oldest
    /// first, at most `limit`.
    pub async fn agent_history(
        &self,
        agent: &str,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AgentStateRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT agent, from_state, from_reason, to_state, to_reason, reason, call_ref, at_ms \
             FROM agent_states WHERE agent = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY id LIMIT $4",
        )
        .bind(agent)
        .bind(from_ms.unwrap_or(i64::MIN))
        .bind(to_ms.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AgentStateRow {
                    agent: r.try_get("agent")?,
                    from_state: r.try_get("from_state")?,
                    from_reason: r.try_get("from_reason")?,
                    to_state: r.try_get("to_state")?,
                    to_reason: r.try_get("to_reason")?,
                    reason: r.try_get("reason")?,
                    call: r.try_get("call_ref")?,
                    at_ms: r.try_get("at_ms")?,
                })
            })
            .collect()
    }

    /// Indexes a recording (as it starts, or already finished), for this store's node;
    /// committed on return.
    pub async fn recording_add(&self, r: &RecordingRow) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query(
            "INSERT INTO recordings (id, node, call_record, call_id, path, started_at_ms, \
             ended_at_ms, bytes, duration_ms, failed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&r.id)
        .bind(&*self.node)
        .bind(&r.call_record)
        .bind(&r.call_id)
        .bind(&r.path)
        .bind(r.started_at_ms)
        .bind(r.ended_at_ms)
        .bind(i64_of(r.bytes))
        .bind(i64_of(r.duration_ms))
        .bind(i64::from(r.failed))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Completes a recording's row; returns whether it was there and still open.
    pub async fn recording_end(&self, id: &str, end: RecordingEnd) -> Result<bool, StoreError> {
        let _gate = self.write_gate().await;
        let done = sqlx::query(
            "UPDATE recordings SET ended_at_ms = $1, bytes = $2, duration_ms = $3, failed = $4 \
             WHERE id = $5 AND ended_at_ms IS NULL",
        )
        .bind(end.ended_at_ms)
        .bind(i64_of(end.bytes))
        .bind(i64_of(end.duration_ms))
        .bind(i64::from(end.failed))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// This node's recordings still open (at start-up: the ones a crash cut).
    pub async fn open_recordings(&self) -> Result<Vec<RecordingRow>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE node = $1 AND ended_at_ms IS NULL ORDER BY id"
        )))
        .bind(&*self.node)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(recording_from_row).collect()
    }

    /// Recordings matching `q`, newest first.
    pub async fn recordings(&self, q: &RecordingQuery) -> Result<Vec<RecordingRow>, StoreError> {
        let mut sql = format!("SELECT {RECORDING_COLUMNS} FROM recordings WHERE started_at_ms >= $1 AND started_at_ms < $2");
        // Placeholders appear in numeric order: SQLite numbers `$N` by first appearance.
        let limit = if q.call.is_some() {
            sql.push_str(" AND (call_record = $3 OR call_id = $3)");
            "$4"
        } else {
            "$3"
        };
        sql.push_str(&format!(
            " ORDER BY started_at_ms DESC, id DESC LIMIT {limit}"
        ));
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(q.from_ms.unwrap_or(i64::MIN))
            .bind(q.to_ms.unwrap_or(i64::MAX));
        if let Some(call) = &q.call {
            query = query.bind(call.as_str());
        }
        query = query.bind(i64::from(q.limit.max(1)));
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(recording_from_row).collect()
    }

    /// The recording with this id.
    pub async fn recording(&self, id: &str) -> Result<Option<RecordingRow>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(recording_from_row).transpose()
    }
}

const RECORDING_COLUMNS: &str =
    "id, call_record, call_id, path, started_at_ms, ended_at_ms, bytes, duration_ms, failed";

fn recording_from_row(r: &AnyRow) -> Result<RecordingRow, StoreError> {
    Ok(RecordingRow {
        id: r.try_get("id")?,
        call_record: r.try_get("call_record")?,
        call_id: r.try_get("call_id")?,
        path: r.try_get("path")?,
        started_at_ms: r.try_get("started_at_ms")?,
        ended_at_ms: r.try_get("ended_at_ms")?,
        bytes: u64_of(r.try_get("bytes")?),
        duration_ms: u64_of(r.try_get("duration_ms")?),
        failed: r.try_get::<i64, _>("failed")? != 0,
    })
}

// Tested against SQLite and PostgreSQL in tests/store_ops.rs.
