//! Fee collection (电费回收): the collection rate, aged receivables and the list of customers in
//! arrears, as pure aggregations over customers' ledger positions.
//!
//! Every function takes [`LedgerState`]s derived by [`crate::ledger::fold_until`] at the report's
//! cut-off instant, so that a report shows the books exactly as they stood then (a payment or an
//! adjustment posted later does not change last month's figure). Grouping by department, reading
//! book or business office is the caller's key `K`.
//!
//! **Collection rate (电费回收率)**, as we define it (the State Grid assessment uses this ratio;
//! the exact assessment formula of a province — e.g. whether arrears of earlier years enter the
//! denominator — is \[R\] and must be checked against the provincial 考核办法):
//!
//! ```text
//!                     electricity charges of the bills of the periods, collected by the cut-off
//! collection rate  =  -------------------------------------------------------------------------
//!                     electricity charges billed for those periods (应收电费, adjustments included)
//! ```
//!
//! - *monthly* (当月电费回收率): the bills of one billing month, cut-off normally the end of the
//!   month or the bureau's settlement day;
//! - *cumulative* (累计电费回收率): the bills of every month from January through the month, cut-off
//!   the same.
//!
//! Late fees are neither billed nor collected in this ratio (违约金 is not 电费); prepaid credit
//! counts as collected only once it has been applied to a bill of the period.
//!
//! **Aged receivables (应收账款账龄)**: every open bill at the cut-off, by days past its due date:
//! not yet due, then 1–30, 31–90, 91–180, 181–365 and over 365 days (the bounds are a parameter).

#[cfg(test)]
mod tests;

use crate::i18n::Text;
use crate::ledger::{BillState, LedgerState};
use crate::money::Fen;
use crate::tariff::calc::BillPeriod;
use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::BTreeMap;

/// Billed and collected electricity charges of a set of bills.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CollectionRate {
    /// 应收电费: charges with their adjustments.
    pub billed: Fen,
    /// 实收电费: what was applied to those charges by the cut-off.
    pub collected: Fen,
    /// Number of bills counted.
    pub bills: u64,
}

impl CollectionRate {
    /// The rate as a fraction, rounded half-up to 6 decimals (0.0001 %); `None` when nothing was
    /// billed.
    pub fn rate(&self) -> Option<Decimal> {
        if self.billed <= Fen::ZERO {
            return None;
        }
        Some(
            (Decimal::from(self.collected.0) / Decimal::from(self.billed.0))
                .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero),
        )
    }

    /// The rate in per cent with two decimals (`99.87`), as reports show it.
    pub fn percent(&self) -> Option<Decimal> {
        self.rate().map(|r| {
            (r * Decimal::ONE_HUNDRED).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        })
    }

    /// Still to collect of these bills' charges.
    pub fn outstanding(&self) -> Fen {
        self.billed - self.collected
    }

    fn add_bill(&mut self, b: &BillState) {
        self.billed += b.charged;
        self.collected += b.paid_charge;
        self.bills += 1;
    }

    fn merge(&mut self, other: &CollectionRate) {
        self.billed += other.billed;
        self.collected += other.collected;
        self.bills += other.bills;
    }
}

/// The collection rate of the bills whose billing month is in `from..=to`.
pub fn collection_rate<'a>(
    states: impl IntoIterator<Item = &'a LedgerState>,
    from: BillPeriod,
    to: BillPeriod,
) -> CollectionRate {
    let mut r = CollectionRate::default();
    for s in states {
        for b in s.bills.iter().filter(|b| b.period >= from && b.period <= to) {
            r.add_bill(b);
        }
    }
    r
}

/// 当月电费回收率: the bills of one month.
pub fn monthly_rate<'a>(
    states: impl IntoIterator<Item = &'a LedgerState>,
    period: BillPeriod,
) -> CollectionRate {
    collection_rate(states, period, period)
}

/// 累计电费回收率: the bills of January through `period`, in `period`'s year.
pub fn cumulative_rate<'a>(
    states: impl IntoIterator<Item = &'a LedgerState>,
    period: BillPeriod,
) -> CollectionRate {
    collection_rate(states, BillPeriod { year: period.year, month: 1 }, period)
}

/// The rate per group (department, reading book, ...) and over all groups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupedRates<K: Ord> {
    pub groups: BTreeMap<K, CollectionRate>,
    pub total: CollectionRate,
}

