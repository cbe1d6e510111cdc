//! Bulk lead import: [`Store::import_leads`], one path per database.
//!
//! * SQLite: one prepared multi-row `INSERT … SELECT … FROM (VALUES …)` of
//!   [`STATEMENT_ROWS_SQLITE`] rows, reused for every full statement of the upload. Its
//!   parameters are anonymous `?`: sqlx-sqlite asks SQLite for each parameter's name,
//!   which for `$N` names walks the statement's whole parameter list (quadratic in the
//!   statement's size: 25 rows per statement was the most that paid with `$N`), while an
//!   anonymous parameter has no name to look up. Campaign, list and time are bound once per
//!   statement in a one-row CTE. Each transaction takes the store's write gate (the FIFO
//!   lock every SQLite write of this process queues at, see [`crate::store`]) and commits
//!   after [`TX_BUDGET_SQLITE`] (or [`TX_ROWS_SQLITE`] rows), so the database's single
//!   write lock is never held for long and a switch write (CDR, claim, attempt) that
//!   arrived meanwhile is next in line: it waits for at most one import transaction, never
//!   for a sleep in SQLite's busy handler. Durability settings are left alone
//!   (`synchronous=FULL` stays: every commit is fsynced).
//! * PostgreSQL: on its own connection, each transaction streams its rows with
//!   `COPY … FROM STDIN` (text format) into a temporary table, then moves them into
//!   `leads` with one `INSERT … SELECT … ON CONFLICT DO NOTHING` (COPY itself cannot skip
//!   rows that conflict).
//!
//! Either way, a number already in the campaign is not loaded twice: the unique index
//! `(campaign_id, phone)` skips it; when a transaction inserts fewer rows than it carried,
//! one range query on the (list-ordered) lead ids tells which went in, and the others come
//! back as duplicates. Lead ids are the list id followed by the row's `seq`, so a bulk load
//! appends to the primary key instead of scattering.

use std::collections::BTreeSet;
use std::fmt::Write;

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgConnection;
use sqlx::{Any, AssertSqlSafe, Connection};

use super::{lead_id, to_i64};
use crate::store::{Backend, CampaignId, ListId, NewLead, Store, StoreError};

/// Most rows per import transaction on SQLite.
pub const TX_ROWS_SQLITE: usize = 20_000;
/// An SQLite import transaction commits once it has held the write gate this long (checked
/// after each statement), whatever its row count: a switch write queued behind it waits
/// about this long plus one statement and the import's commit. Measured on 2026-11-24
/// (1 M rows, `benches/list_import.rs`): worst CDR wait 40–63 ms at 20 ms, 81–134 ms at
/// 50 ms, 137–214 ms at 100 ms, with no import-throughput difference above the shared
/// box's noise; more, shorter transactions cost an fsync each but keep the switch's wait
/// short.
pub const TX_BUDGET_SQLITE: std::time::Duration = std::time::Duration::from_millis(20);
/// Rows per import transaction on PostgreSQL (readers never wait on it; other writers
/// only on the same numbers).
pub const TX_ROWS_POSTGRES: usize = 50_000;
/// Rows per multi-row `INSERT` on SQLite (6 parameters each, plus 3).
pub const STATEMENT_ROWS_SQLITE: usize = 500;

const LEAD_INSERT_COLUMNS: &str = "campaign_id, list_id, next_at_ms, updated_at_ms, id, seq, \
     phone, tz, fields, priority, status, callback, attempts, busy_count, no_answer_count, \
     machine_count, congestion_count";

/// What [`Store::import_leads`] loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedLeads {
    /// Rows inserted.
    pub loaded: u64,
    /// `seq` of the rows not inserted because the campaign already had their number.
    pub duplicates: Vec<u64>,
}

/// The ids of `$chunk`'s rows now in `leads`, on executor `$conn` (one range query: ids
/// sort in list order). A macro because it runs on both an `Any` and a `Postgres`
/// connection.
macro_rules! present_ids {
    ($conn:expr, $list:expr, $chunk:expr) => {{
        let lo = $chunk.iter().map(|l| l.seq).min().unwrap_or(0);
        let hi = $chunk.iter().map(|l| l.seq).max().unwrap_or(0);
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM leads WHERE list_id = $1 AND id >= $2 AND id <= $3")
                .bind($list.as_str())
                .bind(lead_id($list, lo))
                .bind(lead_id($list, hi))
                .fetch_all($conn)
                .await?;
        ids.into_iter().collect::<BTreeSet<String>>()
    }};
}

