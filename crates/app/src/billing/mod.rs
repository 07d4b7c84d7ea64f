//! Billing use cases: the bill run (出账), bills and their corrections (退补), the reading
//! exceptions queue, reading imports and the bill quote (电费试算).
//!
//! The bill run reads customers in account order, a chunk at a time, together with their readings
//! and recent bills (three key-range queries per chunk, never one query per customer); computes the
//! chunk's bills on every core; and writes each chunk in one transaction with "insert unless
//! present". Three stages overlap: chunk k + 1 loads while chunk k is computed and chunk k - 1 is
//! written. A run killed at any point
//! and started again skips the customers that already have a bill and finishes the rest: exactly
//! one bill per customer and period.

mod compute;
#[cfg(test)]
mod compute_tests;
pub mod exceptions;
pub mod extras;
pub mod jobs;
pub mod readings;

pub use compute::{bill_account, Ctx, Outcome};

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::bill::BillState;
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Lang;
use bureau_domain::money::Fen;
use bureau_domain::org::Role;
use bureau_domain::reading::ReadingRules;
use bureau_domain::tariff::{quote as tariff_quote, BillPeriod, Quote, QuoteRequest, TariffBook};
use bureau_store::{
    BillRunEnd, BillRunRecord, BillWrite, BillingChunk, BillingExtras, DynStore, PeriodTotals,
    ReadingException, StoreError, StoredBill,
};
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;

/// Roles that may run bills and correct them.
const BILLING_ROLES: &[Role] = &[Role::CounterClerk, Role::Manager];

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub period: BillPeriod,
    pub book_id: Option<String>,
    /// Customers per chunk (one read pass and one write transaction each).
    pub chunk: u32,
    /// Compute threads (default: the machine's cores).
    pub threads: usize,
    pub today: Date,
    pub estimate_missing: bool,
    pub rules: ReadingRules,
    /// The background job running this run, written on its record so that a server taking the
    /// job over can close the record a dead process left unfinished.
    pub job_id: Option<String>,
}

impl RunOptions {
    pub fn new(period: BillPeriod, today: Date) -> RunOptions {
        RunOptions {
            period,
            book_id: None,
            chunk: 5000,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            today,
            estimate_missing: false,
            rules: ReadingRules::default(),
            job_id: None,
        }
    }
}

/// What a run did, and where the period stands after it.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct RunSummary {
    pub period: String,
    /// Customers looked at (those without a bill for the period when the run started).
    pub customers: u64,
    /// Bills this run issued.
    pub bills: u64,
    pub kwh: Decimal,
    pub total: Fen,
    /// Exceptions this run recorded (new ones; an exception already queued is not counted again).
    pub exceptions: u64,
    pub estimates: u64,
    /// The period after the run: every live bill and every open exception.
    pub period_totals: PeriodTotals,
    /// Seconds spent loading chunks, computing bills and writing them (writing overlaps the next
    /// chunk's loading and computing, so the three may add up to more than the wall time).
    pub load_seconds: f64,
    pub compute_seconds: f64,
    pub write_seconds: f64,
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The id of a run's record: period, book and start second as before, then the millisecond and a
/// random part, because two runs of one period and book can start in the same second (two clerks,
/// or a retry) and each must keep its own record. The zero-padded millisecond first keeps the
/// history's order (start second, then id, newest first) the order the runs started in.
fn run_id(period: &str, book: Option<&str>, started: jiff::Timestamp) -> String {
    let mut random = [0u8; 4];
    getrandom::getrandom(&mut random).expect("operating system random source");
    format!(
        "{period}-{}-{}-{:03}{:08x}",
        book.unwrap_or("all"),
        started.as_second(),
        started.subsec_millisecond(),
        u32::from_le_bytes(random)
    )
}

