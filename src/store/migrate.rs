//! Schema migrations, embedded in the binary and run by [`Store::open`](super::Store::open).
//!
//! sqlx's migrator does the bookkeeping: the `_sqlx_migrations` table records each applied
//! version with a checksum, so reopening is a no-op, an edited migration is refused
//! ([`MigrateError::VersionMismatch`](sqlx::migrate::MigrateError::VersionMismatch)), and on
//! PostgreSQL an advisory lock stops two nodes starting at once from both migrating. Each
//! migration runs in its own transaction (both backends have transactional DDL).
//!
//! Rules for new migrations: append a file `NNNN_name.sql` and a line below, never edit an
//! applied one; use only SQL both SQLite and PostgreSQL accept (TEXT, BIGINT, no SERIAL or
//! AUTOINCREMENT, no backend-specific functions).

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr};

use super::StoreError;

/// `(version, description, SQL)` for every migration, oldest first.
const MIGRATIONS: &[(i64, &str, &str)] = &[(1, "cdrs", include_str!("migrations/0001_cdrs.sql"))];

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

/// Applies every migration not yet applied.
pub(crate) async fn run(pool: &AnyPool) -> Result<(), StoreError> {
    migrator().run(pool).await?;
    Ok(())
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_strictly_increase() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(latest_version(), 1);
    }
}
