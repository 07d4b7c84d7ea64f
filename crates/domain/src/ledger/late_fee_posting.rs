//! When a late fee is posted: with the payment that reaches an overdue bill.
//!
//! 供电营业规则 (1996) Art. 98 charges the fee "from the day after the due date up to the day of
//! payment" on the unpaid charge (see [`crate::late_fee`]). The ledger therefore does not accrue the
//! fee every night; it posts it at the moment it becomes payable (our rule, the counter practice of
//! collecting arrears together with their fee):
//!
//! - a payment received on day `on` walks the open bills in settlement order (oldest first), as
//!   the fold will allocate it (each bill's charge, then that bill's late fees);
//! - for every bill it reaches that is overdue on `on` (unpaid after its due date), the fee accrued
//!   up to and including `on` less the fees already posted on that bill is posted as a
//!   [`EntryKind::LateFee`](super::EntryKind::LateFee) entry, just before the payment, so that the
//!   payment settles the charge and then the fee of the oldest bill before it reaches a newer one;
//! - the fee up to `on` does not depend on what is paid on `on` (the payment day still accrues on the
//!   balance before it), so a partial payment posts the fee to date and the rest of the charge keeps
//!   accruing: the next payment posts only the increase (hand-worked cases below);
//! - bills the payment does not reach get no fee yet; the account page shows their fee to date.
//!
//! The 1-yuan minimum (不足1元按1元收取) applies to the bill's total fee, so once 1.00 is posted a
//! later increment is whatever the total has grown beyond it.

use super::{BillId, LedgerState};
use crate::late_fee::{LateFeeClass, LateFeeRules};
use crate::money::Fen;
use jiff::civil::Date;

/// The late fees to post with a payment of `amount` received on `on` (Beijing date), from the
/// customer's position `state` before it: `(bill, fee)` in settlement order, only fees above zero.
pub fn late_fees_with_payment(
    state: &LedgerState,
    rules: &LateFeeRules,
    class: LateFeeClass,
    on: Date,
    amount: Fen,
) -> Vec<(BillId, Fen)> {
    let mut money = amount + state.credit();
    let mut fees = Vec::new();
    for bill in state.open_bills() {
        if money <= Fen::ZERO {
            break;
        }
        let fee = if bill.is_overdue(on) { bill.late_fee_to_post(rules, class, on) } else { Fen::ZERO };
        if fee > Fen::ZERO {
            fees.push((bill.bill.clone(), fee));
        }
        money -= bill.open() + fee;
    }
    fees
}

#[cfg(test)]
mod tests {
    //! Hand-worked cases with the builtin parameters (1 ‰ residential; 2 ‰ current-year and 3 ‰
    //! earlier-year arrears for other customers; 1-yuan minimum).
    use super::*;
    use crate::calendar::beijing;
    use crate::ledger::{fold, BillId, Channel, Entry, EntryId, EntryKind, IdempotencyKey};
    use crate::tariff::calc::BillPeriod;
    use jiff::civil::date;

    const R: LateFeeClass = LateFeeClass::Residential;
    const O: LateFeeClass = LateFeeClass::Other;

    fn y(s: &str) -> Fen {
        Fen::parse_yuan("x", s).unwrap()
    }

    fn noon(d: Date) -> jiff::Timestamp {
        beijing::instant(d.at(12, 0, 0, 0)).unwrap()
    }

    fn charge(bill: &str, due: Date, amount: &str) -> Entry {
        let p = BillPeriod::parse("p", bill).unwrap();
        Entry {
            id: EntryId(format!("charge-{bill}")),
            at: noon(due.checked_sub(jiff::Span::new().days(10)).unwrap()),
            by: "system".into(),
            channel: Channel::Billing,
            reason: "charge".into(),
            kind: EntryKind::Charge { bill: BillId(bill.into()), period: p, due, amount: y(amount) },
        }
    }

    /// Posts a payment the way the app does: the fees first, then the payment. Returns the fees.
    fn pay(entries: &mut Vec<Entry>, class: LateFeeClass, on: Date, amount: &str) -> Vec<(String, Fen)> {
        let state = fold(entries);
        let fees = late_fees_with_payment(&state, LateFeeRules::builtin(), class, on, y(amount));
        let n = entries.len();
        for (bill, fee) in &fees {
            entries.push(Entry {
                id: EntryId(format!("fee-{n}-{bill}")),
                at: noon(on),
                by: "clerk".into(),
                channel: Channel::Counter,
                reason: "违约金".into(),
                kind: EntryKind::LateFee { bill: bill.clone(), amount: *fee },
            });
        }
        entries.push(Entry {
            id: EntryId(format!("pay-{n}")),
            at: noon(on) + jiff::SignedDuration::from_micros(1),
            by: "clerk".into(),
            channel: Channel::Counter,
            reason: "缴费".into(),
            kind: EntryKind::Payment {
                amount: y(amount),
                key: IdempotencyKey::parse("k", &format!("k{n}")).unwrap(),
            },
        });
        fees.into_iter().map(|(b, f)| (b.0, f)).collect()
    }

    #[test]
    fn paid_on_the_due_date_no_fee() {
        let mut es = vec![charge("2026-02", date(2026, 3, 10), "100.00")];
        assert!(pay(&mut es, R, date(2026, 3, 10), "100.00").is_empty());
        assert_eq!(fold(&es).balance(), Fen::ZERO);
    }

