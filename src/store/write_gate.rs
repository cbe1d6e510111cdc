//! The write gate: this process's SQLite writers queue in one fair FIFO lock instead of in
//! SQLite's busy handler.
//!
//! SQLite has one write lock per file. A writer that finds it taken sleeps in SQLite's busy
//! handler (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms, then 100 ms each) and tries
//! again: no queue, no order. During a lead import (short transactions back to back, see
//! `lead_repo/import.rs`) such a writer kept waking up while the import held the lock
//! again: on 2026-11-24 a CDR write every 20 ms during a 1 M-row import waited up to
//! 1,144 ms (`cargo bench --bench list_import -- --bench`, `cdr_write_worst_ms`), and on a
//! loaded box writers failed with "database is locked" once the 5 s `busy_timeout` ran
//! out: lost lead claims, call starts and CDRs.
//!
//! So every write of the store (transaction or single statement) first takes the gate, a
//! `tokio::sync::Mutex<()>` (fair: waiters are served in arrival order) shared by every
//! clone of the [`Store`], and holds it until its commit:
//! * [`Store::write`] begins a transaction that holds the gate until commit or rollback;
//!   [`Store::write_gate`] is the gate alone, for a single statement.
//! * The gate is taken *before* a pooled connection: a writer waiting at the gate holds no
//!   connection, so readers, and the writer whose turn it is, always find one.
//! * Reads never take it (WAL readers are never blocked by the writer).
//! * It is not reentrant: a method holding it must not call another writing method of the
//!   store (they take their own connection: pass the transaction's connection instead).
//! * On PostgreSQL the gate is open: the server queues writers by row lock, fairly.
//! * Other processes on the same file (a second switch, the CLI) do not see it, nor does
//!   a second `Store::open` of the same file in this process (the switch opens one):
//!   `busy_timeout` stays as the fallback between them.

use sqlx::{Any, AnyConnection, Transaction};
use tokio::sync::MutexGuard;

use super::{Backend, Store, StoreError};

/// This process's turn at writing to SQLite; the turn passes to the next writer in line
/// when it is dropped. Holds nothing on PostgreSQL.
#[derive(Debug)]
pub(crate) struct WriteGate<'a> {
    _turn: Option<MutexGuard<'a, ()>>,
}

/// A write transaction that holds the write gate until it commits or rolls back. Derefs to
/// its connection, as sqlx's `Transaction` does.
#[derive(Debug)]
pub(crate) struct WriteTx<'a> {
    // Field order is drop order: a transaction dropped without commit queues its rollback
    // before the gate passes on.
    tx: Transaction<'static, Any>,
    _gate: WriteGate<'a>,
}

impl WriteTx<'_> {
    /// Commits, then lets the next writer in.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Rolls back, then lets the next writer in. Dropping a `WriteTx` also rolls back, but
    /// sqlx does that in the background, after the gate has passed on: the next writer
    /// could find SQLite's lock still taken for a moment. Early returns roll back
    /// explicitly; errors (`?`) rely on the drop.
    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        self.tx.rollback().await?;
        Ok(())
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

