//! The bill run's path to SQLite without sqlx: `rusqlite` connections of its own, on blocking
//! threads.
//!
//! Why: profiling the bill run of a million customers put 58 % of the CPU in sqlx's SQLite worker
//! threads — an allocation per bound value and per fetched value, and a channel hop per row to the
//! connection's worker thread — and only a tenth of that in SQLite itself (docs/performance.md). Here
//! a chunk is read by three prepared statements whose columns are decoded by position, and written
//! by statements prepared once per connection and executed once per row inside the chunk's single
//! transaction. The SQL is the same as the shared statements' (billing_sql.rs), so the two paths
//! read and write the same rows; the conformance suite runs the bill run through this one.
//!
//! Durability and locking are those of the sqlx connections (WAL, `synchronous = NORMAL`; the run
//! ends with a full checkpoint, `Direct::sync`),
//! foreign keys on, a 30 s busy timeout, and `BEGIN IMMEDIATE` so that the write lock is taken when
//! the transaction starts rather than upgraded half way (which SQLite refuses with `SQLITE_BUSY`).

use crate::checkpoint::{Checkpointer, WRITER_AUTOCHECKPOINT_PAGES};
use crate::{corrupt, from_centi, parse_date, parse_decimal, period_back, to_centi};
use bureau_domain::register::{AccountNo, Contract, Meter};
use bureau_store::{
    BillHistory, BillWrite, BillWriteCounts, BillingAccount, BillingChunk, Reading, ReadingKind, Scope,
    StoreError, StoreResult, StoredBill, StoredBillLine,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Connections of the bill run to one database file: one writer, and readers kept for reuse.
pub(crate) struct Direct {
    path: PathBuf,
    writer: Mutex<Option<Connection>>,
    readers: Mutex<Vec<Connection>>,
    /// Copies the writer's commits into the database file on a thread of its own.
    checkpointer: Checkpointer,
}

pub(crate) fn err(e: rusqlite::Error) -> StoreError {
    StoreError::Database(format!("sqlite: {e}"))
}

/// What a chunk query asks for (owned, to cross onto a blocking thread).
pub(crate) struct ChunkQuery {
    pub scope: Scope,
    pub period: String,
    pub book_id: Option<String>,
    pub after: Option<String>,
    pub limit: u32,
    /// One customer, billed or not (a rebill), instead of the next chunk.
    pub only: Option<String>,
}

impl Direct {
    pub(crate) fn new(path: PathBuf) -> Direct {
        let checkpointer = Checkpointer::new(path.clone());
        Direct { path, writer: Mutex::new(None), readers: Mutex::new(Vec::new()), checkpointer }
    }

    fn connect(&self) -> StoreResult<Connection> {
        open(&self.path)
    }

    /// Loads a chunk (or one customer) on a reader connection.
    pub(crate) fn load(&self, q: &ChunkQuery) -> StoreResult<BillingChunk> {
        let conn = match self.readers.lock().map_err(|_| poisoned())?.pop() {
            Some(c) => c,
            None => self.connect()?,
        };
        let out = load(&conn, q);
        self.readers.lock().map_err(|_| poisoned())?.push(conn);
        out
    }

    /// Writes a chunk in one transaction on the writer connection.
    pub(crate) fn write(&self, w: &BillWrite) -> StoreResult<BillWriteCounts> {
        self.with_writer(|conn| write(conn, w).map_err(err))
    }

    /// Makes every commit durable: a full checkpoint on the writer connection, which (with
    /// `synchronous = NORMAL`) syncs the WAL before copying it into the database file and syncs the
    /// file after. Done through SQLite, never by opening the files ourselves: closing any other
    /// descriptor of the database file drops every POSIX lock this process holds on it, after which
    /// another process may take the database for its own and reset the WAL under our connections
    /// (SQLite's "How To Corrupt An SQLite Database File", section 2.2). That is what an earlier
    /// version of this function did, and the grid CLI test lost writes from it.
    pub(crate) fn sync(&self) -> StoreResult<()> {
        // A background checkpoint running now would make this one answer busy at once.
        let _no_background = self.checkpointer.hold();
        self.with_writer(|conn| {
            let (busy, log, done): (i64, i64, i64) = conn
                .query_row("PRAGMA wal_checkpoint(FULL)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(err)?;
            if busy != 0 || (log >= 0 && done < log) {
                return Err(StoreError::Database(format!(
                    "sqlite: the checkpoint after the bill run stopped at frame {done} of {log} (readers busy)"
                )));
            }
            Ok(())
        })
    }

    /// Runs `f` on a reader connection (opened when none is free), kept for reuse afterwards.
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let conn = match self.readers.lock().map_err(|_| poisoned())?.pop() {
            Some(c) => c,
            None => self.connect()?,
        };
        let out = f(&conn);
        self.readers.lock().map_err(|_| poisoned())?.push(conn);
        out
    }

    /// Runs `f` on the writer connection (opened on first use), one caller at a time; then asks the
    /// background thread to copy what `f` committed into the database file ([`crate::checkpoint`]).
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> StoreResult<T>) -> StoreResult<T> {
        let out = {
            let mut slot = self.writer.lock().map_err(|_| poisoned())?;
            if slot.is_none() {
                let conn = self.connect()?;
                conn.pragma_update(None, "wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES).map_err(err)?;
                *slot = Some(conn);
            }
            f(slot.as_mut().expect("connected above"))
        };
        if out.is_ok() {
            self.checkpointer.committed();
        }
        out
    }
}

/// How much of the database file the direct connections read through a memory map: the most the
/// bundled SQLite allows (`SQLITE_MAX_MMAP_SIZE`, 0x7fff0000 on Linux; a larger value is cut to it).
///
/// Why: a reader connection's page cache is emptied whenever another connection has committed
/// (SQLite's WAL read transactions), so in a bank file every chunk read its pages again with
/// `pread`, copying each into the cache; through the map a page already seen is one lookup. Only
/// the first 2 GiB of a larger file are mapped; the rest is read as before. Writes still go through
/// the WAL, never through the map. Measured with the bank file's account order, which gives most of
/// the gain; alone the map was within the noise (docs/performance.md, issue 4).
const MMAP_BYTES: i64 = 0x7fff_0000;

/// A connection of the direct path: WAL with `synchronous = NORMAL` as the sqlx connections,
/// foreign keys on, a 30 s busy timeout, reads through a memory map ([`MMAP_BYTES`]).
pub(crate) fn open(path: &std::path::Path) -> StoreResult<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(err)?;
    c.busy_timeout(Duration::from_secs(30)).map_err(err)?;
    c.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;
         PRAGMA temp_store = memory;",
    )
    .map_err(err)?;
    c.pragma_update(None, "mmap_size", MMAP_BYTES).map_err(err)?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(c)
}

