//! Reading the store URL from the configuration: which backend, which SQLite file, and
//! the URL actually handed to sqlx.
//!
//! * `sqlite://data/switchboard.db`, `sqlite:data/switchboard.db` — a file relative to the
//!   working directory; `sqlite:///var/lib/switchboard/switchboard.db` — an absolute one.
//!   The file and its parent directories are created on first open (`mode=rwc` is added
//!   unless the URL sets its own `mode`).
//! * `sqlite::memory:` (or `mode=memory`) — a private in-memory database, for tests.
//! * `postgres://user:pass@host:port/db` or `postgresql://…` — PostgreSQL.

use std::path::{Path, PathBuf};

use super::StoreError;

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (or in-memory database), embedded in the process.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A parsed store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreTarget {
    pub backend: Backend,
    /// The SQLite file, when the database lives in one.
    pub sqlite_file: Option<PathBuf>,
    /// The URL to give sqlx.
    pub connect_url: String,
}

impl StoreTarget {
    pub fn parse(url: &str) -> Result<StoreTarget, StoreError> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Self::parse_sqlite(&url[scheme.len() + 1..]),
            "postgres" | "postgresql" => Ok(StoreTarget {
                backend: Backend::Postgres,
                sqlite_file: None,
                connect_url: url.to_owned(),
            }),
            _ => Err(StoreError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            }),
        }
    }

    /// `rest` is everything after `sqlite:`.
    fn parse_sqlite(rest: &str) -> Result<StoreTarget, StoreError> {
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let (database, params) = match rest.split_once('?') {
            Some((database, params)) => (database, Some(params)),
            None => (rest, None),
        };
        let mode = params.and_then(|p| {
            p.split('&')
                .find_map(|pair| pair.strip_prefix("mode="))
                .map(str::to_owned)
        });
        let in_memory = database == ":memory:" || mode.as_deref() == Some("memory");
        if database.is_empty() && !in_memory {
            return Err(StoreError::MissingSqlitePath);
        }
        if in_memory {
            // One spelling sqlx's URL parser accepts (`sqlite://:memory:` has an empty host).
            return Ok(StoreTarget {
                backend: Backend::Sqlite,
                sqlite_file: None,
                connect_url: "sqlite::memory:".to_owned(),
            });
        }
        let mut connect_url = format!("sqlite://{rest}");
        if mode.is_none() {
            connect_url.push(if params.is_some() { '&' } else { '?' });
            connect_url.push_str("mode=rwc");
        }
        Ok(StoreTarget {
            backend: Backend::Sqlite,
            sqlite_file: Some(PathBuf::from(database)),
            connect_url,
        })
    }

    pub fn is_in_memory(&self) -> bool {
        self.backend == Backend::Sqlite && self.sqlite_file.is_none()
    }

    /// Creates the directory that will hold the SQLite file, if there is one to create.
    pub fn create_parent_dir(&self) -> Result<(), StoreError> {
        let Some(dir) = self.sqlite_file.as_deref().and_then(Path::parent) else {
            return Ok(());
        };
        if dir.as_os_str().is_empty() {
            return Ok(());
        }
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> StoreTarget {
        StoreTarget::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn relative_sqlite_file_gets_create_mode() {
        let t = parse("sqlite://data/switchboard.db");
        assert_eq!(t.backend, Backend::Sqlite);
        assert_eq!(t.sqlite_file, Some(PathBuf::from("data/switchboard.db")));
        assert_eq!(t.connect_url, "sqlite://data/switchboard.db?mode=rwc");
        assert_eq!(parse("sqlite:data/switchboard.db"), t);
    }

    #[test]
    fn absolute_sqlite_file_keeps_its_params() {
        let t = parse("sqlite:///var/lib/sb/db.sqlite?cache=private");
        assert_eq!(t.sqlite_file, Some(PathBuf::from("/var/lib/sb/db.sqlite")));
        assert_eq!(
            t.connect_url,
            "sqlite:///var/lib/sb/db.sqlite?cache=private&mode=rwc"
        );
        let ro = parse("sqlite:///var/lib/sb/db.sqlite?mode=ro");
        assert_eq!(ro.connect_url, "sqlite:///var/lib/sb/db.sqlite?mode=ro");
    }

    #[test]
    fn memory_urls_have_no_file() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
        ] {
            let t = parse(url);
            assert!(t.is_in_memory(), "{url}");
            assert_eq!(t.connect_url, "sqlite::memory:", "{url}");
        }
    }

    #[test]
    fn postgres_urls_pass_through() {
        for url in [
            "postgres://u:p@127.0.0.1:5432/sb",
            "postgresql://localhost/sb",
        ] {
            let t = parse(url);
            assert_eq!(t.backend, Backend::Postgres);
            assert_eq!(t.connect_url, url);
            assert_eq!(t.sqlite_file, None);
        }
    }

    #[test]
    fn bad_urls_are_rejected_without_echoing_them() {
        let err = StoreTarget::parse("mysql://root:secret@db/sb").expect_err("mysql");
        assert!(matches!(&err, StoreError::UnsupportedScheme { scheme } if scheme == "mysql"));
        assert!(!err.to_string().contains("secret"));
        assert!(matches!(
            StoreTarget::parse("data/switchboard.db"),
            Err(StoreError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            StoreTarget::parse("sqlite://"),
            Err(StoreError::MissingSqlitePath)
        ));
    }

    #[test]
    fn parent_dirs_are_created() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("a/b/switchboard.db");
        let t = parse(&format!("sqlite://{}", file.display()));
        t.create_parent_dir().expect("create");
        assert!(tmp.path().join("a/b").is_dir());
    }
}