/// Computes a loaded chunk on `threads` threads.
fn compute_chunk(ctx: &Ctx, chunk: &BillingChunk, extras: &BillingExtras, threads: usize) -> BillWrite {
    // The rows come in account order: slice readings and history per account with two cursors.
    let mut spans = Vec::with_capacity(chunk.accounts.len());
    let (mut ri, mut hi) = (0, 0);
    for a in &chunk.accounts {
        let id = a.customer_id.as_str();
        while ri < chunk.readings.len() && chunk.readings[ri].customer_id.as_str() < id {
            ri += 1;
        }
        let r0 = ri;
        while ri < chunk.readings.len() && chunk.readings[ri].customer_id == id {
            ri += 1;
        }
        while hi < chunk.history.len() && chunk.history[hi].customer_id.as_str() < id {
            hi += 1;
        }
        let h0 = hi;
        while hi < chunk.history.len() && chunk.history[hi].customer_id == id {
            hi += 1;
        }
        spans.push((r0..ri, h0..hi));
    }
    let per = chunk.accounts.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<BillWrite> = std::thread::scope(|s| {
        let handles: Vec<_> = chunk
            .accounts
            .chunks(per)
            .zip(spans.chunks(per))
            .map(|(accounts, spans)| {
                s.spawn(move || {
                    let mut w = BillWrite::default();
                    for (a, (r, h)) in accounts.iter().zip(spans) {
                        let x = self::extras::CustomerExtras::of(extras, &a.customer_id);
                        match bill_account(ctx, a, &chunk.readings[r.clone()], &chunk.history[h.clone()], x) {
                            Outcome::Bill(b, est) => {
                                w.bills.push(*b);
                                w.estimates.extend(est);
                            }
                            Outcome::Held(e) => w.exceptions.extend(e),
                        }
                    }
                    w
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("bill computation does not panic")).collect()
    });
    let mut out = BillWrite::default();
    for p in parts {
        out.bills.extend(p.bills);
        out.exceptions.extend(p.exceptions);
        out.estimates.extend(p.estimates);
    }
    out
}

/// Runs the bills of a period: see the module documentation. `progress` is told how many customers
/// each chunk covered.
pub async fn run(
    store: &DynStore,
    actor: &Actor,
    tariffs: &TariffBook,
    opts: &RunOptions,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> AppResult<RunSummary> {
    actor.require_any(BILLING_ROLES)?;
    if let Some(book) = &opts.book_id {
        if !store.book_exists(book).await? {
            return Err(AppError::Invalid(vec![FieldError::new(
                "book",
                "unknown",
                format!("没有这个抄表段：{book}"),
                format!("no such reading book: {book}"),
            )]));
        }
    }
    let period = opts.period.to_string();
    let started = jiff::Timestamp::now();
    let started_at = started.as_second();
    let run_id = run_id(&period, opts.book_id.as_deref(), started);
    let mut record = BillRunRecord {
        run_id,
        period: period.clone(),
        book_id: opts.book_id.clone(),
        started_at,
        finished_at: None,
        bills: 0,
        kwh: Decimal::ZERO,
        total: Fen(0),
        exceptions: 0,
        started_by: actor.staff_id.clone(),
        job_id: opts.job_id.clone(),
        ended: None,
    };
    store.save_bill_run(&record).await?;
    // A run over the whole scope that starts with no bill of the period, meets no customer billed
    // meanwhile and has every bill it computed accepted, wrote every bill of the period: its own
    // sums are the period's totals, and summing the bills again afterwards (10 s of a 10,000,000-
    // customer run) is not needed. Otherwise the totals are read from the database.
    let mut own_sums_complete =
        opts.book_id.is_none() && !store.period_has_bills(&actor.scope, &period).await?;

    let mut summary = RunSummary { period: period.clone(), ..Default::default() };
    // Chunks being written, oldest first: as many at once as the store writes in parallel.
    let mut pending: std::collections::VecDeque<Pending> = std::collections::VecDeque::new();
    let writers = store.bill_writers().max(1);
    let tariffs = std::sync::Arc::new(tariffs.clone());
    // Three stages overlap: chunk k + 1 loads while chunk k is computed and chunk k - 1 (with
    // earlier ones on a store with parallel writers) is written.
    let load = |after: Option<String>| {
        let (store, scope, period, book, limit) =
            (store.clone(), actor.scope.clone(), period.clone(), opts.book_id.clone(), opts.chunk);
        tokio::spawn(async move {
            let t0 = std::time::Instant::now();
            let chunk =
                match store.billing_chunk(&scope, &period, book.as_deref(), after.as_deref(), limit).await {
                    Ok(c) => extras::load(&store, &c, &period).await.map(|x| (c, x)),
                    Err(e) => Err(e),
                };
            (chunk, t0.elapsed().as_secs_f64())
        })
    };
    let mut next = load(None);
    loop {
        let (chunk, secs) = next
            .await
            .map_err(|e| AppError::Store(StoreError::Database(format!("bill run load failed: {e}"))))?;
        let (chunk, extras) = chunk?;
        summary.load_seconds += secs;
        own_sums_complete &= chunk.already_billed == 0;
        let Some(scanned_to) = chunk.scanned_to.clone() else { break };
        next = load(Some(scanned_to));
        if chunk.accounts.is_empty() {
            continue; // every customer of this key range is billed already (a rerun)
        }
        let n = chunk.accounts.len() as u64;
        summary.customers += n;
        let by = actor.staff_id.clone();
        let (tariffs2, rules, period_v, today, est, threads) = (
            tariffs.clone(),
            opts.rules.clone(),
            opts.period,
            opts.today,
            opts.estimate_missing,
            opts.threads,
        );
        let t1 = std::time::Instant::now();
        let write = tokio::task::spawn_blocking(move || {
            let ctx = Ctx {
                tariffs: &tariffs2,
                rules: &rules,
                period: period_v,
                today,
                now: now_unix(),
                estimate_missing: est,
            };
            let mut write = compute_chunk(&ctx, &chunk, &extras, threads);
            write.charges = crate::payments::charges_for(&write.bills, &by);
            write
        })
        .await
        .map_err(|e| AppError::Store(StoreError::Database(format!("bill computation failed: {e}"))))?;
        summary.compute_seconds += t1.elapsed().as_secs_f64();
        if pending.len() >= writers {
            if let Some(h) = pending.pop_front() {
                own_sums_complete &= absorb(&mut summary, h).await?;
            }
        }
        let store2 = store.clone();
        pending.push_back(tokio::spawn(async move {
            let t2 = std::time::Instant::now();
            let write = std::sync::Arc::new(write);
            let counts = store2.write_bills(write.clone()).await?;
            Ok((write, counts, t2.elapsed().as_secs_f64()))
        }));
        progress(n);
    }
    while let Some(h) = pending.pop_front() {
        own_sums_complete &= absorb(&mut summary, h).await?;
    }
    summary.period_totals = if own_sums_complete {
        PeriodTotals {
            bills: summary.bills,
            kwh: summary.kwh,
            total: summary.total,
            open_exceptions: store.open_exception_count(&actor.scope, &period).await?,
        }
    } else {
        store.period_totals(&actor.scope, &period).await?
    };
    record.finished_at = Some(now_unix());
    record.ended = Some(BillRunEnd::Finished);
    record.bills = summary.bills;
    record.kwh = summary.kwh;
    record.total = summary.total;
    record.exceptions = summary.exceptions;
    store.save_bill_run(&record).await?;
    // The run reports its bills once they are on disk.
    store.sync_to_disk().await?;
    Ok(summary)
}

/// A chunk being written: what was written, the counts, and the seconds it took.
type Pending =
    tokio::task::JoinHandle<AppResult<(std::sync::Arc<BillWrite>, bureau_store::BillWriteCounts, f64)>>;

/// Adds a written chunk to the summary; false when some of its bills were there already (another
/// run wrote them first), so that the run's own sums miss them.
async fn absorb(summary: &mut RunSummary, h: Pending) -> AppResult<bool> {
    let (write, counts, secs) =
        h.await.map_err(|e| AppError::Store(StoreError::Database(format!("bill write failed: {e}"))))??;
    summary.write_seconds += secs;
    summary.bills += counts.bills;
    summary.exceptions += counts.exceptions;
    summary.estimates += counts.estimates;
    // The loader leaves out billed customers, so every bill computed here was new unless another
    // run wrote it at the same time; the period totals after the run are the database's own sums.
    let all_new = counts.bills == write.bills.len() as u64;
    if all_new {
        for b in &write.bills {
            summary.kwh += b.kwh;
            summary.total += b.total;
        }
    }
    Ok(all_new)
}

/// A bill quote (电费试算) on the builtin or operator tariffs; anyone logged in may ask.
pub fn quote(tariffs: &TariffBook, req: &QuoteRequest, lang: Lang) -> AppResult<Quote> {
    Ok(tariff_quote(tariffs, req, lang)?)
}

/// A customer's bills, newest first, all revisions (cancelled ones included, so that a rebill's
/// history reads in order).
pub async fn bills_of(
    store: &DynStore,
    actor: &Actor,
    customer_id: &str,
    limit: u32,
) -> AppResult<Vec<StoredBill>> {
    let c = store
        .get_customer(&actor.scope, customer_id)
        .await
        .map_err(|e| AppError::or_not_found(e, "customer", customer_id))?;
    actor.require_bureau(&c.bureau_id)?;
    Ok(store.bills_of(customer_id, limit.clamp(1, 240)).await?)
}

/// One bill (the live revision unless `revision` is given), for the bill page.
pub async fn bill(
    store: &DynStore,
    actor: &Actor,
    customer_id: &str,
    period: &str,
    revision: Option<i64>,
) -> AppResult<(bureau_domain::register::Customer, StoredBill)> {
    BillPeriod::parse("period", period)?;
    let c = store
        .get_customer(&actor.scope, customer_id)
        .await
        .map_err(|e| AppError::or_not_found(e, "customer", customer_id))?;
    let b = store
        .get_bill(customer_id, period, revision)
        .await
        .map_err(|e| AppError::or_not_found(e, "bill", &format!("{customer_id}/{period}")))?;
    Ok((c, b))
}

/// A correction a member of staff may start on a period's bill, judged from its latest revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Correction {
    /// The period has a live bill: cancel-and-rebill (退补) or cancel only (作废).
    CancelOrRebill,
    /// The latest revision is cancelled and nothing replaced it: 作废后重新发行.
    Reissue,
}

/// The correction `actor` may start on a period whose latest revision is `latest`, if any: the
/// roles and states [`cancel_and_rebill`] and [`reissue`] accept, so that a page offers only what
/// they would take (they still decide, and refuse with the reason, whatever a page offered).
pub fn correction_for(actor: &Actor, latest: &StoredBill) -> Option<Correction> {
    actor.require_any(BILLING_ROLES).ok()?;
    if latest.state == BillState::Cancelled {
        Some(Correction::Reissue)
    } else if latest.state.may_become(BillState::Cancelled) {
        Some(Correction::CancelOrRebill)
    } else {
        None
    }
}

/// Cancel-and-rebill (退补): cancels the live revision and, unless `rebill` is false, issues the next
/// revision recomputed from the readings as they are now (corrected readings imported since are
/// used). The cancelled revision stays readable.
#[allow(clippy::too_many_arguments)] // the use case takes that many inputs
pub async fn cancel_and_rebill(
    store: &DynStore,
    actor: &Actor,
    tariffs: &TariffBook,
    customer_id: &str,
    period: &str,
    reason: &str,
    rebill: bool,
    today: Date,
) -> AppResult<Option<StoredBill>> {
    actor.require_any(BILLING_ROLES)?;
    let p = BillPeriod::parse("period", period)?;
    let reason = bureau_domain::error::required("reason", reason)?;
    let (_, live) = bill(store, actor, customer_id, period, None).await?;
    if live.state == BillState::Cancelled {
        return Err(AppError::Conflict(FieldError::new(
            "state",
            "cancelled",
            "账单已作废",
            "the bill is already cancelled",
        )));
    }
    live.state.to(BillState::Cancelled)?;
    let replacement = if rebill {
        Some(recompute(store, actor, tariffs, customer_id, p, today, live.revision + 1).await?)
    } else {
        None
    };
    let at = jiff::Timestamp::now();
    let adjustment =
        crate::payments::rebill_adjustment(&live, replacement.as_ref(), &actor.staff_id, reason, at);
    store
        .cancel_bill(
            customer_id,
            period,
            live.revision,
            reason,
            at.as_second(),
            replacement.as_ref(),
            adjustment.as_ref(),
        )
        .await?;
    Ok(replacement)
}

/// A customer's bill for a period recomputed from the readings as they are now, as `revision`
/// (a rebill or a reissue); a reading held by the checks is refused with its reason.
async fn recompute(
    store: &DynStore,
    actor: &Actor,
    tariffs: &TariffBook,
    customer_id: &str,
    period: BillPeriod,
    today: Date,
    revision: i64,
) -> AppResult<StoredBill> {
    match exceptions::compute_one(store, actor, tariffs, customer_id, period, today).await? {
        Outcome::Bill(mut b, _) => {
            b.revision = revision;
            Ok(*b)
        }
        Outcome::Held(e) => {
            let e: &ReadingException = &e[0];
            Err(AppError::Invalid(vec![FieldError::new(
                "readings",
                "held",
                e.detail.zh.clone(),
                e.detail.en.clone(),
            )]))
        }
    }
}

/// Reissues a period whose bill was cancelled without a rebill (作废后重新发行): a bill cancelled
/// in error, or whose corrected readings arrived later. The next revision is computed from the
/// readings as they are now, and the ledger gets an adjustment on the period's bill of its total,
/// which undoes the cancellation's (the ledger keeps one charge per period and settles every
/// later change as an adjustment, as `cancel_and_rebill` does). The bill run never reissues: it
/// leaves out every customer with a bill of the period, cancelled or not.
///
/// Two reissues at once compute the same revision and the same entry id, so the first to commit
/// writes both and the other writes nothing and is answered with a conflict.
pub async fn reissue(
    store: &DynStore,
    actor: &Actor,
    tariffs: &TariffBook,
    customer_id: &str,
    period: &str,
    reason: &str,
    today: Date,
) -> AppResult<StoredBill> {
    actor.require_any(BILLING_ROLES)?;
    let p = BillPeriod::parse("period", period)?;
    let reason = bureau_domain::error::required("reason", reason)?;
    let (_, latest) = bill(store, actor, customer_id, period, None).await?;
    if latest.state != BillState::Cancelled {
        return Err(AppError::Conflict(FieldError::new(
            "state",
            "live",
            "本期账单未作废，请用退补重新计算",
            "the period's bill is not cancelled; use cancel-and-rebill to recompute it",
        )));
    }
    let b = recompute(store, actor, tariffs, customer_id, p, today, latest.revision + 1).await?;
    let at = jiff::Timestamp::now();
    let mut write = BillWrite::default();
    write.charges.extend(crate::payments::reissue_adjustment(&b, &actor.staff_id, reason, at));
    write.bills.push(b.clone());
    let counts = store.write_bills(std::sync::Arc::new(write)).await?;
    if counts.bills != 1 {
        return Err(AppError::Conflict(FieldError::new(
            "state",
            "reissued",
            "本期账单已由他人重新发行",
            "the period's bill was reissued by someone else meanwhile",
        )));
    }
    store.sync_to_disk().await?;
    Ok(b)
}

/// Open exceptions of a period.
pub async fn exceptions(
    store: &DynStore,
    actor: &Actor,
    period: &str,
    after: Option<&str>,
    limit: u32,
) -> AppResult<Vec<ReadingException>> {
    BillPeriod::parse("period", period)?;
    Ok(store.list_exceptions(&actor.scope, period, after, limit.clamp(1, 1000)).await?)
}