/// Records the zones of `$chunk` for the campaign's claims (see `lead_repo`'s module
/// docs), on executor `$conn`.
macro_rules! record_zones {
    ($conn:expr, $campaign:expr, $chunk:expr) => {{
        let zones: BTreeSet<&str> = $chunk.iter().map(|l| l.tz.as_str()).collect();
        for tz in zones {
            sqlx::query(
                "INSERT INTO campaign_zones (campaign_id, tz) VALUES ($1, $2) \
                 ON CONFLICT (campaign_id, tz) DO NOTHING",
            )
            .bind($campaign.as_str())
            .bind(tz)
            .execute($conn)
            .await?;
        }
    }};
}

impl Store {
    /// Loads `rows` into `list` of `campaign`, ready from `now_ms`, in short transactions
    /// (each committed before the next starts; an error leaves the earlier ones loaded).
    /// Rows whose number the campaign already has (or that repeat an earlier row's number)
    /// are not loaded and come back in [`ImportedLeads::duplicates`], in row order.
    pub async fn import_leads(
        &self,
        campaign: &CampaignId,
        list: &ListId,
        rows: &[NewLead],
        now_ms: i64,
    ) -> Result<ImportedLeads, StoreError> {
        match self.backend {
            Backend::Sqlite => self.import_sqlite(campaign, list, rows, now_ms).await,
            Backend::Postgres => self.import_postgres(campaign, list, rows, now_ms).await,
        }
    }

    async fn import_sqlite(
        &self,
        campaign: &CampaignId,
        list: &ListId,
        rows: &[NewLead],
        now_ms: i64,
    ) -> Result<ImportedLeads, StoreError> {
        let mut imported = ImportedLeads::default();
        // The connection is kept from one transaction to the next (its page cache stays
        // warm) while no other writer waits at the gate; when one does, it goes back to the
        // pool before queueing (with one pooled connection, the writer ahead needs it).
        let mut held: Option<PoolConnection<Any>> = None;
        let mut rest = rows;
        while !rest.is_empty() {
            let gate = match self.gate.try_lock() {
                Ok(gate) => gate,
                Err(_) => {
                    if let Some(conn) = held.take() {
                        release(conn).await?;
                    }
                    self.gate.lock().await
                }
            };
            let conn = match &mut held {
                Some(conn) => conn,
                None => {
                    let mut conn = self.pool.acquire().await?;
                    // Keep the indexes being appended to in memory (64 MiB instead of
                    // SQLite's 2 MiB default; reset when the connection goes back).
                    sqlx::query("PRAGMA cache_size = -65536")
                        .execute(&mut *conn)
                        .await?;
                    held.insert(conn)
                }
            };
            let started = std::time::Instant::now();
            let mut tx = Connection::begin(&mut **conn).await?;
            let mut inserted = 0;
            let mut taken = 0;
            for statement in rest.chunks(STATEMENT_ROWS_SQLITE) {
                if taken >= TX_ROWS_SQLITE || started.elapsed() >= TX_BUDGET_SQLITE {
                    break;
                }
                taken += statement.len();
                let mut query = sqlx::query(AssertSqlSafe(insert_sqlite_sql(statement.len())))
                    .bind(campaign.as_str())
                    .bind(list.as_str())
                    .bind(now_ms);
                for lead in statement {
                    query = query
                        .bind(lead_id(list, lead.seq))
                        .bind(to_i64(lead.seq))
                        .bind(lead.phone.as_str())
                        .bind(lead.tz.as_str())
                        .bind(lead.fields.to_string())
                        .bind(i64::from(lead.priority));
                }
                inserted += query.execute(&mut *tx).await?.rows_affected();
            }
            let (chunk, tail) = rest.split_at(taken);
            rest = tail;
            imported.loaded += inserted;
            if inserted < chunk.len() as u64 {
                let present = present_ids!(&mut *tx, list, chunk);
                imported.duplicates.extend(absent(list, chunk, &present));
            }
            record_zones!(&mut *tx, campaign, chunk);
            tx.commit().await?;
            drop(gate);
        }
        if let Some(conn) = held {
            release(conn).await?;
        }
        Ok(imported)
    }

