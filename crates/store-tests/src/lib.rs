//! The store conformance suite, and throw-away databases for tests.
//!
//! `conformance(store)` states the behaviour every store must have; it runs against SQLite always and
//! against PostgreSQL when `BUREAU_TEST_PG_URL` names a server (the README's test command sets it).
//! Each run gets a fresh database: a temporary SQLite file, or a uniquely named PostgreSQL database
//! that is dropped afterwards.

mod arrears_suite;
mod bill_run_jobs_suite;
mod exceptions_suite;
mod funds_suite;
mod grid_data_suite;
mod ledger_suite;
mod outage_suite;
mod portal_suite;
mod service_suite;
mod settled_marks_suite;
mod suite;
pub use service_suite::service_orders;
pub use suite::conformance;

use bureau_store::DynStore;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// The PostgreSQL server for tests, e.g. `postgres://postgres@127.0.0.1:5432/test`.
pub fn pg_url() -> Option<String> {
    std::env::var("BUREAU_TEST_PG_URL").ok().filter(|s| !s.trim().is_empty())
}

/// A fresh, migrated database for one test.
pub struct TestDb {
    pub store: DynStore,
    /// The URL, for tests that start the `bureau` program against it.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    PgDatabase { admin_url: String, name: String },
}

fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{}_{}", std::process::id(), nanos, N.fetch_add(1, Ordering::Relaxed))
}

impl TestDb {
    pub async fn sqlite() -> anyhow::Result<TestDb> {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name("bureau_test")));
        let url = format!("sqlite://{}", path.display());
        let store = bureau_store_sqlite::SqlStore::open(&url).await?;
        let store: DynStore = Arc::new(store);
        store.migrate().await?;
        Ok(TestDb { store, url, cleanup: Cleanup::File(path) })
    }

    /// A new database on the test server, or `None` when no server is configured.
    pub async fn postgres() -> anyhow::Result<Option<TestDb>> {
        let Some(admin_url) = pg_url() else { return Ok(None) };
        let name = unique_name("bureau_t");
        let admin = bureau_store_postgres::SqlStore::open(&admin_url).await?;
        admin.execute_admin(&format!("CREATE DATABASE {name}")).await?;
        let url = replace_db_name(&admin_url, &name);
        let store: DynStore = Arc::new(bureau_store_postgres::SqlStore::open(&url).await?);
        store.migrate().await?;
        Ok(Some(TestDb { store, url, cleanup: Cleanup::PgDatabase { admin_url, name } }))
    }

    /// Both backends: SQLite always, PostgreSQL when configured.
    pub async fn each() -> anyhow::Result<Vec<TestDb>> {
        let mut dbs = vec![TestDb::sqlite().await?];
        if let Some(pg) = TestDb::postgres().await? {
            dbs.push(pg);
        } else {
            eprintln!("BUREAU_TEST_PG_URL is not set: the PostgreSQL half of this test did not run");
        }
        Ok(dbs)
    }

    /// Removes the database. Call at the end of a test; a failed test leaves it for inspection.
    pub async fn destroy(self) -> anyhow::Result<()> {
        drop(self.store);
        match self.cleanup {
            Cleanup::File(path) => {
                for ext in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
                }
            }
            Cleanup::PgDatabase { admin_url, name } => {
                let admin = bureau_store_postgres::SqlStore::open(&admin_url).await?;
                admin.execute_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
            }
        }
        Ok(())
    }
}

/// `postgres://u@h:p/old?x` → `postgres://u@h:p/new?x`.
fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        assert_eq!(super::replace_db_name("postgres://p@h:5432/test", "x"), "postgres://p@h:5432/x");
        assert_eq!(
            super::replace_db_name("postgres://p@h/test?sslmode=disable", "x"),
            "postgres://p@h/x?sslmode=disable"
        );
        assert_eq!(super::replace_db_name("postgres://p@h", "x"), "postgres://p@h/x");
    }
}
