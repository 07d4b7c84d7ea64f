//! The PostgreSQL store, for a province (or a Postgres-compatible distributed engine: every
//! customer-owned table leads its key with `customer_id`, the natural distribution column).

mod ledger_arrays;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

type Db = sqlx::Postgres;

/// The PostgreSQL implementation of [`bureau_store::Store`].
#[derive(Clone)]
pub struct SqlStore {
    pool: sqlx::Pool<Db>,
    /// PostgreSQL has many writers; the same pool serves both.
    writer: sqlx::Pool<Db>,
    /// New work orders arriving together are written in one transaction.
    intake: std::sync::Arc<GroupCommit>,
    /// Who is on duty, for a few seconds (intake reads it for every fault repair).
    roster_cache: std::sync::Arc<RosterCache>,
}

impl SqlStore {
    /// Connects to the database named by a `postgres://` URL.
    pub async fn open(url: &str) -> Result<SqlStore, bureau_store::StoreError> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| bureau_store::StoreError::Database(format!("bad PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await
            .map_err(db_err)?;
        Ok(SqlStore {
            writer: pool.clone(),
            pool,
            intake: Default::default(),
            roster_cache: Default::default(),
        })
    }
}

impl SqlStore {
    /// The bill run reads through the shared statements (PostgreSQL has no per-value overhead
    /// worth a second path).
    async fn bill_run_load(
        &self,
        scope: &bureau_store::Scope,
        period: &str,
        book_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
        only: Option<&str>,
    ) -> bureau_store::StoreResult<bureau_store::BillingChunk> {
        self.load_billing(scope, period, book_id, after, limit, only).await
    }

    /// PostgreSQL's commits are durable when they return (`synchronous_commit = on`, the default).
    async fn bill_run_sync(&self) -> bureau_store::StoreResult<()> {
        Ok(())
    }

    async fn register_bulk_load(
        &self,
        batch: std::sync::Arc<bureau_store::RegisterBatch>,
    ) -> bureau_store::StoreResult<()> {
        self.bulk_load_sql(&batch).await
    }

    async fn bill_run_write(
        &self,
        w: std::sync::Arc<bureau_store::BillWrite>,
    ) -> bureau_store::StoreResult<bureau_store::BillWriteCounts> {
        self.write_bills_sql(&w).await
    }

    async fn ledger_post_groups(
        &self,
        groups: &[bureau_store::EntryGroup],
    ) -> bureau_store::StoreResult<Vec<bureau_store::Posted>> {
        self.post_entry_groups_sql(groups).await
    }

    async fn ledger_ledgers_of(
        &self,
        customer_ids: &[String],
    ) -> bureau_store::StoreResult<Vec<bureau_store::CustomerLedger>> {
        ledger_arrays::ledgers_of(&self.pool, customer_ids).await
    }

    async fn ledger_open_ledgers_of(
        &self,
        customer_ids: &[String],
    ) -> bureau_store::StoreResult<Vec<bureau_store::OpenLedger>> {
        ledger_arrays::open_ledgers_of(&self.pool, customer_ids).await
    }

    async fn bank_customers_by_ids(
        &self,
        ids: &[String],
    ) -> bureau_store::StoreResult<Vec<bureau_domain::register::Customer>> {
        ledger_arrays::customers_by_ids(&self.pool, ids).await
    }

    async fn bank_entries_with_keys(
        &self,
        keys: &[String],
    ) -> bureau_store::StoreResult<Vec<bureau_store::CustomerEntry>> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        Ok(ledger_arrays::entries_by_keys(&self.pool, &keys)
            .await?
            .into_iter()
            .map(|(customer_id, entry)| bureau_store::CustomerEntry { customer_id, entry })
            .collect())
    }
}

/// Escapes `%`, `_` and `\\` so that user text matches literally in a LIKE pattern.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

mod dialect {
    use super::*;
    use bureau_domain::register::Customer;
    use bureau_store::{Scope, StoreResult};

    pub const BACKEND: &str = "postgres";
    /// PostgreSQL plans with statistics; no hint needed.
    pub const NO_INDEX: &str = "";
    pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    /// Row locks for a read that precedes an update in one transaction, taken in the order
    /// read, so that two transactions over overlapping rows queue instead of deadlocking.
    pub const FOR_UPDATE: &str = " FOR UPDATE";
    /// Chunks of a bill run written at once. PostgreSQL writes in parallel, and one chunk in
    /// flight left the run waiting on each commit's round trips and WAL flush; three keep the
    /// server busy without taking more than a few of the pool's 16 connections.
    pub const BILL_WRITERS: usize = 3;

    /// The key look-up of `post_groups_bulk_tx`: one statement with the keys as an array
    /// (see [`crate::ledger_arrays`]).
    pub async fn entries_by_many_keys(
        tx: &mut sqlx::Transaction<'_, Db>,
        keys: &[&str],
    ) -> StoreResult<Vec<(String, bureau_domain::ledger::Entry)>> {
        crate::ledger_arrays::entries_by_keys(&mut **tx, keys).await
    }

    /// The bulk write of `post_groups_bulk_tx`: the shared statements with their values as arrays.
    pub async fn post_bulk(
        tx: &mut sqlx::Transaction<'_, Db>,
        groups: &[bureau_store::EntryGroup],
        idx: &[usize],
    ) -> StoreResult<Vec<bool>> {
        crate::ledger_arrays::post_bulk(tx, groups, idx).await
    }

    /// The settled marks of a posting or of `mark_settled`: one statement, values as arrays.
    pub async fn mark_settled(
        tx: &mut sqlx::Transaction<'_, Db>,
        marks: &[(&str, i64, &bureau_store::SettledMark)],
    ) -> StoreResult<u64> {
        crate::ledger_arrays::mark_settled(tx, marks).await
    }

    /// `column` starts with `q`: LIKE with a text_pattern_ops index (migration 0001).
    pub fn push_prefix(qb: &mut sqlx::QueryBuilder<'_, Db>, column: &str, q: &str) {
        qb.push(format!("{column} LIKE "));
        qb.push_bind(format!("{}%", escape_like(q)));
        qb.push(" ESCAPE '\\'");
    }

    /// The order of the text_pattern_ops index, so that the scan stops at the limit.
    pub fn prefix_order(column: &str) -> String {
        format!("{column} USING ~<~")
    }

    /// Anywhere in the name or address; pg_trgm indexes serve it when installed (migration 0002).
    pub async fn search_text(
        pool: &sqlx::Pool<Db>,
        scope: &Scope,
        q: &str,
        limit: u32,
    ) -> StoreResult<Vec<Customer>> {
        if q.chars().count() < 3 {
            return Ok(Vec::new());
        }
        let pattern = format!("%{}%", escape_like(q));
        let mut qb = sqlx::QueryBuilder::<Db>::new(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE (address ILIKE "
        ));
        qb.push_bind(pattern.clone());
        qb.push(" OR name ILIKE ");
        qb.push_bind(pattern);
        qb.push(")");
        push_scope(&mut qb, "bureau_id", scope);
        qb.push(" ORDER BY customer_id LIMIT ");
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
include!("../../store/shared/grid_data_sql.rs");
include!("../../store/shared/arrears_sql.rs");

impl SqlStore {
    /// Runs one administrative statement (CREATE/DROP DATABASE) that cannot take parameters; for
    /// test harnesses and set-up tools only, never with user input.
    pub async fn execute_admin(&self, statement: &str) -> Result<(), bureau_store::StoreError> {
        sqlx::raw_sql(statement).execute(&self.writer).await.map_err(db_err)?;
        Ok(())
    }
}
include!("../../store/shared/portal_sql.rs");