impl Store {
    /// Waits for this process's turn at writing (in arrival order; at once on PostgreSQL).
    /// For one write statement: hold the returned gate until the statement has run.
    pub(crate) async fn write_gate(&self) -> WriteGate<'_> {
        let turn = match self.backend {
            Backend::Sqlite => Some(self.gate.lock().await),
            Backend::Postgres => None,
        };
        WriteGate { _turn: turn }
    }

    /// Begins a write transaction once it is this process's turn at writing (the gate
    /// first, then a connection); the turn passes on at commit or rollback.
    pub(crate) async fn write(&self) -> Result<WriteTx<'_>, StoreError> {
        let gate = self.write_gate().await;
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _gate: gate })
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;
    use crate::store::lead_repo::TX_ROWS_SQLITE;
    use crate::store::{CallRecordId, CallStart, CampaignState, NewCampaign, NewLead};

    async fn file_store(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        Store::open(&url).await.expect("open")
    }

    fn call(n: u128) -> CallStart {
        CallStart {
            id: CallRecordId::from_parts(0, n),
            call_id: format!("call-{n}"),
            caller: "a".into(),
            callee: "b".into(),
            direction: None,
            started_at_ms: 0,
        }
    }

    /// Lets every spawned task run until it waits (this runtime has one thread).
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn queued_writers_commit_in_arrival_order_and_hold_no_connection() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = file_store(&dir).await;
        let turn = store.write_gate().await;
        // Twice as many writers as pooled connections wait at the gate.
        let writers = 2 * super::super::SQLITE_MAX_CONNECTIONS as u128;
        let mut tasks = Vec::new();
        for n in 0..writers {
            let store = store.clone();
            tasks.push(tokio::spawn(
                async move { store.call_started(&call(n)).await },
            ));
            settle().await;
        }
        // Nothing written while the gate is held, and a read still gets a connection
        // (writers queued at the gate hold none; else this waits for the pool's timeout).
        let written: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls_in_flight")
            .fetch_one(&store.pool)
            .await
            .expect("read beside queued writers");
        assert_eq!(written, 0);
        drop(turn);
        for task in tasks {
            task.await.expect("task").expect("call_started");
        }
        let order: Vec<String> =
            sqlx::query_scalar("SELECT call_id FROM calls_in_flight ORDER BY rowid")
                .fetch_all(&store.pool)
                .await
                .expect("read");
        let expected: Vec<String> = (0..writers).map(|n| format!("call-{n}")).collect();
        assert_eq!(order, expected);
    }

    #[tokio::test]
    async fn a_writer_queued_behind_an_import_goes_after_one_import_transaction() {
        let dir = tempfile::tempdir().expect("temp dir");
        writer_behind_import(file_store(&dir).await).await;
    }

    #[tokio::test]
    async fn an_import_gives_its_connection_back_before_queueing() {
        // One pooled connection: the writer whose turn it is needs the import's. Were the
        // import to keep it while queueing, the writer would fail on the pool's timeout.
        writer_behind_import(Store::open("sqlite::memory:").await.expect("open")).await;
    }

    /// An import and then a writer queue at a held gate; the writer must see the import's
    /// first transaction, and only that.
    async fn writer_behind_import(store: Store) {
        let campaign = NewCampaign {
            name: "c".into(),
            state: CampaignState::Draft,
            max_attempts: 3,
            window: Default::default(),
            settings: serde_json::json!({}),
        };
        let campaign = store.create_campaign(&campaign, 0).await.expect("campaign");
        let list = store.create_list(&campaign, "l", 0).await.expect("list");
        // At least three transactions' worth, whatever the time budget.
        let rows: Vec<NewLead> = (0..2 * TX_ROWS_SQLITE as u64 + 1_000)
            .map(|i| NewLead {
                seq: i + 1,
                phone: format!("+1{}", 2_000_000_000 + i),
                tz: "America/New_York".into(),
                fields: serde_json::json!({}),
                priority: 0,
            })
            .collect();
        let total = rows.len() as i64;

        let turn = store.write_gate().await;
        let import = {
            let (store, campaign, list) = (store.clone(), campaign.clone(), list.clone());
            tokio::spawn(async move { store.import_leads(&campaign, &list, &rows, 0).await })
        };
        settle().await;
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.write().await?;
                let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads")
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<i64, StoreError>(seen)
            })
        };
        settle().await;
        drop(turn);
        let seen = writer.await.expect("task").expect("write");
        let imported = import.await.expect("task").expect("import");
        assert_eq!(imported.loaded as i64, total);
        // The import queued first, so its first transaction went first; the writer came
        // next, not after the whole upload.
        assert!(seen > 0, "the import queued first");
        assert!(
            seen <= TX_ROWS_SQLITE as i64,
            "the writer waited for {seen} rows, more than one transaction"
        );
    }

    #[tokio::test]
    async fn postgres_has_no_gate_to_wait_at() {
        // Only the backend decides: a store marked PostgreSQL passes a held gate.
        let dir = tempfile::tempdir().expect("temp dir");
        let store = file_store(&dir).await;
        let _held = store.gate.clone().lock_owned().await;
        let mut postgres = store.clone();
        postgres.backend = Backend::Postgres;
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut open = std::pin::pin!(postgres.write_gate());
        assert!(open.as_mut().poll(&mut cx).is_ready());
        let mut shut = std::pin::pin!(store.write_gate());
        assert!(shut.as_mut().poll(&mut cx).is_pending());
    }

    #[tokio::test]
    async fn a_failed_write_lets_the_next_writer_in() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = file_store(&dir).await;
        store.call_started(&call(1)).await.expect("first");
        let again = store.call_started(&call(1)).await;
        assert!(matches!(again, Err(StoreError::DuplicateCallStart(_))));
        assert!(store.gate.try_lock().is_ok(), "the gate is free again");
        store.call_started(&call(2)).await.expect("next writer");
    }

    #[tokio::test]
    async fn an_attempt_for_no_lead_leaves_sqlite_unlocked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = file_store(&dir).await;
        let unknown = crate::store::LeadId::from("no-such-lead");
        let attempt = crate::store::Attempt {
            call_id: None,
            outcome: crate::store::AttemptOutcome::Busy,
            sip_status: Some(486),
            started_at_ms: 0,
            answered_at_ms: None,
            ended_at_ms: 1,
        };
        let recorded = store
            .record_attempt(&unknown, &attempt, crate::store::LeadNext::Unchanged)
            .await
            .expect("record");
        assert!(!recorded);
        // Another connection that never waits for SQLite's lock gets it at once: the
        // transaction that found no lead did not leave the lock taken.
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let mut other = <AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("connect");
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut other)
            .await
            .expect("pragma");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .expect("the write lock is free");
        sqlx::query("ROLLBACK")
            .execute(&mut other)
            .await
            .expect("rollback");
    }
}
