//! Fee-collection reports (电费回收) for managers: the collection rate by month, by department and
//! by reading book, aged receivables (账龄) and the customers in arrears, each with a CSV export.
//!
//! Everything is folded from the ledger as the books stood at a cut-off instant
//! (`bureau_domain::ledger::fold_until`), so that a later payment never changes a closed month's
//! figure; the aggregations themselves are the pure ones of `bureau_domain::collection`.
//!
//! A customer's *department* is the unit (营业所 / 供电所) of the meter reader assigned to the
//! customer's reading book: that is the unit that reads, bills and collects the book. A customer
//! without a book, or a book without a reader, falls under "unassigned" (empty key).

mod csv;

pub use csv::{aging_csv, arrears_csv, rates_csv};

use crate::access::Actor;
use crate::error::AppResult;
use bureau_domain::calendar::beijing;
use bureau_domain::collection::{self as col, AgingBuckets, CollectionRate};
use bureau_domain::error::FieldError;
use bureau_domain::ledger::{fold_until, LedgerState};
use bureau_domain::money::Fen;
use bureau_domain::org::Role;
use bureau_domain::register::Customer;
use bureau_domain::tariff::BillPeriod;
use bureau_store::DynStore;
use jiff::civil::Date;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;

/// Roles that see the collection reports.
pub const REPORT_ROLES: &[Role] = &[Role::Manager, Role::CounterClerk];

/// Customers read from the store per round trip.
const PAGE: u32 = 500;

/// One customer's position at the cut-off, with the keys the reports group by.
#[derive(Clone, Debug)]
pub struct Position {
    pub customer: Customer,
    /// Org unit of the book's reader; empty when unassigned.
    pub department: String,
    pub state: LedgerState,
}

/// Every customer in the actor's scope folded at `cut_off` (those without entries are left out).
pub async fn positions(store: &DynStore, actor: &Actor, cut_off: Timestamp) -> AppResult<Vec<Position>> {
    let books = store.list_books(&actor.scope).await?;
    let staff = store.list_staff(&actor.scope).await?;
    let unit_of_staff: HashMap<&str, &str> =
        staff.iter().map(|s| (s.id.as_str(), s.org_unit_id.as_str())).collect();
    let dept_of_book: HashMap<String, String> = books
        .iter()
        .map(|b| {
            let unit = b.reader_id.as_deref().and_then(|r| unit_of_staff.get(r)).copied().unwrap_or("");
            (b.id.clone(), unit.to_string())
        })
        .collect();
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let customers = store.list_customers(&actor.scope, after.as_deref(), PAGE).await?;
        let Some(last) = customers.last() else { break };
        after = Some(last.id.as_str().to_string());
        let ids: Vec<String> = customers.iter().map(|c| c.id.as_str().to_string()).collect();
        let ledgers = store.ledgers_of(&ids).await?;
        for (c, l) in customers.into_iter().zip(ledgers) {
            if l.entries.is_empty() {
                continue;
            }
            let department =
                c.book_id.as_ref().and_then(|b| dept_of_book.get(b)).cloned().unwrap_or_default();
            out.push(Position { state: fold_until(&l.entries, cut_off), department, customer: c });
        }
        if ids.len() < PAGE as usize {
            break;
        }
    }
    Ok(out)
}

/// The end of a Beijing day: the books as they stood when that day closed.
pub fn end_of_day(day: Date) -> Timestamp {
    day.tomorrow().ok().and_then(|d| beijing::start_of(d).ok()).unwrap_or(Timestamp::MAX)
}

/// How to group the collection rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One row per billing month, monthly and cumulative (当月 / 累计).
    Month,
    /// One row per department (the reader's unit).
    Department,
    /// One row per reading book (抄表段).
    Book,
}

impl GroupBy {
    pub fn parse(s: Option<&str>) -> Result<GroupBy, FieldError> {
        match s.unwrap_or("month") {
            "month" => Ok(GroupBy::Month),
            "department" => Ok(GroupBy::Department),
            "book" => Ok(GroupBy::Book),
            other => Err(FieldError::invalid(
                "by",
                format!("分组“{other}”无效，应为 month、department 或 book"),
                format!("group '{other}' is unknown; use month, department or book"),
            )),
        }
    }
}

