use super::*;
use crate::calendar::beijing;
use crate::ledger::{fold, fold_until, BillId, Channel, Entry, EntryId, EntryKind, IdempotencyKey};
use jiff::civil::date;
use jiff::Timestamp;
use proptest::prelude::*;

fn bj(y: i16, m: i8, d: i8) -> Timestamp {
    beijing::instant(date(y, m, d).at(12, 0, 0, 0)).unwrap()
}

fn p(y: i16, m: i8) -> BillPeriod {
    BillPeriod::new("p", y, m).unwrap()
}

fn e(id: &str, at: Timestamp, kind: EntryKind) -> Entry {
    Entry { id: EntryId(id.into()), at, by: "t".into(), channel: Channel::Counter, reason: "t".into(), kind }
}

fn charge(id: &str, period: BillPeriod, amount: i64) -> Entry {
    let due = period.last_day().checked_add(jiff::Span::new().days(15)).unwrap();
    e(
        id,
        beijing::start_of(period.last_day()).unwrap(),
        EntryKind::Charge { bill: BillId(format!("B-{id}")), period, due, amount: Fen(amount) },
    )
}

fn pay(id: &str, at: Timestamp, amount: i64) -> Entry {
    e(id, at, EntryKind::Payment { amount: Fen(amount), key: IdempotencyKey::parse("k", id).unwrap() })
}

/// Customer A: Jan 100.00 paid in Feb, Feb 200.00 half paid in March.
/// Customer B: Jan 300.00 unpaid, Feb 50.00 paid from a prepayment of 80.00.
fn customers() -> (Vec<Entry>, Vec<Entry>) {
    let a = vec![
        charge("a1", p(2026, 1), 10000),
        pay("ap1", bj(2026, 2, 10), 10000),
        charge("a2", p(2026, 2), 20000),
        pay("ap2", bj(2026, 3, 10), 10000),
    ];
    let b = vec![
        pay("bp0", bj(2026, 1, 5), 8000),
        charge("b1", p(2026, 1), 30000),
        charge("b2", p(2026, 2), 5000),
    ];
    (a, b)
}

#[test]
fn monthly_and_cumulative_collection_rates() {
    let (a, b) = customers();
    // As the books stood at the end of February.
    let cut = beijing::start_of(date(2026, 3, 1)).unwrap();
    let states = [fold_until(&a, cut), fold_until(&b, cut)];
    // January: billed 100 + 300 = 400; collected 100 (A) + 80 (B's prepayment, applied to January
    // when it was billed, oldest first) = 180 → 45 %.
    let jan = monthly_rate(&states, p(2026, 1));
    assert_eq!((jan.billed, jan.collected, jan.bills), (Fen(40000), Fen(18000), 2));
    assert_eq!(jan.percent(), Some(Decimal::new(4500, 2)));
    assert_eq!(jan.outstanding(), Fen(22000));
    // February bills were posted on 28 Feb 00:00 (before the cut): billed 200 + 50, nothing collected.
    let feb = monthly_rate(&states, p(2026, 2));
    assert_eq!((feb.billed, feb.collected), (Fen(25000), Fen(0)));
    assert_eq!(feb.rate(), Some(Decimal::ZERO));
    // Cumulative through February: 180 / 650 = 27.69 %.
    let cum = cumulative_rate(&states, p(2026, 2));
    assert_eq!((cum.billed, cum.collected), (Fen(65000), Fen(18000)));
    assert_eq!(cum.percent(), Some(Decimal::new(2769, 2)));
    // At the end of March, A's 100.00 of 10 March went to February.
    let cut = beijing::start_of(date(2026, 4, 1)).unwrap();
    let states = [fold_until(&a, cut), fold_until(&b, cut)];
    assert_eq!(monthly_rate(&states, p(2026, 2)).collected, Fen(10000));
    // Nothing billed: no rate.
    assert_eq!(monthly_rate(&states, p(2025, 12)).rate(), None);
}

#[test]
fn rates_by_group_add_up_to_the_total() {
    let (a, b) = customers();
    let (sa, sb) = (fold(&a), fold(&b));
    let g = collection_by([("book-01", &sa), ("book-02", &sb), ("book-01", &sb)], p(2026, 1), p(2026, 1));
    assert_eq!(g.groups["book-01"].billed, Fen(40000));
    assert_eq!(g.groups["book-02"].billed, Fen(30000));
    assert_eq!(g.total.billed, Fen(70000));
    assert_eq!(g.total.collected, g.groups.values().map(|r| r.collected).sum());
}