fn poisoned() -> StoreError {
    StoreError::Database("a bill run connection was poisoned by a panic".into())
}

fn text(v: &str) -> Value {
    Value::Text(v.to_string())
}

fn load(conn: &Connection, q: &ChunkQuery) -> StoreResult<BillingChunk> {
    let first_day = format!("{}-01", q.period);
    let last_day = format!("{}-31", q.period);
    // The customers with their book and active meter (at most one: `meters_one_active`). Their
    // contracts are read afterwards by key range: a correlated sub-query picking each customer's
    // contract in force sorted a temporary B-tree per customer.
    let mut sql = String::from(
        "SELECT c.customer_id, c.bureau_id, c.book_id, b.reading_day,
                m.meter_id, m.multiplier, m.digits, m.tou, m.installed_on, m.initial_reading_c
         FROM customers c
         LEFT JOIN reading_books b ON b.id = c.book_id
         LEFT JOIN meters m ON m.customer_id = c.customer_id AND m.removed_on IS NULL",
    );
    let mut args: Vec<Value> = Vec::new();
    let mut bind = |sql: &mut String, v: Value| {
        args.push(v);
        sql.push_str(&format!("?{}", args.len()));
    };
    match &q.only {
        Some(id) => {
            sql.push_str(" WHERE c.customer_id = ");
            bind(&mut sql, text(id));
        }
        None => {
            sql.push_str(" WHERE c.customer_id > ");
            bind(&mut sql, text(q.after.as_deref().unwrap_or("")));
        }
    }
    if let Some(book) = &q.book_id {
        sql.push_str(" AND c.book_id = ");
        bind(&mut sql, text(book));
    }
    if let Scope::Bureaus(ids) = &q.scope {
        if ids.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            // Unary plus: the scope is a filter, never the index to walk (see push_scope).
            sql.push_str(" AND +c.bureau_id IN (");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                bind(&mut sql, text(id));
            }
            sql.push(')');
        }
    }
    sql.push_str(" ORDER BY c.customer_id LIMIT ");
    bind(&mut sql, Value::Integer(i64::from(q.limit)));

    let mut accounts: Vec<BillingAccount> = Vec::with_capacity(q.limit as usize);
    {
        let mut st = conn.prepare_cached(&sql).map_err(err)?;
        let mut rows = st.query(rusqlite::params_from_iter(args.iter())).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            let customer_id: String = r.get(0).map_err(err)?;
            let account = AccountNo::parse("customer_id", &customer_id)
                .map_err(|_| corrupt("customer_id", &customer_id))?;
            let meter = match r.get::<_, Option<String>>(4).map_err(err)? {
                Some(meter_id) => {
                    let installed_on: String = r.get(8).map_err(err)?;
                    Some(Meter {
                        customer_id: account.clone(),
                        meter_id,
                        multiplier: r.get(5).map_err(err)?,
                        digits: r.get(6).map_err(err)?,
                        tou: r.get(7).map_err(err)?,
                        installed_on: parse_date(&installed_on)?,
                        initial_reading: from_centi(r.get(9).map_err(err)?),
                        removed_on: None,
                        final_reading: None,
                    })
                }
                None => None,
            };
            accounts.push(BillingAccount {
                customer_id,
                bureau_id: r.get(1).map_err(err)?,
                book_id: r.get(2).map_err(err)?,
                reading_day: r.get(3).map_err(err)?,
                meter,
                contract: None,
            });
        }
    }
    let (Some(lo), Some(hi)) = (accounts.first(), accounts.last()) else {
        return Ok(BillingChunk::default());
    };
    let scanned_to = Some(hi.customer_id.clone());
    let mut already_billed = 0;
    if q.only.is_none() {
        // Customers billed already (any revision) leave the chunk: one key-range read of the bills,
        // as in the shared path. The unary plus keeps `period` a filter: without it SQLite walks
        // the `bills_period` index, i.e. every bill of the period written so far, on every chunk,
        // which made the run quadratic (at 10,000,000 customers the load grew 40x for 10x).
        let mut st = conn
            .prepare_cached(
                "SELECT customer_id FROM bills WHERE customer_id >= ?1 AND customer_id <= ?2 AND +period = ?3",
            )
            .map_err(err)?;
        let billed = st
            .query_map(rusqlite::params![lo.customer_id, hi.customer_id, q.period], |r| r.get::<_, String>(0))
            .map_err(err)?
            .collect::<rusqlite::Result<std::collections::HashSet<String>>>()
            .map_err(err)?;
        let before = accounts.len();
        accounts.retain(|a| !billed.contains(&a.customer_id));
        already_billed = (before - accounts.len()) as u64;
    }
    let (Some(lo), Some(hi)) = (accounts.first(), accounts.last()) else {
        return Ok(BillingChunk { scanned_to, already_billed, ..BillingChunk::default() });
    };
    let (lo, hi) = (lo.customer_id.clone(), hi.customer_id.clone());
    let (lo, hi) = (lo.as_str(), hi.as_str());
    load_contracts(conn, &mut accounts, lo, hi, &first_day, &last_day)?;

    let mut readings = Vec::with_capacity(accounts.len() * 2);
    {
        let mut st = conn
            .prepare_cached(
                "SELECT customer_id, meter_id, read_on, kind, source, total_c, peak_c, flat_c, valley_c,
                        max_demand_c, kvarh_c
                 FROM readings WHERE customer_id >= ?1 AND customer_id <= ?2 AND read_on >= ?3 AND read_on <= ?4
                 ORDER BY customer_id, meter_id, read_on",
            )
            .map_err(err)?;
        let from = format!("{}-01", period_back(&q.period, 1)?);
        let mut rows = st.query(rusqlite::params![lo, hi, from, last_day]).map_err(err)?;
        let opt = |v: Option<i64>| v.map(from_centi);
        while let Some(r) = rows.next().map_err(err)? {
            let kind = r.get_ref(3).map_err(err)?.as_str().map_err(|e| err(e.into()))?;
            let kind = ReadingKind::parse(kind).ok_or_else(|| corrupt("kind", kind))?;
            readings.push(Reading {
                customer_id: r.get(0).map_err(err)?,
                meter_id: r.get(1).map_err(err)?,
                read_on: r.get(2).map_err(err)?,
                kind,
                source: r.get(4).map_err(err)?,
                total: from_centi(r.get(5).map_err(err)?),
                peak: opt(r.get(6).map_err(err)?),
                flat: opt(r.get(7).map_err(err)?),
                valley: opt(r.get(8).map_err(err)?),
                max_demand: opt(r.get(9).map_err(err)?),
                kvarh: opt(r.get(10).map_err(err)?),
            });
        }
    }

    let mut history = Vec::new();
    {
        let mut st = conn
            .prepare_cached(
                // By the primary key, in its order (the unary plus keeps SQLite off the partial
                // index `bills_one_live`, which would cost a second look-up per bill and a sort);
                // each customer's bills are put newest first below.
                "SELECT customer_id, period, kwh_c, ytd_kwh_c FROM bills
                 WHERE customer_id >= ?1 AND customer_id <= ?2 AND period >= ?3 AND period < ?4
                   AND +state <> 'cancelled'
                 ORDER BY customer_id, period",
            )
            .map_err(err)?;
        let mut rows =
            st.query(rusqlite::params![lo, hi, period_back(&q.period, 12)?, q.period]).map_err(err)?;
        while let Some(r) = rows.next().map_err(err)? {
            history.push(BillHistory {
                customer_id: r.get(0).map_err(err)?,
                period: r.get(1).map_err(err)?,
                kwh: from_centi(r.get(2).map_err(err)?),
                ytd_kwh: r.get::<_, Option<i64>>(3).map_err(err)?.map(from_centi),
            });
        }
    }
    // Newest first within each customer, as `BillingChunk::history` promises.
    for run in history.chunk_by_mut(|a, b| a.customer_id == b.customer_id) {
        run.reverse();
    }
    Ok(BillingChunk { accounts, readings, history, scanned_to, already_billed })
}

