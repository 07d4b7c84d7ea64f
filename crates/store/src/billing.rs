//! Bills, their lines, the reading exceptions queue and bill runs.
//!
//! A bill row is one revision of the bill of a customer and a billing month. The bill run writes
//! revision 0 with "insert unless present", so that it can be run again (or after being killed) and
//! still leave exactly one bill per customer and period. A correction cancels the live revision and
//! issues the next one in one transaction (退补), keeping the cancelled one readable.

use crate::{Reading, Scope, StoreResult};
use async_trait::async_trait;
use bureau_domain::bill::BillState;
use bureau_domain::i18n::Text;
use bureau_domain::money::Fen;
use bureau_domain::reading::ExceptionKind;
use bureau_domain::register::{Contract, Meter};
use rust_decimal::Decimal;
use serde::Serialize;

/// What the bill run needs of one customer, loaded in one pass for a chunk of customers.
#[derive(Clone, Debug)]
pub struct BillingAccount {
    pub customer_id: String,
    pub bureau_id: String,
    pub book_id: Option<String>,
    /// The book's reading day (抄表例日), if the customer is in a book.
    pub reading_day: Option<i64>,
    /// The active meter.
    pub meter: Option<Meter>,
    /// The contract in force over the period (the latest if several).
    pub contract: Option<Contract>,
}

/// A bill of an earlier period, for the history check and the annual tier counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillHistory {
    pub customer_id: String,
    pub period: String,
    pub kwh: Decimal,
    /// The annual tier counter after that bill (annual tier tariffs only).
    pub ytd_kwh: Option<Decimal>,
}

/// One chunk of customers to bill, with their readings and recent bills.
#[derive(Clone, Debug, Default)]
pub struct BillingChunk {
    /// In account order; only customers without a bill (of any revision) for the period.
    pub accounts: Vec<BillingAccount>,
    /// Readings of these customers from the first day of the month before the period to the last
    /// day of the period, in (customer, meter, date) order.
    pub readings: Vec<Reading>,
    /// Live bills of these customers in the twelve months before the period.
    pub history: Vec<BillHistory>,
    /// The last account the chunk looked at, billed or not: the next chunk starts after it. `None`
    /// when no account was left (the run is over); a chunk may have no account to bill and still
    /// not be the last.
    pub scanned_to: Option<String>,
    /// Customers of the scanned key range left out because they had a bill (of any revision) for
    /// the period already: a run that met none, and started with no bill of the period, knows the
    /// period's totals from its own sums.
    pub already_billed: u64,
}

/// An itemised line of a stored bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredBillLine {
    pub line_no: i64,
    pub code: String,
    pub description: Text,
    pub quantity: Decimal,
    pub unit: String,
    pub unit_price: Decimal,
    pub amount: Fen,
    pub tier: Option<i64>,
    pub ytd_kwh: Option<Decimal>,
}

/// A stored bill revision with its lines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredBill {
    pub customer_id: String,
    /// `YYYY-MM`.
    pub period: String,
    pub revision: i64,
    pub bureau_id: String,
    pub book_id: Option<String>,
    pub tariff_id: String,
    pub state: BillState,
    /// First and last day of consumption.
    pub start_on: String,
    pub end_on: String,
    pub meter_id: String,
    pub multiplier: i64,
    pub prev_read_on: Option<String>,
    pub curr_read_on: String,
    pub prev_total: Decimal,
    pub curr_total: Decimal,
    /// Billed on an estimated reading (估抄, 供电营业规则 Art. 83).
    pub estimated: bool,
    pub kwh: Decimal,
    pub ytd_kwh: Option<Decimal>,
    /// The sum of the lines.
    pub total: Fen,
    /// Government funds contained in the total, for remittance.
    pub funds: Fen,
    pub paid: Fen,
    pub issued_on: Option<String>,
    pub due_on: Option<String>,
    pub created_at: i64,
    pub cancelled_at: Option<i64>,
    pub cancel_reason: Option<String>,
    pub lines: Vec<StoredBillLine>,
}

/// A reading held for review instead of billed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReadingException {
    pub customer_id: String,
    pub period: String,
    pub kind: ExceptionKind,
    pub bureau_id: String,
    pub meter_id: Option<String>,
    pub read_on: Option<String>,
    pub detail: Text,
    pub created_at: i64,
}

