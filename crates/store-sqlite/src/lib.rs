//! The SQLite store: embedded, zero set-up, the default for a county bureau.
//!
//! WAL journal so that readers never wait for the writer; `synchronous = NORMAL`, which in WAL mode
//! keeps every committed transaction across a crash of the program (only an OS crash may lose the
//! last ones). Writes go through a one-connection pool: SQLite has one writer anyway, and queueing
//! writers in-process avoids `SQLITE_BUSY` on lock upgrades.

mod bank_post;
mod bill_run;
mod checkpoint;
mod register_load;
#[cfg(test)]
mod schema_checks;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

type Db = sqlx::Sqlite;

/// The SQLite implementation of [`bureau_store::Store`].
#[derive(Clone)]
pub struct SqlStore {
    pool: sqlx::Pool<Db>,
    writer: sqlx::Pool<Db>,
    /// The bill run's own connections (see [`bill_run`]); `None` for an in-memory database, which
    /// other connections cannot open.
    direct: Option<Arc<bill_run::Direct>>,
    /// New work orders arriving together are written in one transaction.
    intake: Arc<GroupCommit>,
    /// Who is on duty, for a few seconds (intake reads it for every fault repair).
    roster_cache: Arc<RosterCache>,
}

impl SqlStore {
    /// Opens (creating if absent) the database named by a `sqlite://PATH` URL.
    pub async fn open(url: &str) -> Result<SqlStore, bureau_store::StoreError> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| bureau_store::StoreError::Database(format!("bad SQLite URL {url}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        let writer =
            SqlitePoolOptions::new().max_connections(1).connect_with(opts.clone()).await.map_err(db_err)?;
        let readers = std::thread::available_parallelism().map_or(4, |n| n.get() as u32 * 2).max(4);
        let pool = SqlitePoolOptions::new()
            .max_connections(readers)
            .connect_with(opts.clone().read_only(false))
            .await
            .map_err(db_err)?;
        let file = opts.get_filename().to_path_buf();
        let in_memory = file.as_os_str().is_empty()
            || file.to_str().is_some_and(|f| f == ":memory:" || f.starts_with("file:"));
        let direct = (!in_memory).then(|| Arc::new(bill_run::Direct::new(file)));
        Ok(SqlStore { pool, writer, direct, intake: Default::default(), roster_cache: Default::default() })
    }

    /// A chunk of the bill run (or one customer) through the direct connections.
    async fn bill_run_load(
        &self,
        scope: &bureau_store::Scope,
        period: &str,
        book_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
        only: Option<&str>,
    ) -> bureau_store::StoreResult<bureau_store::BillingChunk> {
        let Some(direct) = self.direct.clone() else {
            return self.load_billing(scope, period, book_id, after, limit, only).await;
        };
        let q = bill_run::ChunkQuery {
            scope: scope.clone(),
            period: period.to_string(),
            book_id: book_id.map(str::to_string),
            after: after.map(str::to_string),
            limit,
            only: only.map(str::to_string),
        };
        tokio::task::spawn_blocking(move || direct.load(&q)).await.map_err(joined)?
    }

    /// Makes every commit durable with a full checkpoint (see `bill_run::Direct::sync`): with
    /// `synchronous = NORMAL` a commit reaches the WAL file but not the disk.
    async fn bill_run_sync(&self) -> bureau_store::StoreResult<()> {
        let Some(direct) = self.direct.clone() else {
            return Ok(()); // an in-memory database has nothing on disk
        };
        tokio::task::spawn_blocking(move || direct.sync()).await.map_err(joined)?
    }

    /// Writes a chunk of the bill run in one transaction through the direct writer.
    async fn bill_run_write(
        &self,
        w: Arc<bureau_store::BillWrite>,
    ) -> bureau_store::StoreResult<bureau_store::BillWriteCounts> {
        let Some(direct) = self.direct.clone() else {
            return self.write_bills_sql(&w).await;
        };
        tokio::task::spawn_blocking(move || direct.write(&w)).await.map_err(joined)?
    }
}

impl SqlStore {
    /// A register batch through the direct writer (see [`register_load`]).
    async fn register_bulk_load(
        &self,
        batch: Arc<bureau_store::RegisterBatch>,
    ) -> bureau_store::StoreResult<()> {
        let Some(direct) = self.direct.clone() else {
            return self.bulk_load_sql(&batch).await;
        };
        tokio::task::spawn_blocking(move || direct.bulk_load(&batch)).await.map_err(joined)?
    }