/// Gives each account (sorted by customer, all within `lo..=hi`) the contract in force over the
/// period: of the contracts overlapping it, the latest to take effect (then the highest id), as
/// the shared path's `ORDER BY effective_from DESC, contract_id DESC LIMIT 1` picks it.
fn load_contracts(
    conn: &Connection,
    accounts: &mut [BillingAccount],
    lo: &str,
    hi: &str,
    first_day: &str,
    last_day: &str,
) -> StoreResult<()> {
    let mut st = conn
        .prepare_cached(
            "SELECT customer_id, contract_id, tariff_id, capacity_kva, pf_standard, due_days, effective_from,
                    effective_to
             FROM contracts WHERE customer_id >= ?1 AND customer_id <= ?2
               AND effective_from <= ?3 AND (effective_to IS NULL OR effective_to >= ?4)
             ORDER BY customer_id, contract_id",
        )
        .map_err(err)?;
    let mut rows = st.query(rusqlite::params![lo, hi, last_day, first_day]).map_err(err)?;
    let mut i = 0;
    while let Some(r) = rows.next().map_err(err)? {
        let customer_id = r.get_ref(0).map_err(err)?.as_str().map_err(|e| err(e.into()))?;
        while i < accounts.len() && accounts[i].customer_id.as_str() < customer_id {
            i += 1;
        }
        let Some(account) = accounts.get_mut(i).filter(|a| a.customer_id == customer_id) else {
            continue; // a customer billed already, or out of the book or scope
        };
        let contract_id: String = r.get(1).map_err(err)?;
        let from: String = r.get(6).map_err(err)?;
        let effective_from = parse_date(&from)?;
        if let Some(c) = &account.contract {
            if (c.effective_from, c.contract_id.as_str()) > (effective_from, contract_id.as_str()) {
                continue; // an older overlapping contract
            }
        }
        let cap: String = r.get(3).map_err(err)?;
        let pf: Option<String> = r.get(4).map_err(err)?;
        let to: Option<String> = r.get(7).map_err(err)?;
        let customer =
            AccountNo::parse("customer_id", customer_id).map_err(|_| corrupt("customer_id", customer_id))?;
        account.contract = Some(Contract {
            customer_id: customer,
            contract_id,
            tariff_id: r.get(2).map_err(err)?,
            capacity_kva: parse_decimal(&cap)?,
            pf_standard: pf.as_deref().map(parse_decimal).transpose()?,
            due_days: r.get(5).map_err(err)?,
            effective_from,
            effective_to: to.as_deref().map(parse_date).transpose()?,
        });
    }
    Ok(())
}