/// What one chunk of a bill run writes, in one transaction.
#[derive(Clone, Debug, Default)]
pub struct BillWrite {
    pub bills: Vec<StoredBill>,
    pub exceptions: Vec<ReadingException>,
    /// Estimated readings (估抄) made for missing ones.
    pub estimates: Vec<Reading>,
    /// The ledger's charge entry of each bill (客户电费账), written in the same transaction; an
    /// entry already stored (same customer and entry id) is kept, so a rerun never doubles it.
    pub charges: Vec<crate::CustomerEntry>,
}

/// What a write actually added (rows already present are not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BillWriteCounts {
    pub bills: u64,
    pub exceptions: u64,
    pub estimates: u64,
}

/// A bill run's record: who started it, when, and what it issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BillRunRecord {
    pub run_id: String,
    pub period: String,
    pub book_id: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub bills: u64,
    pub kwh: Decimal,
    pub total: Fen,
    pub exceptions: u64,
    pub started_by: String,
    /// The background job the run belongs to (`bill_run_jobs`); `None` for a run from the command line.
    pub job_id: Option<String>,
    /// How the run ended; `None` while it runs.
    pub ended: Option<BillRunEnd>,
}

/// How a bill run ended (migration 0018).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BillRunEnd {
    /// Its own process ended it, with its counts.
    Finished,
    /// Its process died and another server took its job over (or a new start superseded the job):
    /// `finished_at` is the time of the takeover. The record's counts stay as the run last saved
    /// them (none: a run saves its counts at its end), so the bills it wrote before it died are in
    /// no run's counts; the job's summary (its period totals) and the bills themselves have them.
    TakenOver,
}

impl BillRunEnd {
    pub fn code(self) -> &'static str {
        match self {
            BillRunEnd::Finished => "finished",
            BillRunEnd::TakenOver => "taken_over",
        }
    }

    pub fn parse(code: &str) -> Option<BillRunEnd> {
        match code {
            "finished" => Some(BillRunEnd::Finished),
            "taken_over" => Some(BillRunEnd::TakenOver),
            _ => None,
        }
    }
}

/// Live bills and open exceptions of a period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PeriodTotals {
    pub bills: u64,
    pub kwh: Decimal,
    pub total: Fen,
    /// Exceptions of customers that still have no live bill for the period.
    pub open_exceptions: u64,
}