    #[test]
    fn fifteen_days_late_residential() {
        // 100.00 × 1 ‰ × 15 days (03-11 … 03-25) = 1.50.
        let mut es = vec![charge("2026-02", date(2026, 3, 10), "100.00")];
        assert_eq!(pay(&mut es, R, date(2026, 3, 25), "101.50"), vec![("2026-02".into(), y("1.50"))]);
        assert_eq!(fold(&es).balance(), Fen::ZERO, "the charge and its fee are settled");
    }

    #[test]
    fn under_one_yuan_is_charged_one_yuan() {
        // 50.00 × 1 ‰ × 5 days = 0.25, raised to the 1.00 minimum.
        let mut es = vec![charge("2026-02", date(2026, 3, 10), "50.00")];
        assert_eq!(pay(&mut es, R, date(2026, 3, 15), "50.00"), vec![("2026-02".into(), y("1.00"))]);
        // The 50.00 settles the charge; the fee stays open.
        let s = fold(&es);
        assert_eq!(s.balance(), y("1.00"));
        assert_eq!(s.bill(&BillId("2026-02".into())).unwrap().late_fee_open(), y("1.00"));
    }

    #[test]
    fn a_partial_payment_part_way_through_the_delay() {
        // 200.00 due 03-10. On 03-20, 80.00 is paid: 10 days × 200.00 × 1 ‰ = 2.00 is posted, the
        // 80.00 goes to the charge (charge first within a bill), 120.00 + 2.00 stay open.
        let mut es = vec![charge("2026-02", date(2026, 3, 10), "200.00")];
        assert_eq!(pay(&mut es, R, date(2026, 3, 20), "80.00"), vec![("2026-02".into(), y("2.00"))]);
        assert_eq!(fold(&es).balance(), y("122.00"));
        // On 03-30 the rest: 10 more days on 120.00 (03-21 … 03-30) = 1.20; total fee 3.20.
        assert_eq!(pay(&mut es, R, date(2026, 3, 30), "123.20"), vec![("2026-02".into(), y("1.20"))]);
        let s = fold(&es);
        assert_eq!(s.balance(), Fen::ZERO);
        assert_eq!(s.bill(&BillId("2026-02".into())).unwrap().late_fees, y("3.20"));
    }

    #[test]
    fn the_minimum_then_growth_beyond_it() {
        // 100.00 due 03-10; 10.00 paid on 03-14: 4 days × 0.10 = 0.40 → 1.00 minimum posted.
        let mut es = vec![charge("2026-02", date(2026, 3, 10), "100.00")];
        assert_eq!(pay(&mut es, R, date(2026, 3, 14), "10.00"), vec![("2026-02".into(), y("1.00"))]);
        // 03-20: 0.40 + 6 days × 90.00 × 1 ‰ (0.54) = 0.94 accrued, still under the 1.00 posted.
        assert!(pay(&mut es, R, date(2026, 3, 20), "10.00").is_empty());
        // 04-09: 0.94 + 20 days × 80.00 × 1 ‰ (1.60) = 2.54 accrued; 1.54 more is posted.
        assert_eq!(pay(&mut es, R, date(2026, 4, 9), "82.54"), vec![("2026-02".into(), y("1.54"))]);
        assert_eq!(fold(&es).balance(), Fen::ZERO);
    }

    #[test]
    fn other_customers_across_the_new_year() {
        // 1,000.00 of 2025 arrears due 2025-12-20, paid 2026-01-10: 11 days of 2025 at 2 ‰ (22.00)
        // and 10 days of 2026 at 3 ‰ as arrears of an earlier year (30.00) = 52.00.
        let mut es = vec![charge("2025-11", date(2025, 12, 20), "1000.00")];
        assert_eq!(pay(&mut es, O, date(2026, 1, 10), "1052.00"), vec![("2025-11".into(), y("52.00"))]);
        assert_eq!(fold(&es).balance(), Fen::ZERO);
    }

    #[test]
    fn other_customers_current_year() {
        // 500.00 due 2026-03-10 paid 03-25: 15 days × 500.00 × 2 ‰ = 15.00.
        let mut es = vec![charge("2026-02", date(2026, 3, 10), "500.00")];
        assert_eq!(pay(&mut es, O, date(2026, 3, 25), "515.00"), vec![("2026-02".into(), y("15.00"))]);
    }

    #[test]
    fn only_the_bills_the_payment_reaches() {
        // January 100.00 due 02-10 and February 100.00 due 03-10; 50.00 paid on 03-20 reaches only
        // January: 38 days × 100.00 × 1 ‰ = 3.80. February's fee waits for the payment that reaches it.
        let mut es = vec![
            charge("2026-01", date(2026, 2, 10), "100.00"),
            charge("2026-02", date(2026, 3, 10), "100.00"),
        ];
        assert_eq!(pay(&mut es, R, date(2026, 3, 20), "50.00"), vec![("2026-01".into(), y("3.80"))]);
        // Then 200.00 on 03-20 reaches both: January's fee is posted already; February 10 days = 1.00.
        assert_eq!(pay(&mut es, R, date(2026, 3, 20), "200.00"), vec![("2026-02".into(), y("1.00"))]);
        let s = fold(&es);
        // 250.00 paid against 200.00 + 3.80 + 1.00: 45.20 left as credit.
        assert_eq!(s.credit(), y("45.20"));
        assert_eq!(s.balance(), y("-45.20"));
    }

    #[test]
    fn not_yet_overdue_bills_get_no_fee() {
        let mut es = vec![charge("2026-02", date(2026, 3, 10), "100.00")];
        assert!(pay(&mut es, O, date(2026, 3, 1), "30.00").is_empty());
        assert_eq!(fold(&es).balance(), y("70.00"));
    }
}