/// Rows per multi-row `INSERT`: one statement, one run of SQLite's program, one opening and closing
/// of the table's and indexes' cursors for this many rows instead of one each. Profiling the writer
/// put about a tenth of its time in ending statements (`sqlite3VdbeHalt`, closing cursors) when it
/// ran one statement per row. The remainder of a chunk goes row by row through the one-row form.
const ROWS_PER_INSERT: usize = 64;

/// A multi-row `INSERT`: `head VALUES (?, ..., ?row_suffix), ... tail`, with `cols` parameters
/// per row.
struct Insert<'a> {
    head: &'a str,
    cols: usize,
    /// Constant values after each row's parameters (", 1").
    row_suffix: &'a str,
    tail: &'a str,
}

impl Insert<'_> {
    fn sql(&self, rows: usize) -> String {
        let mut sql = String::with_capacity(self.head.len() + self.tail.len() + rows * (self.cols * 6 + 8));
        sql.push_str(self.head);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for r in 0..rows {
            sql.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..self.cols {
                n += 1;
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push('?');
                sql.push_str(&n.to_string());
            }
            sql.push_str(self.row_suffix);
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(self.tail);
        sql
    }

    /// Inserts `rows` by statements of [`ROWS_PER_INSERT`] rows (and one row for the remainder),
    /// `bind` binding one row's values from the given one-based parameter index. Each statement is
    /// handed to `run`, which executes it and returns what it counts.
    fn run<T>(
        &self,
        tx: &rusqlite::Transaction<'_>,
        rows: &[T],
        bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<()>,
        mut run: impl FnMut(&mut rusqlite::Statement<'_>) -> rusqlite::Result<u64>,
    ) -> rusqlite::Result<u64> {
        let mut n = 0;
        let mut groups = rows.chunks_exact(ROWS_PER_INSERT);
        if groups.len() > 0 {
            let mut st = tx.prepare_cached(&self.sql(ROWS_PER_INSERT))?;
            for group in &mut groups {
                for (i, row) in group.iter().enumerate() {
                    bind(&mut st, 1 + i * self.cols, row)?;
                }
                n += run(&mut st)?;
            }
        }
        let rest = groups.remainder();
        if !rest.is_empty() {
            let mut st = tx.prepare_cached(&self.sql(1))?;
            for row in rest {
                bind(&mut st, 1, row)?;
                n += run(&mut st)?;
            }
        }
        Ok(n)
    }
}

fn executed(st: &mut rusqlite::Statement<'_>) -> rusqlite::Result<u64> {
    Ok(st.raw_execute()? as u64)
}

fn write(conn: &mut Connection, w: &BillWrite) -> rusqlite::Result<BillWriteCounts> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut counts = BillWriteCounts { estimates: insert_readings(&tx, &w.estimates)?, ..Default::default() };
    // The bills first, learning which were new: a bill already present (another run got there
    // first) keeps the lines it was written with.
    let mut added: std::collections::HashSet<(String, String, i64)> = std::collections::HashSet::new();
    counts.bills = Insert {
        head: "INSERT INTO bills (customer_id, period, revision, bureau_id, book_id, tariff_id, state, start_on, end_on,
           meter_id, multiplier, prev_read_on, curr_read_on, prev_total_c, curr_total_c, estimated, kwh_c,
           ytd_kwh_c, total_fen, funds_fen, paid_fen, issued_on, due_on, created_at, cancelled_at, cancel_reason)",
        cols: 26,
        row_suffix: "",
        tail: "ON CONFLICT DO NOTHING RETURNING customer_id, period, revision",
    }
    .run(
        &tx,
        &w.bills,
        |st, at, x| {
            st.raw_bind_parameter(at, &x.customer_id)?;
            st.raw_bind_parameter(at + 1, &x.period)?;
            st.raw_bind_parameter(at + 2, x.revision)?;
            st.raw_bind_parameter(at + 3, &x.bureau_id)?;
            st.raw_bind_parameter(at + 4, &x.book_id)?;
            st.raw_bind_parameter(at + 5, &x.tariff_id)?;
            st.raw_bind_parameter(at + 6, x.state.code())?;
            st.raw_bind_parameter(at + 7, &x.start_on)?;
            st.raw_bind_parameter(at + 8, &x.end_on)?;
            st.raw_bind_parameter(at + 9, &x.meter_id)?;
            st.raw_bind_parameter(at + 10, x.multiplier)?;
            st.raw_bind_parameter(at + 11, &x.prev_read_on)?;
            st.raw_bind_parameter(at + 12, &x.curr_read_on)?;
            st.raw_bind_parameter(at + 13, to_centi(x.prev_total))?;
            st.raw_bind_parameter(at + 14, to_centi(x.curr_total))?;
            st.raw_bind_parameter(at + 15, x.estimated)?;
            st.raw_bind_parameter(at + 16, to_centi(x.kwh))?;
            st.raw_bind_parameter(at + 17, x.ytd_kwh.map(to_centi))?;
            st.raw_bind_parameter(at + 18, x.total.0)?;
            st.raw_bind_parameter(at + 19, x.funds.0)?;
            st.raw_bind_parameter(at + 20, x.paid.0)?;
            st.raw_bind_parameter(at + 21, &x.issued_on)?;
            st.raw_bind_parameter(at + 22, &x.due_on)?;
            st.raw_bind_parameter(at + 23, x.created_at)?;
            st.raw_bind_parameter(at + 24, x.cancelled_at)?;
            st.raw_bind_parameter(at + 25, &x.cancel_reason)
        },
        |st| {
            let mut rows = st.raw_query();
            let mut n = 0;
            while let Some(r) = rows.next()? {
                added.insert((r.get(0)?, r.get(1)?, r.get(2)?));
                n += 1;
            }
            Ok(n)
        },
    )?;
    let all_new = counts.bills == w.bills.len() as u64;
    let lines: Vec<(&StoredBill, &StoredBillLine)> = w
        .bills
        .iter()
        .filter(|x| all_new || added.contains(&(x.customer_id.clone(), x.period.clone(), x.revision)))
        .flat_map(|x| x.lines.iter().map(move |l| (x, l)))
        .collect();
    Insert {
        head: "INSERT INTO bill_lines (customer_id, period, revision, line_no, code, description_zh, description_en,
           quantity, unit, unit_price, amount_fen, tier, ytd_kwh)",
        cols: 13,
        row_suffix: "",
        tail: "",
    }
    .run(
        &tx,
        &lines,
        |st, at, (x, l)| {
            st.raw_bind_parameter(at, &x.customer_id)?;
            st.raw_bind_parameter(at + 1, &x.period)?;
            st.raw_bind_parameter(at + 2, x.revision)?;
            st.raw_bind_parameter(at + 3, l.line_no)?;
            st.raw_bind_parameter(at + 4, &l.code)?;
            st.raw_bind_parameter(at + 5, &l.description.zh)?;
            st.raw_bind_parameter(at + 6, &l.description.en)?;
            st.raw_bind_parameter(at + 7, l.quantity.to_string())?;
            st.raw_bind_parameter(at + 8, &l.unit)?;
            st.raw_bind_parameter(at + 9, l.unit_price.to_string())?;
            st.raw_bind_parameter(at + 10, l.amount.0)?;
            st.raw_bind_parameter(at + 11, l.tier)?;
            st.raw_bind_parameter(at + 12, l.ytd_kwh.map(|d| d.to_string()))
        },
        executed,
    )?;
    post_charges(&tx, w)?;
    {
        let mut st = tx.prepare_cached(
            "INSERT INTO reading_exceptions (customer_id, period, kind, bureau_id, meter_id, read_on, detail_zh,
               detail_en, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT DO NOTHING",
        )?;
        for e in &w.exceptions {
            counts.exceptions += st.execute(rusqlite::params![
                e.customer_id,
                e.period,
                e.kind.code(),
                e.bureau_id,
                e.meter_id,
                e.read_on,
                e.detail.zh,
                e.detail.en,
                e.created_at,
            ])? as u64;
        }
    }
    tx.commit()?;
    Ok(counts)
}