/// A row of the collection-rate report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RateRow {
    /// The month (`YYYY-MM`), department id or book id; empty for unassigned; `total` for the
    /// total row.
    pub key: String,
    /// The department's or book's name, when known.
    pub name: String,
    pub billed: Fen,
    pub collected: Fen,
    pub outstanding: Fen,
    pub bills: u64,
    /// Per cent with two decimals, `None` when nothing was billed.
    pub percent: Option<String>,
    /// Month rows only: the cumulative rate from January (累计回收率).
    pub cumulative: Option<CumulativeCell>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CumulativeCell {
    pub billed: Fen,
    pub collected: Fen,
    pub percent: Option<String>,
}

/// The collection-rate report over the bills of `from..=to` at `cut_off`.
#[derive(Clone, Debug, Serialize)]
pub struct RateReport {
    pub from: String,
    pub to: String,
    pub by: GroupBy,
    #[serde(serialize_with = "beijing::serialize")]
    pub cut_off: Timestamp,
    pub rows: Vec<RateRow>,
    pub total: RateRow,
}

fn percent(r: &CollectionRate) -> Option<String> {
    r.percent().map(|p| format!("{p:.2}"))
}

fn row(key: String, name: String, r: &CollectionRate) -> RateRow {
    RateRow {
        key,
        name,
        billed: r.billed,
        collected: r.collected,
        outstanding: r.outstanding(),
        bills: r.bills,
        percent: percent(r),
        cumulative: None,
    }
}

/// The months from `from` to `to`, both included.
pub fn months(from: BillPeriod, to: BillPeriod) -> Vec<BillPeriod> {
    let mut out = Vec::new();
    let mut p = from;
    while p <= to && out.len() < 1200 {
        out.push(p);
        let (y, m) = if p.month == 12 { (p.year + 1, 1) } else { (p.year, p.month + 1) };
        match BillPeriod::new("to", y, m) {
            Ok(n) => p = n,
            Err(_) => break,
        }
    }
    out
}

/// Parses the report's months: `from` (required) and `to` (default `from`), `to` not before `from`.
pub fn parse_months(from: &str, to: Option<&str>) -> Result<(BillPeriod, BillPeriod), Vec<FieldError>> {
    let f = BillPeriod::parse("from", from);
    let t = BillPeriod::parse("to", to.unwrap_or(from));
    match (f, t) {
        (Ok(f), Ok(t)) if t < f => Err(vec![FieldError::invalid(
            "to",
            "结束月份不能早于开始月份",
            "the last month is before the first",
        )]),
        (Ok(f), Ok(t)) => Ok((f, t)),
        (f, t) => Err([f.err(), t.err()].into_iter().flatten().collect()),
    }
}

/// The default cut-off of a report over months ending with `to`: the end of `to`'s last day.
pub fn default_cut_off(to: BillPeriod) -> Timestamp {
    end_of_day(to.last_day())
}

/// The collection rate (电费回收率) of the bills of `from..=to`, grouped `by`, at `cut_off`.
pub async fn collection_rates(
    store: &DynStore,
    actor: &Actor,
    from: BillPeriod,
    to: BillPeriod,
    by: GroupBy,
    cut_off: Timestamp,
) -> AppResult<RateReport> {
    actor.require_any(REPORT_ROLES)?;
    let positions = positions(store, actor, cut_off).await?;
    let states: Vec<&LedgerState> = positions.iter().map(|p| &p.state).collect();
    let total_rate = col::collection_rate(states.iter().copied(), from, to);
    let rows = match by {
        GroupBy::Month => months(from, to)
            .into_iter()
            .map(|m| {
                let r = col::monthly_rate(states.iter().copied(), m);
                let c = col::cumulative_rate(states.iter().copied(), m);
                let mut row = row(m.to_string(), String::new(), &r);
                row.cumulative =
                    Some(CumulativeCell { billed: c.billed, collected: c.collected, percent: percent(&c) });
                row
            })
            .collect(),
        GroupBy::Department => {
            let names: HashMap<String, String> =
                store.list_org_units().await?.into_iter().map(|u| (u.id, u.name_zh)).collect();
            let g = col::collection_by(positions.iter().map(|p| (p.department.clone(), &p.state)), from, to);
            g.groups
                .iter()
                .map(|(k, r)| row(k.clone(), names.get(k).cloned().unwrap_or_default(), r))
                .collect()
        }
        GroupBy::Book => {
            let names: HashMap<String, String> =
                store.list_books(&actor.scope).await?.into_iter().map(|b| (b.id, b.name)).collect();
            let g = col::collection_by(
                positions.iter().map(|p| (p.customer.book_id.clone().unwrap_or_default(), &p.state)),
                from,
                to,
            );
            g.groups
                .iter()
                .map(|(k, r)| row(k.clone(), names.get(k).cloned().unwrap_or_default(), r))
                .collect()
        }
    };
    Ok(RateReport {
        from: from.to_string(),
        to: to.to_string(),
        by,
        cut_off,
        rows,
        total: row("total".into(), String::new(), &total_rate),
    })
}

