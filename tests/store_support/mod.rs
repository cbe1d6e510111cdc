//! The store tests' databases: a fresh SQLite file, or a fresh PostgreSQL database next to
//! the one `SWITCHBOARD_TEST_PG_URL` names (`tests/pg.sh` starts one); `both_backends!`
//! turns each scenario `async fn name(db: &TestDb)` into `name::sqlite` and `name::postgres`.
#![allow(dead_code)]

use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use switchboard::store::{Backend, CallRecordId, Store};
use tempfile::TempDir;

pub const PG_URL_VAR: &str = "SWITCHBOARD_TEST_PG_URL";

/// A fresh, empty database for one test: a new SQLite file, or a new PostgreSQL database
/// created next to the one `SWITCHBOARD_TEST_PG_URL` names (so tests may run in parallel).
pub struct TestDb {
    pub url: String,
    _dir: Option<TempDir>,
    /// `(admin URL, database name)` to drop afterwards.
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        // A nested path: open must create the missing directories.
        let file = dir.path().join("data/sub/switchboard.db");
        TestDb {
            url: format!("sqlite://{}", file.display()),
            _dir: Some(dir),
            pg: None,
        }
    }

    pub async fn postgres(test: &str) -> Option<TestDb> {
        let Ok(base) = std::env::var(PG_URL_VAR) else {
            println!("skipped: {PG_URL_VAR} not set");
            return None;
        };
        sqlx::any::install_default_drivers();
        // PostgreSQL names are at most 63 bytes.
        let name = format!(
            "sb_{}_{}",
            &test[..test.len().min(24)],
            CallRecordId::generate(0).as_str().to_ascii_lowercase()
        );
        let mut admin = AnyConnection::connect(&base).await.expect("connect to PG");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.expect("close");
        Some(TestDb {
            url: with_database(&base, &name),
            _dir: None,
            pg: Some((base, name)),
        })
    }

    pub async fn open(&self) -> Store {
        let store = Store::open(&self.url).await.expect("open store");
        let expected = if self.pg.is_some() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        assert_eq!(store.backend(), expected);
        store
    }

    pub async fn finish(self) {
        if let Some((base, name)) = &self.pg {
            let mut admin = AnyConnection::connect(base).await.expect("connect to PG");
            sqlx::query(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                .execute(&mut admin)
                .await
                .expect("drop test database");
        }
    }
}

/// `postgres://u@h:p/db?x` with `db` replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = before_query.find("://").map_or(0, |i| i + 3);
    let path_start = before_query[authority_start..]
        .find('/')
        .map_or(before_query.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &before_query[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[macro_export]
macro_rules! both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = super::TestDb::sqlite();
                super::$scenario(&db).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            pub async fn postgres() {
                let Some(db) = super::TestDb::postgres(stringify!($scenario)).await else {
                    return;
                };
                super::$scenario(&db).await;
                db.finish().await;
            }
        }
    )*};
}