/// The ledger's charge of each bill, as the shared `post_charges_tx` writes it: every entry kept if
/// already stored (a rerun never doubles a charge), and the ledger version of each customer that
/// was given one raised (created at 1).
fn post_charges(tx: &rusqlite::Transaction<'_>, w: &BillWrite) -> rusqlite::Result<()> {
    if w.charges.is_empty() {
        return Ok(());
    }
    let head = format!("INSERT INTO ledger_entries ({})", crate::ENTRY_COLUMNS);
    Insert { head: &head, cols: 14, row_suffix: "", tail: "ON CONFLICT (customer_id, entry_id) DO NOTHING" }
        .run(
            tx,
            &w.charges,
            |st, at, c| crate::bank_post::bind_entry(st, at, &c.customer_id, &c.entry),
            executed,
        )?;
    let mut ids: Vec<&str> = w.charges.iter().map(|c| c.customer_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    Insert {
        head: "INSERT INTO ledger_versions (customer_id, version)",
        cols: 1,
        row_suffix: ", 1",
        tail: "ON CONFLICT (customer_id) DO UPDATE SET version = ledger_versions.version + 1",
    }
    .run(tx, &ids, |st, at, id| st.raw_bind_parameter(at, id), executed)?;
    Ok(())
}

/// Inserts readings, keeping one already stored for the same meter and day; returns how many were new.
pub(crate) fn insert_readings(tx: &rusqlite::Transaction<'_>, readings: &[Reading]) -> rusqlite::Result<u64> {
    let mut st = tx.prepare_cached(
        "INSERT INTO readings (customer_id, meter_id, read_on, kind, source, total_c, peak_c, flat_c,
           valley_c, max_demand_c, kvarh_c) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (customer_id, meter_id, read_on) DO NOTHING",
    )?;
    let mut added = 0;
    for r in readings {
        added += st.execute(rusqlite::params![
            r.customer_id,
            r.meter_id,
            r.read_on,
            r.kind.code(),
            r.source,
            to_centi(r.total),
            r.peak.map(to_centi),
            r.flat.map(to_centi),
            r.valley.map(to_centi),
            r.max_demand.map(to_centi),
            r.kvarh.map(to_centi),
        ])? as u64;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    //! The chunk writer's multi-row statements: full groups and the remainder, with bills already
    //! present among them (another run got there first), on a migrated database file.
    use super::*;
    use bureau_domain::bill::BillState;
    use bureau_domain::i18n::Text;
    use bureau_domain::ledger::{BillId, Channel, Entry, EntryId, EntryKind};
    use bureau_domain::money::Fen;
    use bureau_domain::tariff::BillPeriod;
    use bureau_store::{CustomerEntry, Store};
    use rust_decimal::Decimal;

    fn bill(n: usize, marker: &str) -> StoredBill {
        let line = |no: i64, fen: i64| StoredBillLine {
            line_no: no,
            code: format!("{marker}{no}"),
            description: Text::new("电费", "energy"),
            quantity: Decimal::from(n as i64),
            unit: "kWh".into(),
            unit_price: "0.51".parse().unwrap(),
            amount: Fen(fen),
            tier: Some(1),
            ytd_kwh: None,
        };
        StoredBill {
            customer_id: format!("23{n:08}"),
            period: "2026-10".into(),
            revision: 0,
            bureau_id: "A".into(),
            book_id: None,
            tariff_id: "hlj-residential".into(),
            state: BillState::Issued,
            start_on: "2026-09-05".into(),
            end_on: "2026-10-04".into(),
            meter_id: "M1".into(),
            multiplier: 1,
            prev_read_on: None,
            curr_read_on: "2026-10-05".into(),
            prev_total: Decimal::ZERO,
            curr_total: Decimal::from(n as i64),
            estimated: false,
            kwh: Decimal::from(n as i64),
            ytd_kwh: None,
            total: Fen(100 + n as i64),
            funds: Fen(0),
            paid: Fen(0),
            issued_on: Some("2026-10-06".into()),
            due_on: Some("2026-10-21".into()),
            created_at: 1_790_000_000,
            cancelled_at: None,
            cancel_reason: None,
            lines: vec![line(1, 60 + n as i64), line(2, 40)],
        }
    }

    fn charge(b: &StoredBill) -> CustomerEntry {
        CustomerEntry {
            customer_id: b.customer_id.clone(),
            entry: Entry {
                id: EntryId(format!("charge-{}", b.period)),
                at: jiff::Timestamp::from_second(b.created_at).unwrap(),
                by: "system".into(),
                channel: Channel::Billing,
                reason: "2026-10 电费".into(),
                kind: EntryKind::Charge {
                    bill: BillId(b.period.clone()),
                    period: BillPeriod::parse("period", "2026-10").unwrap(),
                    due: "2026-10-21".parse().unwrap(),
                    amount: b.total,
                },
            },
        }
    }

    #[test]
    fn sync_checkpoints_every_commit_into_the_file() {
        let path = std::env::temp_dir().join(format!("bureau-sync-{}.db", std::process::id()));
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
        let c = Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        let direct = Direct::new(path.clone());
        direct.sync().expect("nothing holds the checkpoint back");
        // Every frame of the WAL is in the database file now.
        let (log, done): (i64, i64) =
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?))).unwrap();
        assert_eq!(log, done);
        drop((c, direct));
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }

    #[tokio::test]
    async fn groups_and_remainder_keep_bills_already_present() {
        let path = std::env::temp_dir().join(format!("bureau-chunk-writer-{}.db", std::process::id()));
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
        let store = crate::SqlStore::open(&format!("sqlite://{}", path.display())).await.unwrap();
        store.migrate().await.unwrap();
        drop(store);
        let mut conn = Connection::open(&path).unwrap();
        // The customers themselves do not matter here.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();

        // Two full groups of 64 and a remainder of 2; bills 5 (first group), 100 (second) and 129
        // (remainder) were written before by "another run", with other lines and charges.
        let n = 2 * ROWS_PER_INSERT + 2;
        let earlier: Vec<StoredBill> = [5, 100, 129].iter().map(|&i| bill(i, "old")).collect();
        let first = BillWrite {
            charges: earlier.iter().map(charge).collect(),
            bills: earlier,
            ..BillWrite::default()
        };
        assert_eq!(write(&mut conn, &first).unwrap().bills, 3);
        let bills: Vec<StoredBill> = (0..n).map(|i| bill(i, "new")).collect();
        let w = BillWrite { charges: bills.iter().map(charge).collect(), bills, ..BillWrite::default() };
        assert_eq!(write(&mut conn, &w).unwrap().bills, n as u64 - 3, "the three present are not counted");
        assert_eq!(write(&mut conn, &w).unwrap().bills, 0, "a rerun adds nothing");

        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT COUNT(*) FROM bills"), n as i64);
        assert_eq!(count("SELECT COUNT(*) FROM bill_lines"), 2 * n as i64);
        assert_eq!(
            count("SELECT COUNT(*) FROM bill_lines WHERE code LIKE 'old%'"),
            6,
            "kept with their bills"
        );
        assert_eq!(
            count("SELECT COUNT(*) FROM bill_lines WHERE code LIKE 'old%' AND customer_id IN ('2300000005', '2300000100', '2300000129')"),
            6
        );
        assert_eq!(count("SELECT COUNT(*) FROM ledger_entries"), n as i64, "one charge per bill, never two");
        // Every write that gave a customer a charge raised its version: the three earlier ones
        // twice or more, the others once per write (the rerun included).
        assert_eq!(count("SELECT version FROM ledger_versions WHERE customer_id = '2300000005'"), 3);
        assert_eq!(count("SELECT version FROM ledger_versions WHERE customer_id = '2300000006'"), 2);
        assert_eq!(count("SELECT COUNT(*) FROM ledger_versions"), n as i64);
        let fen = count("SELECT SUM(amount_fen) FROM bill_lines WHERE customer_id = '2300000070'");
        assert_eq!(fen, 60 + 70 + 40);
        drop(conn);
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
        }
    }
}