#[test]
fn aged_receivables_by_days_past_due() {
    let (a, b) = customers();
    let states = [fold(&a), fold(&b)];
    // January bills are due 15 Feb, February's 15 Mar. On 20 March: B's January 220.00 is 33 days
    // past due (31–90); A's February 100.00 and B's February 50.00 are 5 days past due (1–30).
    let aging = aged_receivables(&states, date(2026, 3, 20), &AgingBuckets::default());
    assert_eq!(aging.amounts, [Fen(0), Fen(15000), Fen(22000), Fen(0), Fen(0), Fen(0)]);
    assert_eq!(aging.bills, [0, 2, 1, 0, 0, 0]);
    assert_eq!(aging.total(), Fen(37000));
    // On the due date itself a bill is not yet overdue.
    let aging = aged_receivables(&states, date(2026, 3, 15), &AgingBuckets::default());
    assert_eq!(aging.amounts[0], Fen(15000));
    // A year and more later.
    let aging = aged_receivables(&states, date(2027, 3, 1), &AgingBuckets::default());
    assert_eq!(aging.amounts[5], Fen(22000));
    let labels = AgingBuckets::default().labels();
    assert_eq!(
        labels.iter().map(|l| l.en.as_str()).collect::<Vec<_>>(),
        ["not yet due", "1–30 days", "31–90 days", "91–180 days", "181–365 days", "over 365 days"]
    );
    let b = AgingBuckets::default();
    assert_eq!(
        (b.index(0), b.index(1), b.index(30), b.index(31), b.index(365), b.index(366)),
        (0, 1, 1, 2, 4, 5)
    );
    assert!(AgingBuckets::new(vec![30, 30]).is_none());
    assert!(AgingBuckets::new(vec![0]).is_none());
}

#[test]
fn the_customers_in_arrears_largest_first() {
    let (a, b) = customers();
    let (sa, sb) = (fold(&a), fold(&b));
    let list = customers_in_arrears([("A", &sa), ("B", &sb)], date(2026, 3, 20));
    assert_eq!(
        list.iter().map(|r| (r.customer, r.arrears, r.days_overdue)).collect::<Vec<_>>(),
        [("B", Fen(27000), 33), ("A", Fen(10000), 5)]
    );
    assert_eq!(list[0].overdue_bills, 2);
    assert!(customers_in_arrears([("A", &sa)], date(2026, 3, 15)).is_empty());
}

proptest! {
    /// Collected never exceeds billed; the aged buckets add up to the open bills; groups add up.
    #[test]
    fn aggregates_add_up(
        bills in proptest::collection::vec((1i64..100_000, 1i8..=12), 0..12),
        pays in proptest::collection::vec((1i64..200_000, 1i8..=12), 0..12),
        day in 0i64..800,
    ) {
        let mut es = Vec::new();
        for (i, (amt, m)) in bills.iter().enumerate() {
            es.push(charge(&format!("c{i}"), p(2026, *m), *amt));
        }
        for (i, (amt, m)) in pays.iter().enumerate() {
            es.push(pay(&format!("p{i}"), bj(2026, *m, 20), *amt));
        }
        es.sort_by_key(|e| e.at);
        let s = fold(&es);
        let r = cumulative_rate([&s], p(2026, 12));
        prop_assert!(r.collected >= Fen::ZERO && r.collected <= r.billed);
        prop_assert_eq!(r.billed, bills.iter().map(|b| Fen(b.0)).sum::<Fen>());
        let on = date(2026, 1, 1).checked_add(jiff::Span::new().days(day)).unwrap();
        let aging = aged_receivables([&s], on, &AgingBuckets::default());
        prop_assert_eq!(aging.total(), s.owed() - s.unbilled);
        prop_assert_eq!(aging.total() - aging.amounts[0], s.arrears_on(on));
        let monthly: Fen = (1..=12).map(|m| monthly_rate([&s], p(2026, m)).collected).sum();
        prop_assert_eq!(monthly, r.collected);
    }
}
