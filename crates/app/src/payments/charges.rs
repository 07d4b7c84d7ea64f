//! The bill run's charges and a correction's adjustment, as ledger entries.
//!
//! A bill (of any revision) is one bill in the ledger, named by its billing month: the bill run
//! posts its charge once (entry `charge-<period>`, written in the bill's own transaction with "keep
//! if present", so a killed and rerun bill run never doubles it), and a cancel-and-rebill (退补)
//! posts an adjustment of the difference between the cancelled amount and the new one.

use bureau_domain::calendar::beijing;
use bureau_domain::ledger::{BillId, Channel, Entry, EntryId, EntryKind};
use bureau_domain::money::Fen;
use bureau_domain::tariff::BillPeriod;
use bureau_store::{CustomerEntry, StoredBill};

/// The due date of a stored bill: its due date, else its issue date, else its last day.
fn due_of(bill: &StoredBill) -> Option<jiff::civil::Date> {
    [&bill.due_on, &bill.issued_on, &Some(bill.end_on.clone())]
        .into_iter()
        .flatten()
        .find_map(|d| d.parse().ok())
}

/// When the charge is posted: when the bill was made, but never after the end of the day it says it
/// was issued (Beijing time), so that a back-dated run (the demo's bill history) posts its charges on
/// their issue days and a payment of that history can follow them.
fn charge_instant(bill: &StoredBill) -> Option<jiff::Timestamp> {
    let made = jiff::Timestamp::from_second(bill.created_at).ok()?;
    let issued_end = bill
        .issued_on
        .as_deref()
        .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        .and_then(|d| d.tomorrow().ok())
        .and_then(|d| beijing::start_of(d).ok())
        .map(|t| t - jiff::SignedDuration::from_secs(1));
    Some(issued_end.map_or(made, |end| made.min(end)))
}

/// The charge entry (应收电费) of a bill the bill run issued, posted by `by`. `None` only for a
/// bill whose period or dates do not parse (which the bill run never writes).
pub fn charge_entry(bill: &StoredBill, by: &str) -> Option<CustomerEntry> {
    let period = BillPeriod::parse("period", &bill.period).ok()?;
    Some(CustomerEntry {
        customer_id: bill.customer_id.clone(),
        entry: Entry {
            id: EntryId(format!("charge-{}", bill.period)),
            at: charge_instant(bill)?,
            by: by.to_string(),
            channel: Channel::Billing,
            reason: format!("{} 电费", bill.period),
            kind: EntryKind::Charge {
                bill: BillId(bill.period.clone()),
                period,
                due: due_of(bill)?,
                amount: bill.total,
            },
        },
    })
}

/// The charges of a chunk of bills.
pub fn charges_for(bills: &[StoredBill], by: &str) -> Vec<CustomerEntry> {
    bills.iter().filter_map(|b| charge_entry(b, by)).collect()
}

/// The adjustment when a cancelled period is reissued (`billing::reissue`): the new revision's
/// total on the period's bill, undoing the cancellation's adjustment of the old total. `None` for a
/// zero bill. Its id names the revision, so a retried reissue posts it once.
pub fn reissue_adjustment(
    reissued: &StoredBill,
    by: &str,
    reason: &str,
    at: jiff::Timestamp,
) -> Option<CustomerEntry> {
    if reissued.total == Fen::ZERO {
        return None;
    }
    Some(CustomerEntry {
        customer_id: reissued.customer_id.clone(),
        entry: Entry {
            id: EntryId(format!("reissue-{}-r{}", reissued.period, reissued.revision)),
            at: super::ledger_instant(at),
            by: by.to_string(),
            channel: Channel::Billing,
            reason: format!("{} 重新发行：{reason}", reissued.period),
            kind: EntryKind::Adjustment {
                bill: Some(BillId(reissued.period.clone())),
                amount: reissued.total,
            },
        },
    })
}

/// The adjustment (退补) when the live revision `cancelled` is cancelled and `replacement` (if
/// any) issued: the difference of the amounts on the same bill. `None` when they are equal.
pub fn rebill_adjustment(
    cancelled: &StoredBill,
    replacement: Option<&StoredBill>,
    by: &str,
    reason: &str,
    at: jiff::Timestamp,
) -> Option<CustomerEntry> {
    let new_total = replacement.map_or(Fen::ZERO, |b| b.total);
    let amount = new_total - cancelled.total;
    if amount == Fen::ZERO {
        return None;
    }
    let (id, why) = match replacement {
        Some(r) => (
            format!("rebill-{}-r{}", cancelled.period, r.revision),
            format!("{} 退补：{reason}", cancelled.period),
        ),
        None => (
            format!("cancel-{}-r{}", cancelled.period, cancelled.revision),
            format!("{} 作废：{reason}", cancelled.period),
        ),
    };
    Some(CustomerEntry {
        customer_id: cancelled.customer_id.clone(),
        entry: Entry {
            id: EntryId(id),
            at: super::ledger_instant(at),
            by: by.to_string(),
            channel: Channel::Billing,
            reason: why,
            kind: EntryKind::Adjustment { bill: Some(BillId(cancelled.period.clone())), amount },
        },
    })
}