    async fn import_postgres(
        &self,
        campaign: &CampaignId,
        list: &ListId,
        rows: &[NewLead],
        now_ms: i64,
    ) -> Result<ImportedLeads, StoreError> {
        let mut imported = ImportedLeads::default();
        if rows.is_empty() {
            return Ok(imported);
        }
        let url = self.pool.connect_options().database_url.clone();
        let mut conn = PgConnection::connect(url.as_str()).await?;
        sqlx::query(
            "CREATE TEMPORARY TABLE lead_import (id TEXT NOT NULL, seq BIGINT NOT NULL, \
             phone TEXT NOT NULL, tz TEXT NOT NULL, fields TEXT NOT NULL, \
             priority BIGINT NOT NULL) ON COMMIT DELETE ROWS",
        )
        .execute(&mut conn)
        .await?;
        let move_rows = format!(
            "INSERT INTO leads ({LEAD_INSERT_COLUMNS}) SELECT $1, $2, $3, $3, id, seq, phone, \
             tz, fields, priority, 'ready', 0, 0, 0, 0, 0, 0 FROM lead_import ORDER BY seq \
             ON CONFLICT (campaign_id, phone) DO NOTHING"
        );
        let mut buf = String::new();
        for chunk in rows.chunks(TX_ROWS_POSTGRES) {
            let mut tx = conn.begin().await?;
            buf.clear();
            for lead in chunk {
                copy_text_row(&mut buf, list, lead);
            }
            let mut copy = tx
                .copy_in_raw("COPY lead_import (id, seq, phone, tz, fields, priority) FROM STDIN")
                .await?;
            if let Err(e) = copy.send(buf.as_bytes()).await {
                let _ = copy.abort("lead import failed").await;
                return Err(e.into());
            }
            copy.finish().await?;
            let inserted = sqlx::query(AssertSqlSafe(move_rows.as_str()))
                .bind(campaign.as_str())
                .bind(list.as_str())
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            imported.loaded += inserted;
            if inserted < chunk.len() as u64 {
                let present = present_ids!(&mut *tx, list, chunk);
                imported.duplicates.extend(absent(list, chunk, &present));
            }
            record_zones!(&mut *tx, campaign, chunk);
            tx.commit().await?;
        }
        conn.close().await?;
        Ok(imported)
    }
}

/// Gives an import's connection back to the pool with SQLite's default page cache.
async fn release(mut conn: PoolConnection<Any>) -> Result<(), StoreError> {
    sqlx::query("PRAGMA cache_size = -2000")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `seq` of the rows of `chunk` whose id is not in `present`, in row order.
fn absent<'a>(
    list: &'a ListId,
    chunk: &'a [NewLead],
    present: &'a BTreeSet<String>,
) -> impl Iterator<Item = u64> + 'a {
    chunk
        .iter()
        .filter(move |l| !present.contains(&lead_id(list, l.seq)))
        .map(|l| l.seq)
}

/// The SQLite statement for `rows` leads: campaign, list and time, then six parameters
/// per row, all anonymous. Rows whose number the campaign has are skipped.
fn insert_sqlite_sql(rows: usize) -> String {
    let mut sql = String::with_capacity(400 + rows * 16);
    sql.push_str("WITH c (campaign_id, list_id, now) AS (VALUES (?, ?, ?)) INSERT INTO leads (");
    sql.push_str(LEAD_INSERT_COLUMNS);
    sql.push_str(
        ") SELECT c.campaign_id, c.list_id, c.now, c.now, v.column1, v.column2, v.column3, \
         v.column4, v.column5, v.column6, 'ready', 0, 0, 0, 0, 0, 0 FROM c, (VALUES ",
    );
    for n in 0..rows {
        if n > 0 {
            sql.push(',');
        }
        sql.push_str("(?, ?, ?, ?, ?, ?)");
    }
    // `WHERE true` keeps SQLite from reading ON CONFLICT as a join constraint.
    sql.push_str(") AS v WHERE true ON CONFLICT (campaign_id, phone) DO NOTHING");
    sql
}

/// One row of `COPY … FROM STDIN` text format: tab-separated, backslash escapes.
fn copy_text_row(buf: &mut String, list: &ListId, lead: &NewLead) {
    let _ = write!(buf, "{}-{:012}\t{}\t", list.as_str(), lead.seq, lead.seq);
    copy_text_field(buf, &lead.phone);
    buf.push('\t');
    copy_text_field(buf, &lead.tz);
    buf.push('\t');
    copy_text_field(buf, &lead.fields.to_string());
    let _ = writeln!(buf, "\t{}", lead.priority);
}

fn copy_text_field(buf: &mut String, value: &str) {
    for ch in value.chars() {
        match ch {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_escape_what_the_text_format_reserves() {
        let lead = NewLead {
            seq: 7,
            phone: "+14155552671".into(),
            tz: "America/Los_Angeles".into(),
            fields: serde_json::json!({"note": "a\tb\nc\\d"}),
            priority: -2,
        };
        let mut buf = String::new();
        copy_text_row(&mut buf, &ListId("L1".into()), &lead);
        assert_eq!(
            buf,
            "L1-000000000007\t7\t+14155552671\tAmerica/Los_Angeles\t\
             {\"note\":\"a\\\\tb\\\\nc\\\\\\\\d\"}\t-2\n"
        );
        assert_eq!(lead_id(&ListId("L1".into()), 7), "L1-000000000007");
    }

    #[test]
    fn sqlite_statement_has_anonymous_parameters_only() {
        let sql = insert_sqlite_sql(3);
        assert_eq!(sql.matches('?').count(), 3 + 3 * 6);
        assert!(!sql.contains('$'));
    }
}
