//! The store's error type: one enum for every way opening or using the store can fail.

use std::path::PathBuf;

use super::CallRecordId;

/// Why a store operation failed.
///
/// Connection strings are never echoed back (a PostgreSQL URL may carry a password).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither `sqlite:…` nor `postgres://…` / `postgresql://…`.
    #[error("unsupported store URL scheme {scheme:?}: expected sqlite: or postgres://")]
    UnsupportedScheme {
        /// The part before the first `:` (empty when there was none).
        scheme: String,
    },
    /// A `sqlite:` URL without a file name.
    #[error("sqlite store URL names no database file")]
    MissingSqlitePath,
    /// The directory that holds the SQLite file could not be created.
    #[error("cannot create the store directory {path}: {source}")]
    CreateDir {
        /// The directory we tried to create.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The lock that serialises SQLite migrations between processes could not be taken.
    #[error("cannot lock {path} for migrating: {source}")]
    MigrationLock {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The database (driver, connection, query, transaction) failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed, or the applied migrations do not match this build's.
    #[error("schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// `call_started` for a call record that is already in flight.
    #[error("call record {0} is already in flight")]
    DuplicateCallStart(CallRecordId),
    /// `call_ended` for a call record whose CDR is already stored.
    #[error("CDR {0} is already stored")]
    DuplicateCdr(CallRecordId),
    /// A stored value that this build cannot read back (e.g. an unknown enum tag).
    #[error("column {column} holds a value this build cannot read: {value:?}")]
    BadStoredValue {
        /// Table column the value came from.
        column: &'static str,
        /// The offending value, as text.
        value: String,
    },
}
