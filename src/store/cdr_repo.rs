//! CDR persistence: the in-flight row written when a call starts, the CDR and its legs
//! written (in one transaction) when it ends, recovery after a crash, and queries.

use std::collections::HashMap;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row};

use super::{
    CallRecordId, CallStart, Cdr, CdrLeg, CdrMedia, CdrQuery, HangupSide, LegRole, Store,
    StoreError,
};

const CDR_COLUMNS: &str = "id, call_id, caller, callee, direction, started_at_ms, \
     answered_at_ms, ended_at_ms, duration_ms, billable_ms, sip_status, hangup_side, hangup_cause";

const LEG_COLUMNS: &str = "cdr_id, leg_index, role, peer, sip_call_id, remote_uri, \
     started_at_ms, answered_at_ms, ended_at_ms, final_status";

impl Store {
    /// Records that a call has started. Committed before it returns, so a crash from here
    /// on leaves a row for [`Store::close_in_flight`] to find.
    pub async fn call_started(&self, call: &CallStart) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_in_flight(&mut conn, &self.node, call).await
    }

    /// Records a batch in ONE transaction, committed before this returns: the call starts
    /// first, then the finished calls (each CDR with its legs, its in-flight row deleted).
    /// The switch's store writer uses this to keep up with thousands of calls per second,
    /// where a transaction per record (an fsync each) would fall behind. Any error rolls
    /// back the whole batch; the caller then records item by item to isolate it.
    pub async fn record_batch(
        &self,
        started: &[CallStart],
        ended: &[Cdr],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let [call] = started {
            insert_in_flight(&mut tx, &self.node, call).await?;
        } else {
            for chunk in started.chunks(ROWS_PER_STATEMENT) {
                insert_in_flight_rows(&mut tx, &self.node, chunk).await?;
            }
        }
        if let [cdr] = ended {
            insert_cdr(&mut tx, cdr).await?;
            sqlx::query("DELETE FROM calls_in_flight WHERE id = $1")
                .bind(cdr.id.as_str())
                .execute(&mut *tx)
                .await?;
        } else {
            for chunk in ended.chunks(ROWS_PER_STATEMENT) {
                insert_cdr_rows(&mut tx, chunk).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a finished call: inserts the CDR and its legs and deletes the call's in-flight
    /// row, in one transaction committed before this returns. A CDR whose id is already
    /// stored is refused with [`StoreError::DuplicateCdr`] and changes nothing.
    pub async fn call_ended(&self, cdr: &Cdr) -> Result<(), StoreError> {
        self.record_batch(&[], std::slice::from_ref(cdr)).await
    }

    /// Turns every in-flight call of this node ([`Store::with_node`]; with the default node
    /// name, every in-flight call of a single-node setup) into a CDR ended at `now_ms` by the
    /// system with `hangup_cause = cause`, and returns how many there were. Meant for
    /// startup, after a crash, before the node takes calls: such CDRs have no answer time, no legs, `billable_ms = 0` and `sip_status = 0`
    /// (what the caller last got is unknown); `ended_at_ms` is the restart time, an upper
    /// bound on when the call really ended.
    pub async fn close_in_flight(&self, cause: &str, now_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Delete first: on SQLite the transaction takes the write lock at once, and on
        // PostgreSQL no row can slip in between reading the rows and removing them.
        let rows = sqlx::query(
            "DELETE FROM calls_in_flight WHERE node = $1 \
             RETURNING id, call_id, caller, callee, direction, started_at_ms",
        )
        .bind(&*self.node)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let started_at_ms: i64 = row.try_get("started_at_ms")?;
            let ended_at_ms = now_ms.max(started_at_ms);
            let cdr = Cdr {
                id: row.try_get::<String, _>("id")?.into(),
                call_id: row.try_get("call_id")?,
                caller: row.try_get("caller")?,
                callee: row.try_get("callee")?,
                direction: row.try_get("direction")?,
                started_at_ms,
                answered_at_ms: None,
                ended_at_ms,
                duration_ms: ended_at_ms - started_at_ms,
                billable_ms: 0,
                sip_status: 0,
                hangup_side: HangupSide::System,
                hangup_cause: cause.to_owned(),
                legs: Vec::new(),
                media: Vec::new(),
            };
            insert_cdr(&mut tx, &cdr).await?;
        }
        tx.commit().await?;
        if !rows.is_empty() {
            tracing::warn!(
                closed = rows.len(),
                cause,
                node = &*self.node,
                "closed calls left in flight by the previous run"
            );
        }
        Ok(rows.len() as u64)
    }

    /// CDRs matching `q`, newest first (by start time, then id), with their legs.
    pub async fn cdrs(&self, q: &CdrQuery) -> Result<Vec<Cdr>, StoreError> {
        let mut filters: Vec<(&str, Param<'_>)> = Vec::new();
        if let Some(since) = q.since_ms {
            filters.push(("started_at_ms >=", Param::Int(since)));
        }
        if let Some(until) = q.until_ms {
            filters.push(("started_at_ms <", Param::Int(until)));
        }
        for (column, value) in [
            ("caller =", &q.caller),
            ("callee =", &q.callee),
            ("call_id =", &q.call_id),
        ] {
            if let Some(value) = value {
                filters.push((column, Param::Text(value)));
            }
        }
        let mut sql = format!("SELECT {CDR_COLUMNS} FROM cdrs");
        for (n, (condition, _)) in filters.iter().enumerate() {
            let joiner = if n == 0 { " WHERE " } else { " AND " };
            sql.push_str(&format!("{joiner}{condition} ${}", n + 1));
        }
        let n = filters.len();
        sql.push_str(&format!(
            " ORDER BY started_at_ms DESC, id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (_, param) in &filters {
            query = param.bind(query);
        }
        let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
        let rows = query
            .bind(i64::from(q.effective_limit()))
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let mut cdrs = rows
            .iter()
            .map(cdr_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // A second statement outside any transaction is safe: a CDR and its legs are
        // inserted together and never change afterwards.
        self.attach_legs(&mut cdrs).await?;
        Ok(cdrs)
    }

    /// The CDR with this id, with its legs, if it is stored.
    pub async fn cdr(&self, id: &CallRecordId) -> Result<Option<Cdr>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CDR_COLUMNS} FROM cdrs WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut cdrs = [cdr_from_row(&row)?];
        self.attach_legs(&mut cdrs).await?;
        let [cdr] = cdrs;
        Ok(Some(cdr))
    }

    /// How many CDRs are stored.
    pub async fn cdr_count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cdrs")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// How many calls are in flight (started, not yet ended or closed), on all nodes.
    pub async fn in_flight_count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls_in_flight")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Loads the legs of `cdrs` (one query for the whole page) into them.
    async fn attach_legs(&self, cdrs: &mut [Cdr]) -> Result<(), StoreError> {
        if cdrs.is_empty() {
            return Ok(());
        }
        let placeholders: Vec<String> = (1..=cdrs.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT {LEG_COLUMNS} FROM cdr_legs WHERE cdr_id IN ({}) ORDER BY cdr_id, leg_index",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for cdr in cdrs.iter() {
            query = query.bind(cdr.id.as_str());
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut legs: HashMap<String, Vec<CdrLeg>> = HashMap::new();
        for row in &rows {
            let cdr_id: String = row.try_get("cdr_id")?;
            legs.entry(cdr_id).or_default().push(leg_from_row(row)?);
        }
        let sql = format!(
            "SELECT cdr_id, role, packets_in, bytes_in, packets_out, bytes_out, rtcp_in, lost, \
             jitter_us, reported_lost, reported_jitter_us FROM cdr_media WHERE cdr_id IN ({}) ORDER BY cdr_id, role",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for cdr in cdrs.iter() {
            query = query.bind(cdr.id.as_str());
        }
        let mut media: HashMap<String, Vec<CdrMedia>> = HashMap::new();
        for row in &query.fetch_all(&self.pool).await? {
            let cdr_id: String = row.try_get("cdr_id")?;
            media.entry(cdr_id).or_default().push(media_from_row(row)?);
        }
        for cdr in cdrs {
            cdr.legs = legs.remove(cdr.id.as_str()).unwrap_or_default();
            cdr.media = media.remove(cdr.id.as_str()).unwrap_or_default();
        }
        Ok(())
    }
}

/// A bound value of a dynamic filter.
enum Param<'a> {
    Int(i64),
    Text(&'a str),
}

impl<'a> Param<'a> {
    fn bind(&self, query: Query<'a, Any, AnyArguments>) -> Query<'a, Any, AnyArguments> {
        match *self {
            Param::Int(value) => query.bind(value),
            Param::Text(value) => query.bind(value),
        }
    }
}

/// Rows per multi-row statement in [`Store::record_batch`]: a batch of thousands of records
/// costs a handful of statements rather than five per call, and the widest statement (CDRs,
/// 13 columns) stays far below SQLite's 32 766 and PostgreSQL's 65 535 bound parameters.
const ROWS_PER_STATEMENT: usize = 200;

/// `{head} VALUES ($1, …, $width), (…), …` for `rows` rows, then `tail`.
fn values_sql(head: &str, width: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * width * 5);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * width + c + 1).to_string());
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Several in-flight rows in one statement; any id already stored (or twice in `calls`)
/// fails it with [`StoreError::DuplicateCallStart`] naming the first call of `calls`
/// (the store writer then records them one by one, which names the right one).
async fn insert_in_flight_rows(
    conn: &mut AnyConnection,
    node: &str,
    calls: &[CallStart],
) -> Result<(), StoreError> {
    let Some(first) = calls.first() else {
        return Ok(());
    };
    let sql = values_sql(
        "INSERT INTO calls_in_flight (id, node, call_id, caller, callee, direction, started_at_ms)",
        7,
        calls.len(),
        " ON CONFLICT (id) DO NOTHING",
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for call in calls {
        query = query
            .bind(call.id.as_str())
            .bind(node)
            .bind(call.call_id.as_str())
            .bind(call.caller.as_str())
            .bind(call.callee.as_str())
            .bind(call.direction.as_deref())
            .bind(call.started_at_ms);
    }
    let done = query.execute(&mut *conn).await?;
    if done.rows_affected() != calls.len() as u64 {
        return Err(StoreError::DuplicateCallStart(first.id.clone()));
    }
    Ok(())
}

/// Several CDRs with their legs and media counters, and their in-flight rows deleted, in
/// a few statements; a CDR already stored (or twice in `cdrs`) fails it with
/// [`StoreError::DuplicateCdr`] naming the first CDR of `cdrs`.
async fn insert_cdr_rows(conn: &mut AnyConnection, cdrs: &[Cdr]) -> Result<(), StoreError> {
    let Some(first) = cdrs.first() else {
        return Ok(());
    };
    let sql = values_sql(
        "INSERT INTO cdrs (id, call_id, caller, callee, direction, started_at_ms, answered_at_ms, \
         ended_at_ms, duration_ms, billable_ms, sip_status, hangup_side, hangup_cause)",
        13,
        cdrs.len(),
        " ON CONFLICT (id) DO NOTHING",
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for cdr in cdrs {
        query = query
            .bind(cdr.id.as_str())
            .bind(cdr.call_id.as_str())
            .bind(cdr.caller.as_str())
            .bind(cdr.callee.as_str())
            .bind(cdr.direction.as_deref())
            .bind(cdr.started_at_ms)
            .bind(cdr.answered_at_ms)
            .bind(cdr.ended_at_ms)
            .bind(cdr.duration_ms)
            .bind(cdr.billable_ms)
            .bind(i64::from(cdr.sip_status))
            .bind(cdr.hangup_side.as_str())
            .bind(cdr.hangup_cause.as_str());
    }
    let done = query.execute(&mut *conn).await?;
    if done.rows_affected() != cdrs.len() as u64 {
        return Err(StoreError::DuplicateCdr(first.id.clone()));
    }
    let legs: Vec<(&Cdr, usize, &CdrLeg)> = cdrs
        .iter()
        .flat_map(|cdr| {
            cdr.legs
                .iter()
                .enumerate()
                .map(move |(i, leg)| (cdr, i, leg))
        })
        .collect();
    for chunk in legs.chunks(ROWS_PER_STATEMENT) {
        let sql = values_sql(
            "INSERT INTO cdr_legs (cdr_id, leg_index, role, peer, sip_call_id, remote_uri, \
             started_at_ms, answered_at_ms, ended_at_ms, final_status)",
            10,
            chunk.len(),
            "",
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (cdr, index, leg) in chunk {
            query = query
                .bind(cdr.id.as_str())
                .bind(*index as i64)
                .bind(leg.role.as_str())
                .bind(leg.peer.as_str())
                .bind(leg.sip_call_id.as_str())
                .bind(leg.remote_uri.as_str())
                .bind(leg.started_at_ms)
                .bind(leg.answered_at_ms)
                .bind(leg.ended_at_ms)
                .bind(leg.final_status.map(i64::from));
        }
        query.execute(&mut *conn).await?;
    }
    let media: Vec<(&Cdr, &CdrMedia)> = cdrs
        .iter()
        .flat_map(|cdr| cdr.media.iter().map(move |m| (cdr, m)))
        .collect();
    for chunk in media.chunks(ROWS_PER_STATEMENT) {
        let sql = values_sql(MEDIA_INSERT, MEDIA_WIDTH, chunk.len(), "");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (cdr, m) in chunk {
            query = bind_media(query, cdr, m);
        }
        query.execute(&mut *conn).await?;
    }
    let placeholders: Vec<String> = (1..=cdrs.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "DELETE FROM calls_in_flight WHERE id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for cdr in cdrs {
        query = query.bind(cdr.id.as_str());
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Inserts a CDR row and its legs inside the caller's transaction.
async fn insert_in_flight(
    conn: &mut AnyConnection,
    node: &str,
    call: &CallStart,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO calls_in_flight \
         (id, node, call_id, caller, callee, direction, started_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
    )
    .bind(call.id.as_str())
    .bind(node)
    .bind(call.call_id.as_str())
    .bind(call.caller.as_str())
    .bind(call.callee.as_str())
    .bind(call.direction.as_deref())
    .bind(call.started_at_ms)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::DuplicateCallStart(call.id.clone()));
    }
    Ok(())
}

async fn insert_cdr(conn: &mut AnyConnection, cdr: &Cdr) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO cdrs (id, call_id, caller, callee, direction, started_at_ms, answered_at_ms, \
         ended_at_ms, duration_ms, billable_ms, sip_status, hangup_side, hangup_cause) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(cdr.id.as_str())
    .bind(cdr.call_id.as_str())
    .bind(cdr.caller.as_str())
    .bind(cdr.callee.as_str())
    .bind(cdr.direction.as_deref())
    .bind(cdr.started_at_ms)
    .bind(cdr.answered_at_ms)
    .bind(cdr.ended_at_ms)
    .bind(cdr.duration_ms)
    .bind(cdr.billable_ms)
    .bind(i64::from(cdr.sip_status))
    .bind(cdr.hangup_side.as_str())
    .bind(cdr.hangup_cause.as_str())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::DuplicateCdr(cdr.id.clone()));
    }
    for (index, leg) in cdr.legs.iter().enumerate() {
        sqlx::query(
            "INSERT INTO cdr_legs (cdr_id, leg_index, role, peer, sip_call_id, remote_uri, \
             started_at_ms, answered_at_ms, ended_at_ms, final_status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(cdr.id.as_str())
        .bind(index as i64)
        .bind(leg.role.as_str())
        .bind(leg.peer.as_str())
        .bind(leg.sip_call_id.as_str())
        .bind(leg.remote_uri.as_str())
        .bind(leg.started_at_ms)
        .bind(leg.answered_at_ms)
        .bind(leg.ended_at_ms)
        .bind(leg.final_status.map(i64::from))
        .execute(&mut *conn)
        .await?;
    }
    if !cdr.media.is_empty() {
        let sql = values_sql(MEDIA_INSERT, MEDIA_WIDTH, cdr.media.len(), "");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for m in &cdr.media {
            query = bind_media(query, cdr, m);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

const MEDIA_INSERT: &str = "INSERT INTO cdr_media (cdr_id, role, packets_in, bytes_in, \
    packets_out, bytes_out, rtcp_in, lost, jitter_us, reported_lost, reported_jitter_us)";
const MEDIA_WIDTH: usize = 11;

fn bind_media<'q>(
    query: Query<'q, Any, AnyArguments>,
    cdr: &'q Cdr,
    m: &CdrMedia,
) -> Query<'q, Any, AnyArguments> {
    query
        .bind(cdr.id.as_str())
        .bind(m.role.as_str())
        .bind(m.packets_in as i64)
        .bind(m.bytes_in as i64)
        .bind(m.packets_out as i64)
        .bind(m.bytes_out as i64)
        .bind(m.rtcp_in as i64)
        .bind(m.lost as i64)
        .bind(m.jitter_us as i64)
        .bind(m.reported_lost.map(|n| n as i64))
        .bind(m.reported_jitter_us.map(|n| n as i64))
}

fn media_from_row(row: &AnyRow) -> Result<CdrMedia, StoreError> {
    let count = |column: &str| -> Result<u64, StoreError> {
        Ok(row.try_get::<i64, _>(column)?.max(0) as u64)
    };
    let role: String = row.try_get("role")?;
    Ok(CdrMedia {
        role: if role == "B" { LegRole::B } else { LegRole::A },
        packets_in: count("packets_in")?,
        bytes_in: count("bytes_in")?,
        packets_out: count("packets_out")?,
        bytes_out: count("bytes_out")?,
        rtcp_in: count("rtcp_in")?,
        lost: count("lost")?,
        jitter_us: count("jitter_us")?,
        reported_lost: row
            .try_get::<Option<i64>, _>("reported_lost")?
            .map(|n| n.max(0) as u64),
        reported_jitter_us: row
            .try_get::<Option<i64>, _>("reported_jitter_us")?
            .map(|n| n.max(0) as u64),
    })
}

fn cdr_from_row(row: &AnyRow) -> Result<Cdr, StoreError> {
    Ok(Cdr {
        id: row.try_get::<String, _>("id")?.into(),
        call_id: row.try_get("call_id")?,
        caller: row.try_get("caller")?,
        callee: row.try_get("callee")?,
        direction: row.try_get("direction")?,
        started_at_ms: row.try_get("started_at_ms")?,
        answered_at_ms: row.try_get("answered_at_ms")?,
        ended_at_ms: row.try_get("ended_at_ms")?,
        duration_ms: row.try_get("duration_ms")?,
        billable_ms: row.try_get("billable_ms")?,
        sip_status: status(row.try_get("sip_status")?, "cdrs.sip_status")?,
        hangup_side: HangupSide::from_stored(&row.try_get::<String, _>("hangup_side")?)?,
        hangup_cause: row.try_get("hangup_cause")?,
        legs: Vec::new(),
        media: Vec::new(),
    })
}

fn leg_from_row(row: &AnyRow) -> Result<CdrLeg, StoreError> {
    let final_status: Option<i64> = row.try_get("final_status")?;
    Ok(CdrLeg {
        role: LegRole::from_stored(&row.try_get::<String, _>("role")?)?,
        peer: row.try_get("peer")?,
        sip_call_id: row.try_get("sip_call_id")?,
        remote_uri: row.try_get("remote_uri")?,
        started_at_ms: row.try_get("started_at_ms")?,
        answered_at_ms: row.try_get("answered_at_ms")?,
        ended_at_ms: row.try_get("ended_at_ms")?,
        final_status: final_status
            .map(|s| status(s, "cdr_legs.final_status"))
            .transpose()?,
    })
}

/// A stored SIP status code back to `u16`.
fn status(value: i64, column: &'static str) -> Result<u16, StoreError> {
    u16::try_from(value).map_err(|_| StoreError::BadStoredValue {
        column,
        value: value.to_string(),
    })
}
