//! Lead persistence, the durable hopper: bulk import, atomic claims, attempts and
//! dispositions committed when they happen, and recovery of a node's claims at restart.
//!
//! # Import
//! [`Store::import_leads`] (in [`import`]): short transactions of multi-row inserts on
//! SQLite, `COPY` into a temporary table on PostgreSQL; numbers the campaign already has
//! are skipped and reported as duplicates.
//!
//! # Claims
//! [`Store::claim_leads`] hands out due leads in hopper order (due callbacks first, then
//! priority, due time and list order) in ONE statement, `WITH picked AS MATERIALIZED
//! (SELECT … LIMIT n) UPDATE … WHERE id IN (SELECT id FROM picked) RETURNING …`. The CTE is
//! materialised so the limit applies once: PostgreSQL may otherwise re-run an `IN
//! (SELECT … LIMIT n)` subquery per row and, with SKIP LOCKED, hand out more than `n` leads
//! (seen in `tests/campaign_store.rs`). On PostgreSQL the select takes `FOR UPDATE SKIP LOCKED`,
//! so concurrent claimers (other tasks, other nodes) pass over each other's rows instead of
//! waiting or double-claiming; on SQLite the statement is a write transaction from its
//! start (the database's single writer lock serialises claimers; one statement needs no
//! explicit `BEGIN IMMEDIATE`). Excluded in SQL: leads not ready, not yet due, out of
//! attempts (callbacks excepted: an agent asked for them), on the global or the campaign's
//! do-not-call list, or whose time zone is outside the calling window now.
//!
//! The window is precomputed rather than filtered after claiming: a campaign's leads span a
//! handful of time zones (recorded per campaign at import in `campaign_zones`), so the claim
//! evaluates the window once per zone with `chrono-tz` and passes the open zones to the
//! query as `tz IN (…)`. Nothing is claimed only to be released again, no extra writes, and
//! a claim never comes back short because the first candidates were out of their window.

mod import;

use chrono_tz::Tz;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

pub use import::ImportedLeads;
#[cfg(test)]
pub(crate) use import::TX_ROWS_SQLITE;

use super::dnc_repo::insert_dnc;
use super::{
    Attempt, AttemptOutcome, AttemptRecord, Backend, CampaignId, CampaignState, Disposition, Lead,
    LeadCounts, LeadId, LeadNext, LeadStatus, ListId, OutcomeCounts, ReleasedClaims, Store,
    StoreError,
};

const LEAD_COLUMNS: &str = "id, campaign_id, list_id, seq, phone, tz, fields, priority, status, \
     callback, next_at_ms, attempts, busy_count, no_answer_count, machine_count, \
     congestion_count, last_outcome, claimed_by";

/// A stored list and what became of its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRecord {
    pub id: ListId,
    pub campaign: CampaignId,
    pub name: String,
    pub imported_at_ms: i64,
    pub rows_loaded: u64,
    pub rows_rejected: u64,
    pub rows_duplicate: u64,
}

