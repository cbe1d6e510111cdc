//! Schema migrations, embedded in the binary and run by [`Store::open`](super::Store::open).
//!
//! sqlx's migrator does the bookkeeping: the `_sqlx_migrations` table records each applied
//! version with a checksum, so reopening is a no-op, an edited migration is refused
//! ([`MigrateError::VersionMismatch`](sqlx::migrate::MigrateError::VersionMismatch)), and on
//! PostgreSQL an advisory lock stops two nodes starting at once from both migrating. sqlx
//! takes no such lock on SQLite, so there we hold an exclusive `flock` on a sibling file,
//! `<database>.migrate-lock` (kept: removing it would reopen the race), while migrating —
//! two processes opening a fresh file at once otherwise both try `CREATE TABLE`. Each
//! migration runs in its own transaction (both backends have transactional DDL).
//!
//! Rules for new migrations: append a file `NNNN_name.sql` and a line below, never edit an
//! applied one; use only SQL both SQLite and PostgreSQL accept (TEXT, BIGINT, no SERIAL or
//! AUTOINCREMENT, no backend-specific functions).

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};

use super::StoreError;

/// `(version, description, SQL)` for every migration, oldest first.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "cdrs", include_str!("migrations/0001_cdrs.sql")),
    (
        2,
        "campaigns",
        include_str!("migrations/0002_campaigns.sql"),
    ),
    (
        3,
        "cdr_media",
        include_str!("migrations/0003_cdr_media.sql"),
    ),
    (
        10,
        "directory",
        include_str!("migrations/0010_directory.sql"),
    ),
    (
        11,
        "agent_states",
        include_str!("migrations/0011_agent_states.sql"),
    ),
    (
        12,
        "recordings",
        include_str!("migrations/0012_recordings.sql"),
    ),
    (
        13,
        "queue_events",
        include_str!("migrations/0013_queue_events.sql"),
    ),
    (
        14,
        "campaign_leases",
        include_str!("migrations/0014_campaign_leases.sql"),
    ),
    (
        15,
        "cdr_media_reported",
        include_str!("migrations/0015_cdr_media_reported.sql"),
    ),
];

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Applies every migration not yet applied. `sqlite_file`: the database file, when there is
/// one, to serialise migrations between processes.
pub(crate) async fn run(pool: &AnyPool, sqlite_file: Option<&Path>) -> Result<(), StoreError> {
    let _lock = match sqlite_file {
        Some(file) => Some(lock(lock_path(file)).await?),
        None => None,
    };
    migrator().run(pool).await?;
    Ok(())
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".migrate-lock");
    PathBuf::from(name)
}

/// Waits for an exclusive lock on `path`; released when the returned file is dropped.
async fn lock(path: PathBuf) -> Result<File, StoreError> {
    let locking = path.clone();
    let locked = tokio::task::spawn_blocking(move || {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&locking)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .unwrap_or_else(|join| Err(std::io::Error::other(join)));
    locked.map_err(|source| StoreError::MigrationLock { path, source })
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Every migration version, oldest first.
pub fn versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|m| m.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_strictly_increase() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(latest_version(), *versions().last().unwrap());
    }

    #[test]
    fn lock_file_sits_beside_the_database() {
        assert_eq!(
            lock_path(Path::new("data/switchboard.db")),
            PathBuf::from("data/switchboard.db.migrate-lock")
        );
    }

    #[tokio::test]
    async fn lock_is_exclusive_until_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db.migrate-lock");
        let held = lock(path.clone()).await.expect("first lock");
        let other = File::open(&path).expect("open");
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(held);
        other.try_lock().expect("free after drop");
    }
}