/// Aged receivables (应收账款账龄) at the end of `on`.
#[derive(Clone, Debug, Serialize)]
pub struct AgingReport {
    pub on: Date,
    /// One per bucket: (label zh, label en, open amount, open bills).
    pub buckets: Vec<AgingBucket>,
    pub total: Fen,
    pub late_fees: Fen,
    pub unbilled: Fen,
    pub credit: Fen,
}

#[derive(Clone, Debug, Serialize)]
pub struct AgingBucket {
    pub label_zh: String,
    pub label_en: String,
    pub amount: Fen,
    pub bills: u64,
}

/// Open receivables by age at the end of `on` (buckets: not due, 1–30, 31–90, 91–180, 181–365,
/// over 365 days).
pub async fn aged_receivables(store: &DynStore, actor: &Actor, on: Date) -> AppResult<AgingReport> {
    actor.require_any(REPORT_ROLES)?;
    let positions = positions(store, actor, end_of_day(on)).await?;
    let buckets = AgingBuckets::default();
    let a = col::aged_receivables(positions.iter().map(|p| &p.state), on, &buckets);
    Ok(AgingReport {
        on,
        buckets: buckets
            .labels()
            .into_iter()
            .zip(a.amounts.iter().zip(&a.bills))
            .map(|(l, (amount, bills))| AgingBucket {
                label_zh: l.zh.to_string(),
                label_en: l.en.to_string(),
                amount: *amount,
                bills: *bills,
            })
            .collect(),
        total: a.total(),
        late_fees: a.late_fees,
        unbilled: a.unbilled,
        credit: a.credit,
    })
}

/// A customer in arrears (欠费客户) with what the collector needs to reach them.
#[derive(Clone, Debug, Serialize)]
pub struct ArrearsRow {
    pub customer_id: String,
    pub name: String,
    pub address: String,
    pub phone: Option<String>,
    pub class: String,
    pub book_id: Option<String>,
    pub department: String,
    pub arrears: Fen,
    pub oldest_due: Date,
    pub days_overdue: i64,
    pub overdue_bills: u64,
}

/// The customers in arrears at the end of `on`, largest arrears first.
pub async fn customers_in_arrears(store: &DynStore, actor: &Actor, on: Date) -> AppResult<Vec<ArrearsRow>> {
    actor.require_any(REPORT_ROLES)?;
    let positions = positions(store, actor, end_of_day(on)).await?;
    let by_id: HashMap<&str, &Position> = positions.iter().map(|p| (p.customer.id.as_str(), p)).collect();
    let list = col::customers_in_arrears(positions.iter().map(|p| (p.customer.id.as_str(), &p.state)), on);
    Ok(list
        .into_iter()
        .filter_map(|a| {
            let p = by_id.get(a.customer)?;
            Some(ArrearsRow {
                customer_id: a.customer.to_string(),
                name: p.customer.name.clone(),
                address: p.customer.address.clone(),
                phone: p.customer.phone.clone(),
                class: p.customer.class.code().to_string(),
                book_id: p.customer.book_id.clone(),
                department: p.department.clone(),
                arrears: a.arrears,
                oldest_due: a.oldest_due,
                days_overdue: a.days_overdue,
                overdue_bills: a.overdue_bills,
            })
        })
        .collect())
}