impl Store {
    /// Registers a list (one upload) for `campaign`; its rows follow with
    /// [`Store::import_leads`] and its totals with [`Store::finish_list`].
    pub async fn create_list(
        &self,
        campaign: &CampaignId,
        name: &str,
        now_ms: i64,
    ) -> Result<ListId, StoreError> {
        let id = ListId::generate(now_ms);
        let _gate = self.write_gate().await;
        sqlx::query(
            "INSERT INTO lead_lists (id, campaign_id, name, imported_at_ms, rows_loaded, \
             rows_rejected, rows_duplicate) VALUES ($1, $2, $3, $4, 0, 0, 0)",
        )
        .bind(id.as_str())
        .bind(campaign.as_str())
        .bind(name)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Records a list's totals once its upload is over.
    pub async fn finish_list(
        &self,
        list: &ListId,
        loaded: u64,
        rejected: u64,
        duplicate: u64,
    ) -> Result<(), StoreError> {
        let _gate = self.write_gate().await;
        sqlx::query(
            "UPDATE lead_lists SET rows_loaded = $2, rows_rejected = $3, rows_duplicate = $4 \
             WHERE id = $1",
        )
        .bind(list.as_str())
        .bind(to_i64(loaded))
        .bind(to_i64(rejected))
        .bind(to_i64(duplicate))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The list with this id.
    pub async fn lead_list(&self, list: &ListId) -> Result<Option<ListRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, campaign_id, name, imported_at_ms, rows_loaded, rows_rejected, \
             rows_duplicate FROM lead_lists WHERE id = $1",
        )
        .bind(list.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ListRecord {
            id: ListId(row.try_get("id")?),
            campaign: CampaignId::from(row.try_get::<String, _>("campaign_id")?.as_str()),
            name: row.try_get("name")?,
            imported_at_ms: row.try_get("imported_at_ms")?,
            rows_loaded: to_u64(row.try_get("rows_loaded")?),
            rows_rejected: to_u64(row.try_get("rows_rejected")?),
            rows_duplicate: to_u64(row.try_get("rows_duplicate")?),
        }))
    }

    /// Claims up to `n` leads of a running campaign for this node ([`Store::with_node`]),
    /// atomically: no other claimer, task or node, gets any of them until they are
    /// recorded or released. Returned in hopper order. See the module docs for what is
    /// excluded. Empty when the campaign is unknown or not running.
    pub async fn claim_leads(
        &self,
        campaign: &CampaignId,
        now_ms: i64,
        n: u32,
    ) -> Result<Vec<Lead>, StoreError> {
        let Some(record) = self.campaign(campaign).await? else {
            return Ok(Vec::new());
        };
        if record.state != CampaignState::Running || n == 0 {
            return Ok(Vec::new());
        }
        let zones: Vec<String> =
            sqlx::query_scalar("SELECT tz FROM campaign_zones WHERE campaign_id = $1")
                .bind(campaign.as_str())
                .fetch_all(&self.pool)
                .await?;
        let open: Vec<String> = zones
            .into_iter()
            .filter(|name| match name.parse::<Tz>() {
                Ok(tz) => record.window.is_open(tz, now_ms),
                Err(_) => {
                    tracing::warn!(tz = %name, %campaign, "leads with an unknown time zone are never claimed");
                    false
                }
            })
            .collect();
        if open.is_empty() {
            return Ok(Vec::new());
        }
        let zone_params: Vec<String> = (0..open.len()).map(|i| format!("${}", i + 6)).collect();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "WITH picked AS MATERIALIZED (\
               SELECT l.id FROM leads l \
               WHERE l.campaign_id = $1 AND l.status = 'ready' AND l.next_at_ms <= $3 \
                 AND (l.callback = 1 OR l.attempts < $4) \
                 AND l.tz IN ({zones}) \
                 AND NOT EXISTS (SELECT 1 FROM dnc d \
                   WHERE d.number = l.phone AND (d.scope = '' OR d.scope = $1)) \
                 AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = $1 AND c.state = 'running') \
               ORDER BY l.callback DESC, l.priority DESC, l.next_at_ms, l.seq \
               LIMIT $5{lock}) \
             UPDATE leads SET status = 'claimed', claimed_by = $2, claimed_at_ms = $3, \
               updated_at_ms = $3 \
             WHERE status = 'ready' AND id IN (SELECT id FROM picked) \
             RETURNING {LEAD_COLUMNS}",
            zones = zone_params.join(", "),
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(campaign.as_str())
            .bind(&*self.node)
            .bind(now_ms)
            .bind(i64::from(record.max_attempts))
            .bind(i64::from(n));
        for tz in &open {
            query = query.bind(tz.as_str());
        }
        let rows = {
            let _gate = self.write_gate().await;
            query.fetch_all(&self.pool).await?
        };
        let mut leads = rows
            .iter()
            .map(lead_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        leads.sort_by(|a, b| {
            (b.callback, b.priority, a.next_at_ms, a.seq).cmp(&(
                a.callback,
                a.priority,
                b.next_at_ms,
                b.seq,
            ))
        });
        Ok(leads)
    }

    /// Gives leads this node claimed back to the hopper, untouched: never dialled, or
    /// marked dialling but refused by the switch before any INVITE went out.
    /// Returns how many it gave back.
    pub async fn unclaim_leads(&self, leads: &[LeadId], now_ms: i64) -> Result<u64, StoreError> {
        let mut tx = self.write().await?;
        let mut returned = 0;
        for lead in leads {
            returned += sqlx::query(
                "UPDATE leads SET status = 'ready', claimed_by = NULL, claimed_at_ms = NULL, \
                 updated_at_ms = $3 WHERE id = $1 AND status IN ('claimed', 'dialing') \
                 AND claimed_by = $2",
            )
            .bind(lead.as_str())
            .bind(&*self.node)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(returned)
    }

    /// Marks a lead this node claimed as being dialled (the INVITE is about to go out).
    /// Returns false when this node does not hold the claim.
    pub async fn mark_dialing(&self, lead: &LeadId, now_ms: i64) -> Result<bool, StoreError> {
        let _gate = self.write_gate().await;
        let done = sqlx::query(
            "UPDATE leads SET status = 'dialing', updated_at_ms = $3 \
             WHERE id = $1 AND status = 'claimed' AND claimed_by = $2",
        )
        .bind(lead.as_str())
        .bind(&*self.node)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records an attempt and moves the lead to `next`, in one transaction committed before
    /// this returns: attempts + 1, the outcome's counter + 1, the claim dropped, and for
    /// [`LeadNext::DoNotCall`] the number added to the do-not-call list. Returns false (and
    /// records nothing) when the lead does not exist.
    pub async fn record_attempt(
        &self,
        lead: &LeadId,
        attempt: &Attempt,
        next: LeadNext,
    ) -> Result<bool, StoreError> {
        let counter = attempt
            .outcome
            .counter_column()
            .map(|c| format!(", {c} = {c} + 1"))
            .unwrap_or_default();
        let update = format!(
            "UPDATE leads SET attempts = attempts + 1{counter}, last_outcome = $2, \
             status = COALESCE($3, status), callback = COALESCE($4, callback), \
             next_at_ms = COALESCE($5, next_at_ms), \
             claimed_by = NULL, claimed_at_ms = NULL, updated_at_ms = $6 \
             WHERE id = $1 RETURNING campaign_id, phone"
        );
        let (status, callback, at) = next_columns(next);
        let mut tx = self.write().await?;
        let row = sqlx::query(AssertSqlSafe(update))
            .bind(lead.as_str())
            .bind(attempt.outcome.as_str())
            .bind(status)
            .bind(callback)
            .bind(at)
            .bind(attempt.ended_at_ms)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let campaign: String = row.try_get("campaign_id")?;
        let phone: String = row.try_get("phone")?;
        insert_attempt(&mut tx, lead, &campaign, &self.node, attempt).await?;
        if let LeadNext::DoNotCall { global } = next {
            let scope = if global { "" } else { campaign.as_str() };
            insert_dnc(&mut tx, scope, &[phone], "disposition", attempt.ended_at_ms).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Records an agent's disposition and moves the lead to `next` (callback, done, do not
    /// call), in one transaction committed before this returns. Returns false (and records
    /// nothing) when the lead does not exist.
    pub async fn record_disposition(
        &self,
        lead: &LeadId,
        disposition: &Disposition,
        next: LeadNext,
    ) -> Result<bool, StoreError> {
        let (status, callback, at) = next_columns(next);
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "UPDATE leads SET status = COALESCE($2, status), callback = COALESCE($3, callback), \
             next_at_ms = COALESCE($4, next_at_ms), \
             claimed_by = NULL, claimed_at_ms = NULL, updated_at_ms = $5 \
             WHERE id = $1 RETURNING campaign_id, phone",
        )
        .bind(lead.as_str())
        .bind(status)
        .bind(callback)
        .bind(at)
        .bind(disposition.at_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let campaign: String = row.try_get("campaign_id")?;
        let phone: String = row.try_get("phone")?;
        sqlx::query(
            "INSERT INTO dispositions (id, lead_id, campaign_id, agent, code, note, \
             callback_at_ms, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(LeadId::generate(disposition.at_ms).0)
        .bind(lead.as_str())
        .bind(campaign.as_str())
        .bind(disposition.agent.as_str())
        .bind(disposition.code.as_str())
        .bind(disposition.note.as_str())
        .bind(disposition.callback_at_ms)
        .bind(disposition.at_ms)
        .execute(&mut *tx)
        .await?;
        if let LeadNext::DoNotCall { global } = next {
            let scope = if global { "" } else { campaign.as_str() };
            insert_dnc(&mut tx, scope, &[phone], "disposition", disposition.at_ms).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// At startup, before dialling: gives back every lead this node held. Claimed leads go
    /// back to ready untouched; leads being dialled when the node stopped get an
    /// `interrupted` attempt (ended at `now_ms`) and go back to ready, due at once.
    pub async fn release_claims(&self, now_ms: i64) -> Result<ReleasedClaims, StoreError> {
        let mut tx = self.write().await?;
        let returned = sqlx::query(
            "UPDATE leads SET status = 'ready', claimed_by = NULL, claimed_at_ms = NULL, \
             updated_at_ms = $2 WHERE claimed_by = $1 AND status = 'claimed'",
        )
        .bind(&*self.node)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let dialing = sqlx::query(
            "UPDATE leads SET status = 'ready', attempts = attempts + 1, \
             last_outcome = 'interrupted', next_at_ms = $2, claimed_by = NULL, \
             claimed_at_ms = NULL, updated_at_ms = $2 \
             WHERE claimed_by = $1 AND status = 'dialing' RETURNING id, campaign_id, claimed_at_ms",
        )
        .bind(&*self.node)
        .bind(now_ms)
        .fetch_all(&mut *tx)
        .await?;
        for row in &dialing {
            let lead = LeadId(row.try_get("id")?);
            let campaign: String = row.try_get("campaign_id")?;
            let started: Option<i64> = row.try_get("claimed_at_ms")?;
            let attempt = Attempt {
                call_id: None,
                outcome: AttemptOutcome::Interrupted,
                sip_status: None,
                started_at_ms: started.unwrap_or(now_ms),
                answered_at_ms: None,
                ended_at_ms: now_ms,
            };
            insert_attempt(&mut tx, &lead, &campaign, &self.node, &attempt).await?;
        }
        tx.commit().await?;
        Ok(ReleasedClaims {
            returned,
            interrupted: dialing.len() as u64,
        })
    }

    /// The lead with this id.
    pub async fn lead(&self, lead: &LeadId) -> Result<Option<Lead>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LEAD_COLUMNS} FROM leads WHERE id = $1"
        )))
        .bind(lead.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(lead_from_row).transpose()
    }

    /// The campaign's lead with this number.
    pub async fn lead_by_phone(
        &self,
        campaign: &CampaignId,
        phone: &str,
    ) -> Result<Option<Lead>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {LEAD_COLUMNS} FROM leads WHERE campaign_id = $1 AND phone = $2"
        )))
        .bind(campaign.as_str())
        .bind(phone)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(lead_from_row).transpose()
    }

    /// A lead's attempts, oldest first.
    pub async fn lead_attempts(&self, lead: &LeadId) -> Result<Vec<AttemptRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT node, call_id, outcome, sip_status, started_at_ms, answered_at_ms, \
             ended_at_ms FROM attempts WHERE lead_id = $1 ORDER BY started_at_ms, id",
        )
        .bind(lead.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let status: Option<i64> = row.try_get("sip_status")?;
                Ok(AttemptRecord {
                    node: row.try_get("node")?,
                    attempt: Attempt {
                        call_id: row.try_get("call_id")?,
                        outcome: AttemptOutcome::from_stored(
                            &row.try_get::<String, _>("outcome")?,
                        )?,
                        sip_status: status
                            .map(|s| {
                                u16::try_from(s).map_err(|_| StoreError::BadStoredValue {
                                    column: "attempts.sip_status",
                                    value: s.to_string(),
                                })
                            })
                            .transpose()?,
                        started_at_ms: row.try_get("started_at_ms")?,
                        answered_at_ms: row.try_get("answered_at_ms")?,
                        ended_at_ms: row.try_get("ended_at_ms")?,
                    },
                })
            })
            .collect()
    }

    /// A lead's dispositions, oldest first.
    pub async fn lead_dispositions(&self, lead: &LeadId) -> Result<Vec<Disposition>, StoreError> {
        let rows = sqlx::query(
            "SELECT agent, code, note, callback_at_ms, at_ms FROM dispositions \
             WHERE lead_id = $1 ORDER BY at_ms, id",
        )
        .bind(lead.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Disposition {
                    agent: row.try_get("agent")?,
                    code: row.try_get("code")?,
                    note: row.try_get("note")?,
                    callback_at_ms: row.try_get("callback_at_ms")?,
                    at_ms: row.try_get("at_ms")?,
                })
            })
            .collect()
    }

    /// How many of the campaign's leads are in each status.
    pub async fn lead_counts(&self, campaign: &CampaignId) -> Result<LeadCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM leads WHERE campaign_id = $1 GROUP BY status",
        )
        .bind(campaign.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut counts = LeadCounts::default();
        for row in &rows {
            let n = to_u64(row.try_get("n")?);
            match LeadStatus::from_stored(&row.try_get::<String, _>("status")?)? {
                LeadStatus::Ready => counts.ready = n,
                LeadStatus::Claimed => counts.claimed = n,
                LeadStatus::Dialing => counts.dialing = n,
                LeadStatus::Done => counts.done = n,
                LeadStatus::Dnc => counts.dnc = n,
            }
        }
        Ok(counts)
    }
}