    /// Many ledger postings (a bank batch chunk) through the direct writer (see [`bank_post`]); a
    /// single posting (the counter) stays on the sqlx writer.
    async fn ledger_post_groups(
        &self,
        groups: &[bureau_store::EntryGroup],
    ) -> bureau_store::StoreResult<Vec<bureau_store::Posted>> {
        match self.direct.clone() {
            Some(direct) if groups.len() > 1 => {
                let groups = groups.to_vec();
                tokio::task::spawn_blocking(move || direct.post_groups(&groups)).await.map_err(joined)?
            }
            _ => self.post_entry_groups_sql(groups).await,
        }
    }

    /// Many ledgers (a bank batch chunk) through a direct reader connection (see [`bank_post`]).
    async fn ledger_ledgers_of(
        &self,
        customer_ids: &[String],
    ) -> bureau_store::StoreResult<Vec<bureau_store::CustomerLedger>> {
        match self.direct.clone() {
            Some(direct) => {
                let ids = customer_ids.to_vec();
                tokio::task::spawn_blocking(move || direct.ledgers_of(&ids)).await.map_err(joined)?
            }
            None => self.ledgers_of_sql(customer_ids).await,
        }
    }

    /// The open part of many ledgers (a bank batch chunk) through a direct reader connection (see
    /// [`bank_post`]).
    async fn ledger_open_ledgers_of(
        &self,
        customer_ids: &[String],
    ) -> bureau_store::StoreResult<Vec<bureau_store::OpenLedger>> {
        match self.direct.clone() {
            Some(direct) => {
                let ids = customer_ids.to_vec();
                tokio::task::spawn_blocking(move || direct.open_ledgers_of(&ids)).await.map_err(joined)?
            }
            None => self.open_ledgers_of_sql(customer_ids).await,
        }
    }

    /// A chunk's customers through a direct reader connection (see [`bank_post`]).
    async fn bank_customers_by_ids(
        &self,
        ids: &[String],
    ) -> bureau_store::StoreResult<Vec<bureau_domain::register::Customer>> {
        match self.direct.clone() {
            Some(direct) => {
                let ids = ids.to_vec();
                tokio::task::spawn_blocking(move || direct.customers_by_ids(&ids)).await.map_err(joined)?
            }
            None => self.customers_by_ids_sql(ids).await,
        }
    }

    /// A chunk's posted keys through a direct reader connection (see [`bank_post`]).
    async fn bank_entries_with_keys(
        &self,
        keys: &[String],
    ) -> bureau_store::StoreResult<Vec<bureau_store::CustomerEntry>> {
        match self.direct.clone() {
            Some(direct) => {
                let keys = keys.to_vec();
                tokio::task::spawn_blocking(move || direct.entries_with_keys(&keys)).await.map_err(joined)?
            }
            None => self.entries_with_keys_sql(keys).await,
        }
    }
}

fn joined(e: tokio::task::JoinError) -> bureau_store::StoreError {
    bureau_store::StoreError::Database(format!("bill run database thread failed: {e}"))
}

mod dialect {
    use super::*;
    use bureau_domain::register::Customer;
    use bureau_store::{Scope, StoreResult};