/// [`collection_rate`] per key.
pub fn collection_by<'a, K: Ord + Clone>(
    items: impl IntoIterator<Item = (K, &'a LedgerState)>,
    from: BillPeriod,
    to: BillPeriod,
) -> GroupedRates<K> {
    let mut groups: BTreeMap<K, CollectionRate> = BTreeMap::new();
    for (k, s) in items {
        let r = collection_rate([s], from, to);
        groups.entry(k).or_default().merge(&r);
    }
    let mut total = CollectionRate::default();
    for r in groups.values() {
        total.merge(r);
    }
    GroupedRates { groups, total }
}

/// The age limits of the receivables buckets, in days past due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgingBuckets {
    /// Upper bounds of the overdue buckets, ascending; a last bucket takes everything older.
    pub bounds: Vec<i64>,
}

impl Default for AgingBuckets {
    /// 1–30, 31–90, 91–180, 181–365, over 365 days.
    fn default() -> Self {
        AgingBuckets { bounds: vec![30, 90, 180, 365] }
    }
}

impl AgingBuckets {
    /// Bounds must be positive and strictly ascending; anything else gives `None`.
    pub fn new(bounds: Vec<i64>) -> Option<AgingBuckets> {
        let ok = bounds.first().is_some_and(|b| *b >= 1) && bounds.windows(2).all(|w| w[0] < w[1]);
        ok.then_some(AgingBuckets { bounds })
    }

    /// The label of each bucket: not yet due, then the overdue ranges.
    pub fn labels(&self) -> Vec<Text> {
        let mut out = vec![Text::new("未到期", "not yet due")];
        let mut lo = 1;
        for b in &self.bounds {
            out.push(Text::new(format!("{lo}–{b}天"), format!("{lo}–{b} days")));
            lo = b + 1;
        }
        let last = lo - 1;
        out.push(Text::new(format!("{last}天以上"), format!("over {last} days")));
        out
    }

    /// The bucket of a bill `days_past_due` days past its due date (0 or less: not yet due).
    pub fn index(&self, days_past_due: i64) -> usize {
        if days_past_due <= 0 {
            return 0;
        }
        1 + self.bounds.iter().position(|b| days_past_due <= *b).unwrap_or(self.bounds.len())
    }
}

/// Open receivables by age on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Aging {
    pub on: Date,
    /// One per [`AgingBuckets::labels`] entry: the open amount (charges and late fees).
    pub amounts: Vec<Fen>,
    /// Open bills per bucket.
    pub bills: Vec<u64>,
    /// Open late fees, included in `amounts`.
    pub late_fees: Fen,
    /// Debits not on a bill (not aged).
    pub unbilled: Fen,
    /// Prepaid credit held for customers (预收电费), not netted.
    pub credit: Fen,
}

impl Aging {
    pub fn total(&self) -> Fen {
        self.amounts.iter().copied().sum()
    }
}

/// Ages the open bills of `states` on `on` (normally the cut-off's Beijing date).
pub fn aged_receivables<'a>(
    states: impl IntoIterator<Item = &'a LedgerState>,
    on: Date,
    buckets: &AgingBuckets,
) -> Aging {
    let n = buckets.bounds.len() + 2;
    let mut a = Aging {
        on,
        amounts: vec![Fen::ZERO; n],
        bills: vec![0; n],
        late_fees: Fen::ZERO,
        unbilled: Fen::ZERO,
        credit: Fen::ZERO,
    };
    for s in states {
        for b in s.open_bills() {
            let i = buckets.index(crate::arrears::overdue_days(b.due, on));
            a.amounts[i] += b.open();
            a.bills[i] += 1;
            a.late_fees += b.late_fee_open().max(Fen::ZERO);
        }
        a.unbilled += s.unbilled;
        a.credit += s.credit();
    }
    a
}

/// One customer in arrears (欠费客户).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InArrears<K> {
    pub customer: K,
    /// Unpaid on overdue bills, late fees included.
    pub arrears: Fen,
    pub oldest_due: Date,
    pub days_overdue: i64,
    pub overdue_bills: u64,
}

/// The customers with arrears on `on`, largest arrears first (then the oldest).
pub fn customers_in_arrears<'a, K: Ord + Clone>(
    items: impl IntoIterator<Item = (K, &'a LedgerState)>,
    on: Date,
) -> Vec<InArrears<K>> {
    let mut out: Vec<InArrears<K>> = items
        .into_iter()
        .filter_map(|(k, s)| {
            let oldest_due = s.oldest_overdue(on)?;
            Some(InArrears {
                customer: k,
                arrears: s.arrears_on(on),
                oldest_due,
                days_overdue: crate::arrears::overdue_days(oldest_due, on),
                overdue_bills: s.bills.iter().filter(|b| b.is_overdue(on)).count() as u64,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.arrears.cmp(&a.arrears).then(a.oldest_due.cmp(&b.oldest_due)).then(a.customer.cmp(&b.customer))
    });
    out
}
