//! The durable store: call detail records today; leads, attempts, dispositions, agents,
//! campaigns and recordings later. No other module sees SQL: they call typed methods on
//! [`Store`].
//!
//! # One code path, two databases
//! SQLite (embedded, the default) and PostgreSQL (when the configuration gives a
//! `postgres://` URL; several nodes may share one) are both reached through sqlx's `Any`
//! driver: every query is written once, with `$1` placeholders (which both accept), over
//! portable types only (TEXT, BIGINT, NULL), and bound/decoded as `String`/`i64`. The
//! alternative, an enum over two typed pools, would have doubled every query for no gain at
//! this level of SQL. Queries are built at run time (`sqlx::query`, never the `query!`
//! macros: there is no database at build time). The one backend-specific step is the
//! SQLite connection setup below.
//!
//! # Durability
//! A method returns `Ok` only after its transaction has committed. On SQLite each new
//! connection sets `journal_mode=WAL` (readers do not block the writer) and
//! `synchronous=FULL`: every commit fsyncs the WAL, so a CDR that was acknowledged survives
//! a process kill *and* a power cut. (`NORMAL` would survive a process kill only; CDRs are a
//! few writes per call, so the fsync is affordable.) Writers wait up to 5 s for the lock
//! (`busy_timeout`). On PostgreSQL durability is the server's (`synchronous_commit=on` by
//! default).
//!
//! # Crash recovery
//! [`Store::call_started`] writes an in-flight row; [`Store::call_ended`] inserts the CDR
//! with its legs and deletes that row in one transaction. Rows still in flight when the
//! process starts belong to calls that a crash cut off: [`Store::close_in_flight`] turns
//! each into a CDR with the given cause ("restart").
//!
//! Schema versions live in [`migrate`]; URL forms in [`Backend`] and `target.rs`.

mod cdr;
mod cdr_repo;
mod error;
mod id;
pub mod migrate;
mod target;

pub use cdr::{CallStart, Cdr, CdrLeg, CdrQuery, HangupSide, LegRole};
pub use error::StoreError;
pub use id::CallRecordId;
pub use target::Backend;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

use target::StoreTarget;

/// Connections kept to an SQLite file: WAL lets readers run beside the one writer.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
/// Connections kept to PostgreSQL per node.
const POSTGRES_MAX_CONNECTIONS: u32 = 8;

/// Handle to the database; cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    ///
    /// `url` is `sqlite://data/switchboard.db` (relative to the working directory; the file
    /// and its directories are created), `sqlite:///abs/path.db`, `sqlite::memory:` (one
    /// private in-memory database, for tests) or `postgres://user:pass@host/db`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let target = StoreTarget::parse(url)?;
        target.create_parent_dir()?;
        sqlx::any::install_default_drivers();

        let options = match target.backend {
            // An in-memory SQLite database lives as long as its one connection.
            Backend::Sqlite if target.is_in_memory() => AnyPoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
            Backend::Sqlite => AnyPoolOptions::new().max_connections(SQLITE_MAX_CONNECTIONS),
            Backend::Postgres => AnyPoolOptions::new().max_connections(POSTGRES_MAX_CONNECTIONS),
        };
        let sqlite = target.backend == Backend::Sqlite;
        let pool = options
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA synchronous = FULL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&target.connect_url)
            .await?;
        migrate::run(&pool).await?;
        tracing::info!(backend = ?target.backend, "store open, schema at version {}", migrate::latest_version());
        Ok(Store {
            pool,
            backend: target.backend,
        })
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (waiting for checked-out ones to come back). Clones of this
    /// store fail their next call afterwards.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