    pub const BACKEND: &str = "sqlite";
    /// Unary plus keeps SQLite from driving a query through the index of a filter column.
    pub const NO_INDEX: &str = "+";
    pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    /// Row locks for a read that precedes an update in one transaction: none on SQLite, whose
    /// writer holds the whole database.
    pub const FOR_UPDATE: &str = "";
    /// Chunks of a bill run written at once: SQLite has a single writer.
    pub const BILL_WRITERS: usize = 1;

    /// The key look-up of `post_groups_bulk_tx`: the shared statements, [`CHUNK`] keys each.
    pub async fn entries_by_many_keys(
        tx: &mut sqlx::Transaction<'_, Db>,
        keys: &[&str],
    ) -> StoreResult<Vec<(String, bureau_domain::ledger::Entry)>> {
        entries_by_keys_chunked(tx, keys).await
    }

    /// The bulk write of `post_groups_bulk_tx`: the shared statements.
    pub async fn post_bulk(
        tx: &mut sqlx::Transaction<'_, Db>,
        groups: &[bureau_store::EntryGroup],
        idx: &[usize],
    ) -> StoreResult<Vec<bool>> {
        post_bulk_tx(tx, groups, idx).await
    }

    /// The settled marks of a posting or of `mark_settled`: one statement each.
    pub async fn mark_settled(
        tx: &mut sqlx::Transaction<'_, Db>,
        marks: &[(&str, i64, &bureau_store::SettledMark)],
    ) -> StoreResult<u64> {
        mark_settled_each_tx(tx, marks).await
    }

    /// `column` starts with `q`, as an index range: SQLite's LIKE ignores case and so cannot use a
    /// BINARY index; a range can. U+10FFFF sorts after every character that can follow the prefix.
    pub fn push_prefix(qb: &mut sqlx::QueryBuilder<'_, Db>, column: &str, q: &str) {
        qb.push(format!("{column} >= "));
        qb.push_bind(q.to_string());
        qb.push(format!(" AND {column} < "));
        qb.push_bind(format!("{q}\u{10FFFF}"));
    }

    pub fn prefix_order(column: &str) -> String {
        column.to_string()
    }

    /// Anywhere in the name or address, through the FTS5 trigram index. A trigram needs three
    /// characters; shorter text is matched as a name or phone prefix by the caller only.
    pub async fn search_text(
        pool: &sqlx::Pool<Db>,
        scope: &Scope,
        q: &str,
        limit: u32,
    ) -> StoreResult<Vec<Customer>> {
        if q.chars().count() < 3 {
            return Ok(Vec::new());
        }
        // An FTS5 string literal: double quotes inside are doubled, so user text is never syntax.
        let phrase = format!("\"{}\"", q.replace('"', "\"\""));
        let mut qb = sqlx::QueryBuilder::<Db>::new(
            "SELECT c.customer_id, c.bureau_id, c.name, c.address, c.phone, c.class, c.area, c.supply_point,
                    c.book_id
             FROM customers_text t JOIN customers c ON c.rowid = t.rowid
             WHERE customers_text MATCH ",
        );
        qb.push_bind(phrase);
        push_scope(&mut qb, "c.bureau_id", scope);
        // No ORDER BY: FTS5 yields rows in rowid order and stops at the limit.
        qb.push(" LIMIT ");
        qb.push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(pool).await.map_err(db_err)?;
        rows.iter().map(customer_from_row).collect()
    }
}

include!("../../store/shared/sql_store.rs");
include!("../../store/shared/outbox_sql.rs");
include!("../../store/shared/outage_sql.rs");
include!("../../store/shared/service_sql.rs");
include!("../../store/shared/billing_sql.rs");
include!("../../store/shared/funds_sql.rs");
include!("../../store/shared/exceptions_sql.rs");
include!("../../store/shared/ledger_sql.rs");
include!("../../store/shared/bank_batch_sql.rs");
include!("../../store/shared/portal_sql.rs");
include!("../../store/shared/grid_data_sql.rs");
include!("../../store/shared/arrears_sql.rs");
