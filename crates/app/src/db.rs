//! Opening the database named by a URL: `sqlite://PATH` (the default) or `postgres://…`.

use bureau_store::{DynStore, StoreError};
use std::sync::Arc;

/// The default database: a file next to where the program runs.
pub const DEFAULT_URL: &str = "sqlite://bureau.db";

/// Opens the store for a URL without migrating it.
pub async fn open(url: &str) -> Result<DynStore, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(bureau_store_sqlite::SqlStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(bureau_store_postgres::SqlStore::open(url).await?))
    } else {
        Err(StoreError::Database(format!(
            "unsupported database URL '{url}': use sqlite://PATH or postgres://USER@HOST/DB"
        )))
    }
}

/// Opens the store and brings its schema up to date.
pub async fn open_migrated(url: &str) -> Result<DynStore, StoreError> {
    let store = open(url).await?;
    store.migrate().await?;
    Ok(store)
}