/// A lead's id: its list's id then its `seq`, zero-padded so ids sort in list order.
fn lead_id(list: &ListId, seq: u64) -> String {
    format!("{}-{seq:012}", list.as_str())
}

/// `(status, callback flag, next_at_ms or NULL to keep it)` for a [`LeadNext`].
/// The status, callback flag and due time `next` writes (`None`: left as they are).
fn next_columns(next: LeadNext) -> (Option<&'static str>, Option<i64>, Option<i64>) {
    let (status, callback, at) = match next {
        LeadNext::Retry { at_ms } => (LeadStatus::Ready, 0, Some(at_ms)),
        LeadNext::Callback { at_ms } => (LeadStatus::Ready, 1, Some(at_ms)),
        LeadNext::Done => (LeadStatus::Done, 0, None),
        LeadNext::DoNotCall { .. } => (LeadStatus::Dnc, 0, None),
        LeadNext::Unchanged => return (None, None, None),
    };
    (Some(status.as_str()), Some(callback), at)
}

async fn insert_attempt(
    conn: &mut sqlx::AnyConnection,
    lead: &LeadId,
    campaign: &str,
    node: &str,
    attempt: &Attempt,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO attempts (id, lead_id, campaign_id, node, call_id, outcome, sip_status, \
         started_at_ms, answered_at_ms, ended_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(LeadId::generate(attempt.started_at_ms).0)
    .bind(lead.as_str())
    .bind(campaign)
    .bind(node)
    .bind(attempt.call_id.as_deref())
    .bind(attempt.outcome.as_str())
    .bind(attempt.sip_status.map(i64::from))
    .bind(attempt.started_at_ms)
    .bind(attempt.answered_at_ms)
    .bind(attempt.ended_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn lead_from_row(row: &AnyRow) -> Result<Lead, StoreError> {
    let fields: String = row.try_get("fields")?;
    let priority: i64 = row.try_get("priority")?;
    let last_outcome: Option<String> = row.try_get("last_outcome")?;
    let count = |column: &str| -> Result<u32, StoreError> {
        Ok(u32::try_from(row.try_get::<i64, _>(column)?).unwrap_or(u32::MAX))
    };
    Ok(Lead {
        id: LeadId(row.try_get("id")?),
        campaign: CampaignId::from(row.try_get::<String, _>("campaign_id")?.as_str()),
        list: ListId(row.try_get("list_id")?),
        seq: to_u64(row.try_get("seq")?),
        phone: row.try_get("phone")?,
        tz: row.try_get("tz")?,
        fields: serde_json::from_str(&fields).map_err(|_| StoreError::BadStoredValue {
            column: "leads.fields",
            value: fields.clone(),
        })?,
        priority: i32::try_from(priority).map_err(|_| StoreError::BadStoredValue {
            column: "leads.priority",
            value: priority.to_string(),
        })?,
        status: LeadStatus::from_stored(&row.try_get::<String, _>("status")?)?,
        callback: row.try_get::<i64, _>("callback")? != 0,
        next_at_ms: row.try_get("next_at_ms")?,
        attempts: count("attempts")?,
        counts: OutcomeCounts {
            busy: count("busy_count")?,
            no_answer: count("no_answer_count")?,
            machine: count("machine_count")?,
            congestion: count("congestion_count")?,
        },
        last_outcome: last_outcome
            .as_deref()
            .map(AttemptOutcome::from_stored)
            .transpose()?,
        claimed_by: row.try_get("claimed_by")?,
    })
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