#[async_trait]
pub trait BillStore {
    /// The next chunk of customers to bill for `period` (`YYYY-MM`), after account `after`, at most
    /// `limit` of them; customers already billed for the period (any revision) are left out, so a
    /// chunk may be empty and not the last: go on after its `scanned_to`.
    async fn billing_chunk(
        &self,
        scope: &Scope,
        period: &str,
        book_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<BillingChunk>;
    /// One customer's billing inputs for a period, whether or not it is billed already (for a
    /// rebill); the history leaves out the period itself.
    async fn billing_account(
        &self,
        scope: &Scope,
        customer_id: &str,
        period: &str,
    ) -> StoreResult<BillingChunk>;
    /// Writes a chunk's bills, lines, exceptions and estimated readings in one transaction; rows
    /// already present are kept as they are.
    async fn write_bills(&self, write: std::sync::Arc<BillWrite>) -> StoreResult<BillWriteCounts>;
    /// Every revision of a customer's bills, newest period first, with lines.
    async fn bills_of(&self, customer_id: &str, limit: u32) -> StoreResult<Vec<StoredBill>>;
    /// One bill revision with its lines; `revision` `None` is the live one (else the latest).
    async fn get_bill(
        &self,
        customer_id: &str,
        period: &str,
        revision: Option<i64>,
    ) -> StoreResult<StoredBill>;
    /// Live bills of a period in account order after `after`, without lines.
    async fn list_bills(
        &self,
        scope: &Scope,
        period: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<StoredBill>>;
    /// Cancels the live revision and stores `replacement` (the next revision) in one transaction,
    /// with `adjustment`, the ledger entry (退补) that moves the bill's charge from the cancelled
    /// amount to the replacement's. `NotFound` when there is no live revision `revision`.
    #[allow(clippy::too_many_arguments)] // one transaction, all of it
    async fn cancel_bill(
        &self,
        customer_id: &str,
        period: &str,
        revision: i64,
        reason: &str,
        at: i64,
        replacement: Option<&StoredBill>,
        adjustment: Option<&crate::CustomerEntry>,
    ) -> StoreResult<()>;
    /// Open exceptions of a period (customers without a live bill), in account order.
    async fn list_exceptions(
        &self,
        scope: &Scope,
        period: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<ReadingException>>;
    async fn period_totals(&self, scope: &Scope, period: &str) -> StoreResult<PeriodTotals>;
    /// Whether any bill of the period (of any revision) exists in scope.
    async fn period_has_bills(&self, scope: &Scope, period: &str) -> StoreResult<bool>;
    /// Customers in scope with an open reading exception for the period and no live bill for it
    /// (`PeriodTotals::open_exceptions`).
    async fn open_exception_count(&self, scope: &Scope, period: &str) -> StoreResult<u64>;
    async fn save_bill_run(&self, run: &BillRunRecord) -> StoreResult<()>;
    async fn list_bill_runs(&self, limit: u32) -> StoreResult<Vec<BillRunRecord>>;
    /// How many chunks of a bill run may be written at once. Chunks hold disjoint customers, so
    /// their transactions never touch the same rows; SQLite has one writer, so 1 there.
    fn bill_writers(&self) -> usize {
        1
    }
    /// Makes every transaction committed so far durable on disk, so that a finished bill run's
    /// bills survive a power cut, not only a crash of the program. (SQLite's `synchronous = NORMAL`
    /// leaves the last commits in an unsynced WAL; one sync at the end costs what a sync per chunk
    /// would cost two thousand times over at ten million customers.)
    async fn sync_to_disk(&self) -> StoreResult<()>;
}

/// Bill run jobs started from the web, in the database so that they outlive their process.
#[async_trait]
pub trait BillRunJobStore {
    /// Registers a running job, unless a job of the same period is running with a heartbeat at or
    /// after `stale_before`: then that job is answered (`Some`) and nothing is written. A running job
    /// of the period with an older heartbeat (its process died) is marked failed first, and its
    /// unfinished run record closed as taken over. The guard
    /// holds across processes (a unique index on the running job of a period).
    async fn claim_bill_run_job(
        &self,
        job: &BillRunJob,
        stale_before: i64,
    ) -> StoreResult<Option<BillRunJob>>;
    /// Renews the heartbeat of a running job held by `owner` and records its progress; `false` when
    /// the job is no longer this owner's (taken over, or finished).
    async fn heartbeat_bill_run_job(
        &self,
        job_id: &str,
        owner: &str,
        now: i64,
        customers_done: u64,
    ) -> StoreResult<bool>;
    /// Takes over a running job whose heartbeat is older than `stale_before` (its process died):
    /// `false` when it is not running or another process holds it alive. The dead process's
    /// unfinished run record of the job is closed as taken over at `now`, in the same transaction.
    async fn take_over_bill_run_job(
        &self,
        job_id: &str,
        owner: &str,
        now: i64,
        stale_before: i64,
    ) -> StoreResult<bool>;
    /// Ends a running job held by `owner` with its state (`done` or `failed`), progress, summary
    /// (JSON) or error; `false` when the job is no longer this owner's.
    async fn finish_bill_run_job(&self, end: &BillRunJobEnd) -> StoreResult<bool>;
    async fn get_bill_run_job(&self, job_id: &str) -> StoreResult<BillRunJob>;
    /// Jobs newest first; `running_only` for the ones still running (or abandoned by a dead process).
    async fn list_bill_run_jobs(&self, running_only: bool, limit: u32) -> StoreResult<Vec<BillRunJob>>;
}

/// A bill run started from the web, kept in the database so that it outlives the process running
/// it (see migration 0015).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BillRunJob {
    pub job_id: String,
    pub period: String,
    pub book_id: Option<String>,
    pub started_by: String,
    pub estimate_missing: bool,
    /// The issue date of the bills (`YYYY-MM-DD`), kept so that a resumed run issues alike.
    pub issue_on: String,
    /// Customers per chunk of the run.
    pub chunk: u32,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// The process holding the job.
    pub owner: String,
    /// Unix seconds.
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub finished_at: Option<i64>,
    pub customers_done: u64,
    pub customers_total: u64,
    /// How many times a process took the job over from a dead one.
    pub takeovers: u64,
    /// The run's summary, JSON, once done.
    pub summary_json: Option<String>,
    pub error: Option<Text>,
}

/// How a job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillRunJobEnd {
    pub job_id: String,
    pub owner: String,
    /// `done` or `failed`.
    pub state: String,
    pub finished_at: i64,
    pub customers_done: u64,
    pub summary_json: Option<String>,
    pub error: Option<Text>,
}
